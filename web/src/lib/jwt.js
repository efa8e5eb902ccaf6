// Reading an access token's claims and deciding when to renew it. The
// client never verifies a signature: the servers do. It only reads the
// payload to learn who signed in and how long the token lasts.

// decodeClaims returns the payload of a JWT as an object, or null when
// the token is not a well-formed JWT.
export function decodeClaims(token) {
  if (typeof token !== 'string') return null
  const parts = token.split('.')
  if (parts.length !== 3) return null
  try {
    const claims = JSON.parse(base64urlDecode(parts[1]))
    return claims !== null && typeof claims === 'object' ? claims : null
  } catch {
    return null
  }
}

function base64urlDecode(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/')
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4)
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
}

// userFromClaims is the signed-in user as the contract's user object.
export function userFromClaims(claims) {
  if (!claims || typeof claims.username !== 'string') return null
  return { id: Number(claims.sub), username: claims.username }
}

// REFRESH_AT is the share of a token's lifetime after which it is
// renewed: late enough not to renew needlessly, early enough to leave a
// fifth of the lifetime for a slow network and a retry or two.
export const REFRESH_AT = 0.8
// MIN_REFRESH_DELAY keeps a token with a tiny lifetime from turning
// renewal into a busy loop.
export const MIN_REFRESH_DELAY = 1000
// setTimeout fires at once for delays past 2^31-1 ms, so longer waits
// are cut to that; renewal then merely happens early.
const MAX_TIMER = 2 ** 31 - 1

// refreshDue is when, in local milliseconds since the epoch, a token that
// this browser received at receivedAt should be renewed. The lifetime is
// taken as exp - iat, both set by the server's clock, so a client clock
// that is minutes off neither renews constantly nor lets the token lapse;
// receivedAt is on the local clock, which every tab of a browser shares.
// Without iat it falls back to exp against the local clock.
export function refreshDue(claims, receivedAt) {
  const exp = claims?.exp
  const iat = claims?.iat
  if (!Number.isFinite(exp)) return receivedAt
  if (Number.isFinite(iat) && exp > iat) return receivedAt + (exp - iat) * 1000 * REFRESH_AT
  return receivedAt + Math.max(0, exp * 1000 - receivedAt) * REFRESH_AT
}

// refreshDelay is how many milliseconds from now to wait before renewing
// a token received at receivedAt (by default now).
export function refreshDelay(claims, receivedAt = Date.now(), now = receivedAt) {
  const delay = Math.round(refreshDue(claims, receivedAt) - now)
  return Math.min(MAX_TIMER, Math.max(MIN_REFRESH_DELAY, delay))
}
