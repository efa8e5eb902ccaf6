import { describe, expect, it } from 'vitest'
import { createPrefs, safeStorage } from './prefs.js'

function fakeWindow() {
  const handlers = []
  return {
    addEventListener: (type, fn) => type === 'storage' && handlers.push(fn),
    storage: (key) => handlers.forEach((fn) => fn({ key })),
  }
}

describe('createPrefs', () => {
  it('remembers the mute switch in storage', () => {
    const storage = safeStorage(undefined)
    const a = createPrefs({ storage, win: fakeWindow() })
    expect(a.muted()).toBe(false)
    a.setMuted(true)
    expect(createPrefs({ storage, win: fakeWindow() }).muted()).toBe(true)
    a.setMuted(false)
    expect(a.muted()).toBe(false)
  })

  it('hears a change made in another tab', () => {
    const win = fakeWindow()
    const prefs = createPrefs({ storage: safeStorage(undefined), win })
    let heard = 0
    prefs.onChange(() => heard++)
    win.storage('parley.muted')
    win.storage('something.else')
    expect(heard).toBe(1)
  })
})

describe('safeStorage', () => {
  it('stands in for storage that refuses writes', () => {
    const refusing = {
      setItem() {
        throw new Error('QuotaExceededError')
      },
    }
    const s = safeStorage(refusing)
    expect(s).not.toBe(refusing)
    s.setItem('k', 1)
    expect(s.getItem('k')).toBe('1')
  })
})
