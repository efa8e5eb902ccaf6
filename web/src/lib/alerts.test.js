import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SOUND_GAP, WATCH_TTL, createAlerts, createLedger } from './alerts.js'
import { memoryRecord } from './shared.js'

const ann = { id: 1, username: 'ann' }
const bob = { id: 2, username: 'bob' }
const msg = (id, user = bob) => ({ id, chat: 'c1', user, message: `m${id}` })

function fakeAttention(on = false) {
  const listeners = new Set()
  return {
    attentive: () => on,
    onChange(fn) {
      listeners.add(fn)
    },
    set(next) {
      on = next
      for (const fn of listeners) fn(on)
    },
  }
}

// browser is what the tabs of one browser share; tab() opens one more
// tab in it, signed in as ann, with its own attention, title and sounds.
function fakeTabs() {
  // One record for all, as IndexedDB is one for all tabs of a browser.
  const record = memoryRecord()
  let muted = false
  const made = []
  function tab({ attentive = false } = {}) {
    const t = {
      id: `tab${made.length + 1}`,
      attention: fakeAttention(attentive),
      sounds: 0,
      shown: [],
      titles: [],
    }
    t.alerts = createAlerts({
      me: () => ann,
      attention: t.attention,
      ledger: createLedger({ record }),
      tab: t.id,
      chime: { play: () => t.sounds++ },
      desktop: { show: (chat, msgs) => t.shown.push([chat, msgs.map((m) => m.id)]) },
      muted: () => muted,
      title: (n) => t.titles.push(n),
      open: () => {},
    })
    made.push(t)
    return t
  }
  return {
    tab,
    mute: (on) => (muted = on),
    sounds: () => made.reduce((sum, t) => sum + t.sounds, 0),
  }
}

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(Date.UTC(2026, 0, 1))
})
afterEach(() => {
  vi.useRealTimers()
})

describe('one tab', () => {
  it('chimes, counts and notifies for a message from someone else while away', async () => {
    const b = fakeTabs()
    const t = b.tab()
    await t.alerts.arrived('c1', [msg(5)])
    expect(t.sounds).toBe(1)
    expect(t.titles).toEqual([1])
    expect(t.shown).toEqual([['c1', [5]]])
  })

  it('stays quiet about one’s own messages', async () => {
    const b = fakeTabs()
    const t = b.tab()
    await t.alerts.arrived('c1', [msg(5, ann)])
    expect(t.sounds).toBe(0)
    expect(t.titles).toEqual([])
    expect(t.shown).toEqual([])
  })

  it('stays quiet while the person looks at the chat', async () => {
    const b = fakeTabs()
    const t = b.tab({ attentive: true })
    await t.alerts.view('c1')
    await t.alerts.arrived('c1', [msg(5)])
    expect([t.sounds, t.titles, t.shown]).toEqual([0, [], []])
  })

  it('never announces a message twice', async () => {
    const b = fakeTabs()
    const t = b.tab()
    await t.alerts.arrived('c1', [msg(5)])
    vi.advanceTimersByTime(SOUND_GAP)
    await t.alerts.arrived('c1', [msg(5)])
    await t.alerts.arrived('c1', [msg(4)])
    expect(t.sounds).toBe(1)
    expect(t.shown).toHaveLength(1)
  })

  it('chimes once for a batch, counting every message', async () => {
    const b = fakeTabs()
    const t = b.tab()
    await t.alerts.arrived('c1', [msg(5), msg(6), msg(7, ann), msg(8)])
    expect(t.sounds).toBe(1)
    expect(t.titles).toEqual([3])
    expect(t.shown).toEqual([['c1', [5, 6, 8]]])
  })

  it('chimes once for a replay delivered in several parts after a reconnect', async () => {
    const b = fakeTabs()
    const t = b.tab()
    for (let id = 10; id < 15; id++) await t.alerts.arrived('c1', [msg(id)])
    expect(t.sounds).toBe(1)
    expect(t.titles).toEqual([1, 2, 3, 4, 5])
    vi.advanceTimersByTime(SOUND_GAP)
    await t.alerts.arrived('c1', [msg(15)])
    expect(t.sounds).toBe(2)
  })

  it('counts and notifies, silently, when muted', async () => {
    const b = fakeTabs()
    b.mute(true)
    const t = b.tab()
    await t.alerts.arrived('c1', [msg(5)])
    expect(t.sounds).toBe(0)
    expect(t.titles).toEqual([1])
    expect(t.shown).toHaveLength(1)
  })

  it('clears the title count when the person comes back', async () => {
    const b = fakeTabs()
    const t = b.tab()
    await t.alerts.arrived('c1', [msg(5)])
    await t.alerts.arrived('c1', [msg(6)])
    t.attention.set(true)
    expect(t.titles).toEqual([1, 2, 0])
    expect(t.alerts.unread()).toBe(0)
  })
})

