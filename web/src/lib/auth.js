// Signing up, in and out, and keeping an access token fresh.
//
// The access token lives only in this module's memory. The refresh token
// is an HttpOnly cookie scoped to the refresh path that scripts cannot
// read, so after a reload the client asks the refresh endpoint for a new
// access token and the browser supplies the cookie.
import { ApiError } from './errors.js'
import { backoffDelay } from './backoff.js'
import { decodeClaims, refreshDelay, userFromClaims } from './jwt.js'

// REFRESH_PATH is the server's refresh endpoint. A deployment that moves
// it (PARLEY_AUTH_REFRESH_PATH) builds the client with
// VITE_PARLEY_REFRESH_PATH set to the same path.
export const REFRESH_PATH = '/auth/jwt/refresh/'

// signedOut reports whether err means the server no longer accepts this
// login, as opposed to a failure worth retrying.
export function signedOut(err) {
  return err instanceof ApiError && [400, 401, 403].includes(err.status)
}

// createAuth keeps the login state. onChange listeners get
// { user, token } after every change; user is null when signed out.
export function createAuth({ request, refreshPath = REFRESH_PATH, timers = globalThis }) {
  let token = null
  let user = null
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

  function accept(data) {
    const claims = decodeClaims(data?.access ?? data?.token)
    const who = userFromClaims(claims)
    if (!who) throw new Error('The server sent an unreadable access token.')
    token = data.access ?? data.token
    user = who
    failures = 0
    schedule(renewInBackground, refreshDelay(claims))
    emit()
  }

  function clear() {
    if (timer !== null) timers.clearTimeout(timer)
    timer = null
    const changed = token !== null
    token = null
    user = null
    if (changed) emit()
  }

  // A timed renewal that fails for a passing reason tries again soon; the
  // current token may still have a minute left.
  function renewInBackground() {
    timer = null
    refresh().catch((err) => {
      if (!signedOut(err)) schedule(renewInBackground, backoffDelay(failures++))
    })
  }

  async function renew() {
    try {
      accept(await request('POST', refreshPath, { body: {} }))
      return token
    } catch (err) {
      if (signedOut(err)) clear()
      throw err
    }
  }

  // refresh renews the access token and resolves to it. Calls made while
  // one renewal is running share it: every renewal rotates the refresh
  // token, and a second one racing the first would present a used token.
  function refresh() {
    inflight ??= renew().finally(() => {
      inflight = null
    })
    return inflight
  }

  async function signIn({ username, password }) {
    accept(await request('POST', '/auth/jwt/create/', { body: { username, password } }))
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

  // signOut revokes the login on the server, then forgets it here. The
  // revoke endpoint never receives the cookie (it is scoped to the refresh
  // path), so a last refresh hands over the current refresh token in its
  // body. Local state is cleared even when the server cannot be reached.
  async function signOut() {
    try {
      const data = await request('POST', refreshPath, { body: {} })
      await request('POST', '/auth/jwt/revoke/', { body: { refresh: data.refresh } })
    } catch {
      // Nothing more can be done from here: the refresh token then
      // lapses on its own, and the access token with it within minutes.
    } finally {
      clear()
    }
  }

  return {
    token: () => token,
    user: () => user,
    onChange(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    refresh,
    restore,
    signIn,
    signUp,
    signOut,
  }
}
