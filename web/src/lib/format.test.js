import { describe, expect, it } from 'vitest'
import { formatTime, fullTime } from './format.js'

describe('formatTime', () => {
  const sent = '2026-03-10T22:30:00.000Z'

  it('shows the time of day in the reader’s zone for a message of today', () => {
    const now = new Date('2026-03-10T23:00:00Z')
    expect(formatTime(sent, now, 'en-GB', 'UTC')).toBe('22:30')
    expect(formatTime(sent, now, 'en-GB', 'America/New_York')).toBe('18:30')
  })

  it('adds the date when the message is from another day there', () => {
    // 22:30 UTC is already the 11th in Tokyo, where it is now the 12th.
    const now = new Date('2026-03-11T16:00:00Z')
    expect(formatTime(sent, now, 'en-GB', 'Asia/Tokyo')).toBe('11 Mar 07:30')
  })

  it('is empty for a value that is not a time', () => {
    expect(formatTime('soon')).toBe('')
    expect(fullTime(undefined)).toBe('')
  })
})
