import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { REFRESH_PATH, createAuth } from './auth.js'
import { NetworkError } from './errors.js'
import { createTabs } from './tabs.js'
import { fakeAuthServer, fakeBrowser, fakeServer, tokenFor } from './testing.js'

const NOW = Date.UTC(2026, 0, 1)
const granted = (n = 1) => ({ access: tokenFor(7, 'ann', NOW), token: 'same', refresh: `r${n}` })
const revoked = { status: 401, body: { detail: 'Token has been revoked.' } }
const refreshes = (calls) => calls.filter((c) => c.path === REFRESH_PATH).length

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(NOW)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('signing in and up', () => {
  it('signs in and reads the user from the token', async () => {
    const { request, calls } = fakeServer({ 'POST /auth/jwt/create/': () => granted() })
    const auth = createAuth({ request })
    const seen = []
    auth.onChange((s) => seen.push(s.user))
    await auth.signIn({ username: 'ann', password: 'pw-long-enough' })
    expect(calls[0].body).toEqual({ username: 'ann', password: 'pw-long-enough' })
    expect(auth.user()).toEqual({ id: 7, username: 'ann' })
    expect(auth.token()).toBe(granted().access)
    expect(seen).toEqual([{ id: 7, username: 'ann' }])
  })

  it('signs up, then in, leaving out an empty email', async () => {
    const { request, calls } = fakeServer({
      'POST /auth/users/': () => ({ id: 7, username: 'ann', email: '' }),
      'POST /auth/jwt/create/': () => granted(),
    })
    const auth = createAuth({ request })
    await auth.signUp({ username: 'ann', password: 'pw-long-enough', email: '' })
    expect(calls.map((c) => c.path)).toEqual(['/auth/users/', '/auth/jwt/create/'])
    expect(calls[0].body).toEqual({ username: 'ann', password: 'pw-long-enough' })
    expect(auth.user()?.username).toBe('ann')
  })

  it('stays signed out when sign-up is refused', async () => {
    const { request, calls } = fakeServer({
      'POST /auth/users/': () => ({ status: 400, body: { username: ['Taken.'] } }),
    })
    const auth = createAuth({ request })
    await expect(auth.signUp({ username: 'ann', password: 'x' })).rejects.toMatchObject({
      status: 400,
      body: { username: ['Taken.'] },
    })
    expect(calls).toHaveLength(1)
    expect(auth.user()).toBeNull()
  })
})

describe('renewal', () => {
  it('renews a fifth of the lifetime before expiry, then again', async () => {
    let n = 0
    const { request, calls } = fakeServer({
      'POST /auth/jwt/create/': () => granted(),
      [`POST ${REFRESH_PATH}`]: () => ({
        access: tokenFor(7, 'ann', Date.now()),
        refresh: `r${++n}`,
      }),
    })
    const auth = createAuth({ request })
    await auth.signIn({ username: 'ann', password: 'pw' })

    await vi.advanceTimersByTimeAsync(240_000 - 1)
    expect(refreshes(calls)).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(refreshes(calls)).toBe(1)
    await vi.advanceTimersByTimeAsync(240_000)
    expect(refreshes(calls)).toBe(2)
    expect(auth.user()?.id).toBe(7)
  })

  it('retries a renewal that met a network failure', async () => {
    let fail = true
    const { request, calls } = fakeServer({
      'POST /auth/jwt/create/': () => granted(),
      [`POST ${REFRESH_PATH}`]: () => (fail ? new NetworkError() : granted(2)),
    })
    const auth = createAuth({ request })
    await auth.signIn({ username: 'ann', password: 'pw' })
    await vi.advanceTimersByTimeAsync(240_000)
    expect(refreshes(calls)).toBe(1)
    expect(auth.user()).not.toBeNull()
    fail = false
    await vi.advanceTimersByTimeAsync(1000)
    expect(refreshes(calls)).toBe(2)
    expect(auth.user()).not.toBeNull()
  })

  it('signs out when the server refuses the renewal', async () => {
    const { request } = fakeServer({
      'POST /auth/jwt/create/': () => granted(),
      [`POST ${REFRESH_PATH}`]: () => revoked,
    })
    const auth = createAuth({ request })
    const seen = []
    auth.onChange((s) => seen.push(s.user?.id ?? null))
    await auth.signIn({ username: 'ann', password: 'pw' })
    await vi.advanceTimersByTimeAsync(240_000)
    expect(auth.token()).toBeNull()
    expect(seen).toEqual([7, null])
  })

  it('shares one renewal between callers', async () => {
    let release = null
    const { request, calls } = fakeServer({
      [`POST ${REFRESH_PATH}`]: () =>
        release ? granted() : new Promise((r) => (release = () => r(granted()))),
    })
    const auth = createAuth({ request })
    const a = auth.refresh()
    const b = auth.refresh()
    release()
    expect(await a).toBe(await b)
    expect(refreshes(calls)).toBe(1)
    await auth.refresh()
    expect(refreshes(calls)).toBe(2)
  })

  it('uses the configured refresh path', async () => {
    const { request, calls } = fakeServer({ 'POST /auth/renew/': () => granted() })
    const auth = createAuth({ request, refreshPath: '/auth/renew/' })
    expect(await auth.restore()).toBe(true)
    expect(calls[0].body).toEqual({})
  })
})

