import { describe, expect, it } from 'vitest'
import { BACKOFF_BASE, BACKOFF_MAX, backoffDelay } from './backoff.js'

describe('backoffDelay', () => {
  it('doubles from the base up to the cap', () => {
    const top = () => 1
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, top))).toEqual([500, 1000, 2000, 4000])
    expect(backoffDelay(10, top)).toBe(BACKOFF_MAX)
    expect(backoffDelay(1000, top)).toBe(BACKOFF_MAX)
  })

  it('jitters between half and all of the step', () => {
    expect(backoffDelay(0, () => 0)).toBe(BACKOFF_BASE / 2)
    expect(backoffDelay(3, () => 0.5)).toBe(3000)
  })
})
