import { describe, expect, it } from 'vitest'
import { isMember, memberNames, sortChats } from './chats.js'

describe('sortChats', () => {
  it('puts the newest activity first', () => {
    const chats = [
      { uri: 'quiet', created_at: '2026-01-01T10:00:00.000Z', last_message_at: null },
      { uri: 'busy', created_at: '2026-01-01T09:00:00Z', last_message_at: '2026-01-03T08:00:00Z' },
      { uri: 'new', created_at: '2026-01-02T12:00:00.000Z', last_message_at: null },
      { uri: 'older', created_at: '2025-12-01T12:00:00Z', last_message_at: '2026-01-02T11:00:00Z' },
    ]
    expect(sortChats(chats).map((c) => c.uri)).toEqual(['busy', 'new', 'older', 'quiet'])
    expect(chats[0].uri).toBe('quiet')
  })
})

describe('memberNames', () => {
  const me = { id: 1, username: 'me' }
  it('lists others first and the viewer as you', () => {
    const members = [me, { id: 2, username: 'bo' }, { id: 3, username: 'cy' }]
    expect(memberNames(members, me)).toBe('bo, cy, you')
  })
  it('says when the viewer is alone', () => {
    expect(memberNames([{ id: 1, username: 'me' }], me)).toBe('Only you')
  })
})

describe('isMember', () => {
  it('compares ids', () => {
    expect(isMember([{ id: 1 }, { id: 2 }], { id: 2 })).toBe(true)
    expect(isMember([{ id: 1 }], { id: 2 })).toBe(false)
    expect(isMember([{ id: 1 }], null)).toBe(false)
  })
})
