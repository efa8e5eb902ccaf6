import { describe, expect, it } from 'vitest'
import { createTabs, randomId } from './tabs.js'
import { fakeBrowser } from './testing.js'

describe('randomId', () => {
  it('works without randomUUID, as on plain http', () => {
    const id = randomId({ getRandomValues: (a) => a.fill(171) })
    expect(id).toBe('ab'.repeat(16))
  })
})

describe('createTabs', () => {
  it('says whether a lock had to be waited for', async () => {
    const { locks } = fakeBrowser()
    const [a, b] = [createTabs({ locks }), createTabs({ locks })]
    let release
    const held = a.lock('k', (how) => new Promise((r) => (release = () => r(how))))
    const waiting = b.lock('k', (how) => how)
    await Promise.resolve()
    release()
    expect(await held).toEqual({ waited: false })
    expect(await waiting).toEqual({ waited: true })
  })

  it('delivers messages to the other tabs only', async () => {
    const { BroadcastChannel } = fakeBrowser()
    const [a, b] = [createTabs({ BroadcastChannel }), createTabs({ BroadcastChannel })]
    const got = { a: [], b: [] }
    a.onMessage((m) => got.a.push(m))
    b.onMessage((m) => got.b.push(m))
    a.post({ type: 'hello' })
    await new Promise((r) => setTimeout(r, 0))
    expect(got).toEqual({ a: [], b: [{ type: 'hello' }] })
  })

  it('runs alone without locks or channels', async () => {
    const t = createTabs({ BroadcastChannel: null, locks: null })
    t.post({ type: 'nobody' })
    expect(await t.lock('k', () => 5)).toBe(5)
  })
})
