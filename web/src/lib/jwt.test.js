import { describe, expect, it } from 'vitest'
import {
  MIN_REFRESH_DELAY,
  decodeClaims,
  refreshDelay,
  refreshDue,
  userFromClaims,
} from './jwt.js'
import { fakeToken } from './testing.js'

describe('decodeClaims', () => {
  it('reads the payload, UTF-8 included', () => {
    const claims = { sub: '42', username: 'zoë', exp: 2000, iat: 1700 }
    expect(decodeClaims(fakeToken(claims))).toEqual(claims)
  })

  it.each([
    ['not a string', 7],
    ['too few parts', 'a.b'],
    ['bad base64', 'a.!!!.c'],
    ['not JSON', `a.${Buffer.from('nope').toString('base64url')}.c`],
    ['a JSON scalar', `a.${Buffer.from('5').toString('base64url')}.c`],
  ])('refuses %s', (_, token) => {
    expect(decodeClaims(token)).toBeNull()
  })
})

describe('userFromClaims', () => {
  it('is the contract user object', () => {
    expect(userFromClaims({ sub: '42', username: 'ann' })).toEqual({ id: 42, username: 'ann' })
    expect(userFromClaims({ sub: '42' })).toBeNull()
  })
})

describe('refreshDelay', () => {
  const now = 1_700_000_000_000
  const iat = now / 1000

  it.each([
    ['a five minute token at four minutes', 300, 240_000],
    ['a ten second token at eight seconds', 10, 8_000],
    ['an hour token at 48 minutes', 3600, 2880_000],
    ['a tiny token, not in a busy loop', 0.5, MIN_REFRESH_DELAY],
  ])('renews %s', (_, lifetime, want) => {
    expect(refreshDelay({ iat, exp: iat + lifetime }, now)).toBe(want)
  })

  it('trusts the server clock over a client clock that is off', () => {
    const claims = { iat, exp: iat + 300 }
    const hourFast = now + 3600_000
    expect(refreshDelay(claims, hourFast)).toBe(240_000)
  })

  it('counts from when the token arrived, for a token another tab received', () => {
    const claims = { iat, exp: iat + 10 }
    expect(refreshDelay(claims, now, now + 3_000)).toBe(5_000)
    expect(refreshDue(claims, now)).toBe(now + 8_000)
    expect(refreshDelay(claims, now, now + 9_000)).toBe(MIN_REFRESH_DELAY)
  })

  it('falls back to the local clock without iat', () => {
    expect(refreshDelay({ exp: iat + 100 }, now)).toBe(80_000)
    expect(refreshDelay({ exp: iat - 10 }, now)).toBe(MIN_REFRESH_DELAY)
  })

  it('stays within what setTimeout can wait', () => {
    expect(refreshDelay({ iat, exp: iat + 90 * 86400 }, now)).toBe(2 ** 31 - 1)
  })

  it('retries soon for a token with no exp', () => {
    expect(refreshDelay({}, now)).toBe(MIN_REFRESH_DELAY)
    expect(refreshDelay(null, now)).toBe(MIN_REFRESH_DELAY)
  })
})