describe('several tabs', () => {
  it('chime once in all, while each counts in its title', async () => {
    const b = fakeTabs()
    const tabs = [b.tab(), b.tab(), b.tab()]
    await Promise.all(tabs.map((t) => t.alerts.arrived('c1', [msg(5)])))
    expect(b.sounds()).toBe(1)
    expect(tabs.flatMap((t) => t.shown)).toHaveLength(1)
    for (const t of tabs) expect(t.titles).toEqual([1])
  })

  it('stay quiet when one of them is looking at the chat', async () => {
    const b = fakeTabs()
    const looking = b.tab({ attentive: true })
    const away = b.tab()
    await looking.alerts.view('c1')
    await away.alerts.view('c1')
    await away.alerts.arrived('c1', [msg(5)])
    await looking.alerts.arrived('c1', [msg(5)])
    expect(b.sounds()).toBe(0)
  })

  it('chime again once the looking tab looks away', async () => {
    const b = fakeTabs()
    const looking = b.tab({ attentive: true })
    const away = b.tab()
    await looking.alerts.view('c1')
    looking.attention.set(false)
    await vi.advanceTimersByTimeAsync(0)
    await away.alerts.arrived('c1', [msg(5)])
    expect(b.sounds()).toBe(1)
  })

  it('ignore a looking tab that died long ago', async () => {
    const b = fakeTabs()
    const looking = b.tab({ attentive: true })
    const away = b.tab()
    await looking.alerts.view('c1')
    vi.advanceTimersByTime(WATCH_TTL)
    await away.alerts.arrived('c1', [msg(5)])
    expect(b.sounds()).toBe(1)
  })

  it('chime for a message seen nowhere yet, after one seen elsewhere', async () => {
    const b = fakeTabs()
    const looking = b.tab({ attentive: true })
    const away = b.tab()
    await looking.alerts.arrived('c1', [msg(5)])
    await away.alerts.arrived('c1', [msg(5)])
    expect(b.sounds()).toBe(0)
    await away.alerts.arrived('c1', [msg(6)])
    expect(b.sounds()).toBe(1)
  })
})

describe('createLedger', () => {
  it('repairs a damaged record', async () => {
    const record = memoryRecord()
    await record.update((r) => Object.assign(r, { seen: 'x', soundAt: 'y' }))
    const ledger = createLedger({ record })
    expect(await ledger.claim('1:c1', 3, 'tab')).toEqual({ announce: true, sound: true })
  })

  it('remembers a bounded number of chats, the latest', async () => {
    const record = memoryRecord()
    const ledger = createLedger({ record })
    for (let i = 0; i < 150; i++) await ledger.seen(`1:c${i}`, 1)
    await ledger.seen('1:c0', 2)
    const seen = await record.update((r) => r.seen)
    expect(Object.keys(seen)).toHaveLength(100)
    expect(seen['1:c149']).toBe(1)
    expect(seen['1:c0']).toBe(2)
    expect(seen['1:c50']).toBeUndefined()
  })
})