describe('restore', () => {
  it('is false without a usable cookie', async () => {
    const { request } = fakeServer({
      [`POST ${REFRESH_PATH}`]: () => ({
        status: 401,
        body: { detail: 'Authentication credentials were not provided.' },
      }),
    })
    const auth = createAuth({ request })
    expect(await auth.restore()).toBe(false)
    expect(auth.user()).toBeNull()
  })

  it('rejects when the server cannot be reached', async () => {
    const { request } = fakeServer({ [`POST ${REFRESH_PATH}`]: () => new NetworkError() })
    await expect(createAuth({ request }).restore()).rejects.toBeInstanceOf(NetworkError)
  })
})

describe('signOut', () => {
  it('revokes the current refresh token and forgets the login', async () => {
    const { request, calls } = fakeServer({
      'POST /auth/jwt/create/': () => granted(1),
      [`POST ${REFRESH_PATH}`]: () => granted(2),
      'POST /auth/jwt/revoke/': () => null,
    })
    const auth = createAuth({ request })
    await auth.signIn({ username: 'ann', password: 'pw' })
    await auth.signOut()
    const paths = calls.map((c) => c.path)
    expect(paths).toEqual(['/auth/jwt/create/', REFRESH_PATH, '/auth/jwt/revoke/'])
    expect(calls[2].body).toEqual({ refresh: 'r2' })
    expect(auth.token()).toBeNull()
    await vi.advanceTimersByTimeAsync(3600_000)
    expect(calls).toHaveLength(3)
  })

  it('counts a login the server already refuses as signed out', async () => {
    const { request } = fakeServer({
      'POST /auth/jwt/create/': () => granted(),
      [`POST ${REFRESH_PATH}`]: () => revoked,
    })
    const auth = createAuth({ request })
    await auth.signIn({ username: 'ann', password: 'pw' })
    await auth.signOut()
    expect(auth.user()).toBeNull()
  })

  it('keeps the login when the server cannot be reached', async () => {
    const { request } = fakeServer({
      'POST /auth/jwt/create/': () => granted(),
      [`POST ${REFRESH_PATH}`]: () => new NetworkError(),
    })
    const auth = createAuth({ request })
    await auth.signIn({ username: 'ann', password: 'pw' })
    await expect(auth.signOut()).rejects.toBeInstanceOf(NetworkError)
    expect(auth.user()?.id).toBe(7)
  })
})

// settled waits for p while fake time runs, since fakeAuthServer answers
// only after its latency has passed.
async function settled(p) {
  let done = false
  p.then(
    () => (done = true),
    () => (done = true),
  )
  while (!done) await vi.advanceTimersByTimeAsync(5)
  return p
}

describe('several tabs', () => {
  // tabsOf opens n tabs of one browser against one auth server.
  async function tabsOf(n, { locks = true, latency = 20 } = {}) {
    const browser = fakeBrowser()
    const { request, server } = fakeAuthServer({ ttl: 10, latency })
    const tabs = []
    for (let i = 0; i < n; i++) {
      const t = createTabs({
        BroadcastChannel: browser.BroadcastChannel,
        locks: locks ? browser.locks : null,
      })
      tabs.push(createAuth({ request, tabs: t }))
    }
    await settled(tabs[0].signIn({ username: 'ann', password: 'pw' }))
    await vi.advanceTimersByTimeAsync(1)
    return { tabs, server }
  }

  it('hands a sign-in to the other tabs', async () => {
    const { tabs } = await tabsOf(2)
    expect(tabs[1].user()).toEqual({ id: 7, username: 'ann' })
    expect(tabs[1].token()).toBe(tabs[0].token())
  })

  it('renews about once per lifetime for all tabs, and nobody is signed out', async () => {
    const { tabs, server } = await tabsOf(3)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(server.revocations).toBe(0)
    for (const t of tabs) expect(t.user()?.id).toBe(7)
    // 60 s of 10 s tokens renewed at 8 s: 7 renewals, not 3 x 7.
    expect(server.refreshes).toBeGreaterThanOrEqual(7)
    expect(server.refreshes).toBeLessThanOrEqual(9)
    expect(new Set(tabs.map((t) => t.token())).size).toBe(1)
  })

  it('never signs a tab out when all of them hit a 401 at once', async () => {
    const { tabs, server } = await tabsOf(3, { latency: 200 })
    const stale = tabs[0].token()
    const renewed = await settled(Promise.all(tabs.map((t) => t.refresh(stale))))
    expect(server.refreshes).toBe(1)
    expect(new Set(renewed).size).toBe(1)
    expect(renewed[0]).not.toBe(stale)
    expect(server.revocations).toBe(0)
  })

  it('relies on the grace window where there are no locks', async () => {
    const { tabs, server } = await tabsOf(2, { locks: false, latency: 200 })
    await settled(Promise.all(tabs.map((t) => t.refresh())))
    await vi.advanceTimersByTimeAsync(30_000)
    expect(server.revocations).toBe(0)
    for (const t of tabs) expect(t.user()?.id).toBe(7)
  })

  it('signs every tab out together', async () => {
    const { tabs } = await tabsOf(2)
    await settled(tabs[1].signOut())
    await vi.advanceTimersByTimeAsync(1)
    expect(tabs.map((t) => t.user())).toEqual([null, null])
  })
})

describe('refreshIfDue', () => {
  it('renews at once when the timer was held back past the due time', async () => {
    const { request, server } = fakeAuthServer({ ttl: 10 })
    const auth = createAuth({ request, timers: { setTimeout: () => 1, clearTimeout() {} } })
    await settled(auth.signIn({ username: 'ann', password: 'pw' }))
    auth.refreshIfDue()
    expect(server.refreshes).toBe(0)
    vi.setSystemTime(Date.now() + 8_000)
    auth.refreshIfDue()
    await vi.advanceTimersByTimeAsync(50)
    expect(server.refreshes).toBe(1)
  })
})
