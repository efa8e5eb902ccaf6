// Test doubles shared by the unit tests: a scripted server for request()
// and an access token with chosen claims. Not part of the app bundle:
// only *.test.js files import it.
import { ApiError } from './errors.js'

// fakeToken is an unsigned JWT carrying claims.
export function fakeToken(claims) {
  const part = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url')
  return `${part({ alg: 'EdDSA', typ: 'JWT' })}.${part(claims)}.c2ln`
}

// tokenFor is a token for user id/name minted at `nowMs`, living ttl s;
// jti tells apart tokens minted in the same second.
export function tokenFor(id, username, nowMs, ttl = 300, jti = undefined) {
  const iat = Math.floor(nowMs / 1000)
  return fakeToken({ sub: String(id), username, iat, exp: iat + ttl, typ: 'access', jti })
}

// fakeServer returns request(method, path, opts) answering from routes:
// { 'POST /auth/jwt/create/': (opts) => answer }. An answer that is an
// Error is thrown; { status, body } with status >= 400 becomes ApiError.
// Every call is recorded in calls.
export function fakeServer(routes) {
  const calls = []
  async function request(method, path, opts = {}) {
    calls.push({ method, path, ...opts })
    const route = routes[`${method} ${path}`]
    if (!route) throw new ApiError(404, { detail: 'Not found.' })
    const answer = await route(opts, calls.length)
    if (answer instanceof Error) throw answer
    if (answer && answer.status >= 400) throw new ApiError(answer.status, answer.body)
    return answer
  }
  return { request, calls }
}

// fakeBrowser stands in for what tabs of one browser share: Web Locks,
// granted in request order, and BroadcastChannel, delivering to every
// other channel of the same name on a later task, as browsers do.
export function fakeBrowser() {
  const channels = new Set()
  const tails = new Map()
  class BroadcastChannel {
    constructor(name) {
      this.name = name
      channels.add(this)
    }
    postMessage(data) {
      for (const c of channels) {
        if (c === this || c.name !== this.name) continue
        const copy = structuredClone(data)
        setTimeout(() => channels.has(c) && c.onmessage?.({ data: copy }), 0)
      }
    }
    close() {
      channels.delete(this)
    }
  }
  const held = new Map()
  const locks = {
    request(key, ...args) {
      const fn = args.at(-1)
      if (args.length > 1 && args[0].ifAvailable && held.get(key)) {
        return Promise.resolve().then(() => fn(null))
      }
      held.set(key, (held.get(key) ?? 0) + 1)
      const run = (tails.get(key) ?? Promise.resolve()).then(() => fn({ name: key }))
      const done = run
        .catch(() => {})
        .then(() => held.set(key, held.get(key) - 1))
      tails.set(key, done)
      return run
    },
  }
  return { BroadcastChannel, locks }
}

// fakeAuthServer plays the auth service's refresh rules for one user:
// the refresh cookie is shared by every tab of the browser, every
// refresh rotates it, a rotated token presented again within `grace` ms
// gets the same successor, and after that revokes the login. Each
// answer takes `latency` ms. `revocations` counts logins ended by reuse.
export function fakeAuthServer({ ttl = 10, grace = 10_000, latency = 20 } = {}) {
  const records = new Map()
  let cookie = null
  let serial = 0
  let revoked = false
  const server = { revocations: 0, refreshes: 0, cookie: () => cookie }

  function mint() {
    const refresh = `r${++serial}`
    records.set(refresh, { usedAt: null, next: null })
    cookie = refresh
    return { access: tokenFor(7, 'ann', Date.now(), ttl, `a${serial}`), refresh }
  }

  function rotate(raw) {
    const rec = records.get(raw)
    if (!rec || revoked) return { status: 401, body: { detail: 'Token has been revoked.' } }
    if (rec.usedAt === null) {
      rec.usedAt = Date.now()
      rec.next = mint()
      return rec.next
    }
    if (Date.now() - rec.usedAt <= grace) {
      cookie = rec.next.refresh
      return { ...rec.next, access: tokenFor(7, 'ann', Date.now(), ttl, `a${++serial}`) }
    }
    revoked = true
    server.revocations++
    return { status: 401, body: { detail: 'Token has been revoked.' } }
  }

  const routes = {
    'POST /auth/jwt/create/': () => mint(),
    'POST /auth/jwt/refresh/': (opts) => {
      server.refreshes++
      const raw = opts.body?.refresh
      if (!raw) return { status: 400, body: { refresh: ['This field is required.'] } }
      return rotate(raw)
    },
    'POST /auth/jwt/revoke/': (opts) => {
      if (!records.has(opts.body?.refresh)) return { status: 401, body: { detail: 'No.' } }
      revoked = true
      return null
    },
  }
  const slow = Object.fromEntries(
    Object.entries(routes).map(([k, fn]) => [
      k,
      async (opts) => {
        // The cookie goes only to the refresh path, and a request carries
        // the one the browser held when it was sent.
        const carried = k.endsWith(' /auth/jwt/refresh/') ? cookie : null
        const sent = { ...opts, body: { ...opts.body, refresh: opts.body?.refresh || carried } }
        await new Promise((r) => setTimeout(r, latency))
        return fn(sent)
      },
    ]),
  )
  return { ...fakeServer(slow), server }
}
