import { describe, expect, it } from 'vitest'
import { createAttention } from './attention.js'

function fakePage() {
  const on = new Map()
  const target = () => ({
    addEventListener: (type, fn) => on.set(type, fn),
  })
  const doc = { ...target(), visibilityState: 'visible', focused: true }
  doc.hasFocus = () => doc.focused
  const win = target()
  return { doc, win, fire: (type) => on.get(type)() }
}

describe('createAttention', () => {
  it('needs the tab both visible and focused', () => {
    const page = fakePage()
    const attention = createAttention(page)
    const heard = []
    attention.onChange((v) => heard.push(v))
    expect(attention.attentive()).toBe(true)

    page.doc.focused = false
    page.fire('blur')
    page.doc.visibilityState = 'hidden'
    page.fire('visibilitychange')
    page.doc.visibilityState = 'visible'
    page.fire('visibilitychange')
    expect(attention.attentive()).toBe(false)
    page.doc.focused = true
    page.fire('focus')
    expect(heard).toEqual([false, true])
  })
})
