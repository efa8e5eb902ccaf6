// Signing up, in and out, and keeping an access token fresh in every tab.
//
// The access token lives only in memory. The refresh token is the
// HttpOnly cookie parley_refresh, scoped by the server to the refresh
// path: scripts never see it, and the browser sends it nowhere else.
// After a reload the client asks the refresh endpoint for a new access
// token and the browser supplies the cookie.
//
// Tabs share that cookie, and every refresh rotates it, so they take
// turns: a refresh runs under a lock that one tab holds at a time (so the
// cookie it sends is always the newest), and its result is handed to the
// other tabs, which then skip their own renewal. The server's grace
// window still covers browsers that lack the lock.
import { ApiError } from './errors.js'
import { backoffDelay } from './backoff.js'
import { decodeClaims, refreshDelay, refreshDue, userFromClaims } from './jwt.js'
import { createTabs } from './tabs.js'

// REFRESH_PATH is the server's refresh endpoint. A deployment that moves
// it (PARLEY_AUTH_REFRESH_PATH) builds the client with
// VITE_PARLEY_REFRESH_PATH set to the same path.
export const REFRESH_PATH = '/auth/jwt/refresh/'

const LOCK = 'refresh'

// signedOut reports whether err means the server no longer accepts this
// login, as opposed to a failure worth retrying.
export function signedOut(err) {
  return err instanceof ApiError && [400, 401, 403].includes(err.status)
}

// createAuth keeps the login state. onChange listeners get
// { user, token } after every change; user is null when signed out.
// tabs (from createTabs) connects it with the other tabs; now is the
// local clock.
export function createAuth({
  request,
  refreshPath = REFRESH_PATH,
  timers = globalThis,
  tabs = createTabs({ BroadcastChannel: null, locks: null }),
  now = () => Date.now(),
}) {
  let token = null
  let claims = null
  let user = null
  let receivedAt = 0
  let timer = null
  let failures = 0
  let inflight = null
  const listeners = new Set()

  function emit() {
    for (const fn of listeners) fn({ user, token })
  }

  function schedule(fn, delay) {
    if (timer !== null) timers.clearTimeout(timer)
    timer = timers.setTimeout(fn, delay)
  }

  // accept takes an access token received at `at` (local time, possibly
  // in another tab) and schedules its renewal from its own lifetime.
  function accept(access, at = now()) {
    const c = decodeClaims(access)
    const who = userFromClaims(c)
    if (!who) throw new Error('The server sent an unreadable access token.')
    token = access
    claims = c
    user = who
    receivedAt = at
    failures = 0
    const current = token
    schedule(() => renewInBackground(current), refreshDelay(c, at, now()))
    emit()
  }

  function share() {
    tabs.post({ type: 'token', access: token, at: receivedAt })
  }

  function clear() {
    if (timer !== null) timers.clearTimeout(timer)
    timer = null
    const changed = token !== null
    token = null
    claims = null
    user = null
    if (changed) emit()
  }

  // adopt takes a token another tab received. A token for another user
  // means someone signed in there, and the shared cookie is now theirs.
  function adopt(msg) {
    const c = decodeClaims(msg.access)
    const who = userFromClaims(c)
    if (!who || !Number.isFinite(msg.at)) return
    if (msg.access === token || (user && who.id === user.id && c.exp < claims.exp)) return
    accept(msg.access, msg.at)
  }

  tabs.onMessage((msg) => {
    if (msg?.type === 'token') adopt(msg)
    else if (msg?.type === 'signout') clear()
  })

  // A timed renewal that fails for a passing reason tries again soon; the
  // current token has a fifth of its lifetime left.
  function renewInBackground(stale) {
    timer = null
    refresh(stale).catch((err) => {
      if (!signedOut(err) && token) {
        schedule(() => renewInBackground(token), backoffDelay(failures++))
      }
    })
  }

  async function renew(stale, { waited }) {
    // Another tab may have renewed while this one waited for the lock. It
    // posts its token before letting go of the lock; one turn of the
    // event loop lets that message arrive before the check.
    if (waited) await new Promise((resolve) => timers.setTimeout(resolve, 0))
    if (stale !== undefined && token !== null && token !== stale) return token
    try {
      const data = await request('POST', refreshPath, { body: {} })
      accept(data?.access ?? data?.token)
      share()
      return token
    } catch (err) {
      if (signedOut(err)) clear()
      throw err
    }
  }

  // refresh renews the access token and resolves to it. stale, when
  // given, is the token the caller found wanting: if the current one is
  // already another, that one is the answer and no request is made.
  // Calls made while one renewal is running share it.
  function refresh(stale) {
    if (stale !== undefined && token !== null && token !== stale) return Promise.resolve(token)
    inflight ??= tabs.lock(LOCK, (how) => renew(stale, how)).finally(() => {
      inflight = null
    })
    return inflight
  }

  // refreshIfDue renews now when the scheduled renewal is overdue, as
  // happens after a laptop sleeps or a browser throttles a hidden tab's
  // timers.
  function refreshIfDue() {
    if (token === null || now() < refreshDue(claims, receivedAt)) return
    refresh(token).catch(() => {
      // The scheduled renewal's retries handle failures.
    })
  }

  async function signIn({ username, password }) {
    const data = await request('POST', '/auth/jwt/create/', { body: { username, password } })
    accept(data?.access ?? data?.token)
    share()
    return user
  }

  async function signUp({ username, password, email }) {
    const body = { username, password }
    if (email) body.email = email
    await request('POST', '/auth/users/', { body })
    return signIn({ username, password })
  }

  // restore resolves to true when an earlier login is still good (the
  // cookie was accepted) and false when there is none; a network failure
  // rejects, since it says nothing about the login.
  async function restore() {
    try {
      await refresh()
      return true
    } catch (err) {
      if (signedOut(err)) return false
      throw err
    }
  }

  // revoke ends the login on the server. The revoke endpoint never
  // receives the cookie (it is scoped to the refresh path), so a last
  // refresh hands over the current refresh token in its body. A login the
  // server no longer accepts counts as revoked already.
  async function revoke() {
    try {
      const data = await request('POST', refreshPath, { body: {} })
      await request('POST', '/auth/jwt/revoke/', { body: { refresh: data?.refresh } })
    } catch (err) {
      if (!signedOut(err)) throw err
    }
  }

  // signOut revokes the login, then forgets it here and in the other
  // tabs. When the server cannot be reached it rejects and keeps the
  // login: forgetting it only here would leave a cookie that brings it
  // back on the next visit.
  async function signOut() {
    await tabs.lock(LOCK, revoke)
    tabs.post({ type: 'signout' })
    clear()
  }

  return {
    token: () => token,
    user: () => user,
    onChange(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    refresh,
    refreshIfDue,
    restore,
    signIn,
    signUp,
    signOut,
  }
}
