// Test doubles shared by the unit tests: a scripted server for request()
// and an access token with chosen claims. Not part of the app bundle:
// only *.test.js files import it.
import { ApiError } from './errors.js'

// fakeToken is an unsigned JWT carrying claims.
export function fakeToken(claims) {
  const part = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url')
  return `${part({ alg: 'EdDSA', typ: 'JWT' })}.${part(claims)}.c2ln`
}

// tokenFor is a token for user id/name minted at `nowMs`, living ttl s.
export function tokenFor(id, username, nowMs, ttl = 300) {
  const iat = Math.floor(nowMs / 1000)
  return fakeToken({ sub: String(id), username, iat, exp: iat + ttl, typ: 'access' })
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
