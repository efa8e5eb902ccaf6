import { describe, expect, it } from 'vitest'
import {
  MAX_MESSAGE,
  freshMessages,
  mergeMessages,
  messageProblem,
  newestId,
  oldestId,
} from './messages.js'

const user = { id: 1, username: 'a' }
const msg = (id, text = `m${id}`) => ({ id, chat: 'c', user, message: text })
const ids = (list) => list.map((m) => m.id)

describe('freshMessages', () => {
  it.each([
    ['live after history', [1, 2, 3], [4, 5], [4, 5]],
    ['a replay that overlaps what is shown', [1, 2, 3], [2, 3, 4], [4]],
    ['a gap filled in the middle', [1, 5, 9], [5, 7, 3], [3, 7]],
    ['the same id twice in one delivery', [1], [2, 2], [2]],
    ['a delivery of nothing new', [1, 2], [1, 2], []],
    ['messages into an empty chat', [], [3, 1], [1, 3]],
  ])('finds %s', (_, have, add, want) => {
    const fresh = freshMessages(have.map((i) => msg(i)), add.map((i) => msg(i)))
    expect(ids(fresh)).toEqual(want)
  })

  it('skips what is not a message', () => {
    expect(freshMessages([], [{ id: 1 }, null, msg(2)]).map((m) => m.id)).toEqual([2])
  })
})

describe('mergeMessages', () => {
  it.each([
    ['history into nothing', [], [1, 2, 3], [1, 2, 3]],
    ['live after history', [1, 2, 3], [4], [1, 2, 3, 4]],
    ['a batch of live ones', [1, 2], [3, 5, 9], [1, 2, 3, 5, 9]],
    ['an overlapping replay', [1, 2, 3], [2, 3, 4, 5], [1, 2, 3, 4, 5]],
    ['an older page', [10, 11], [7, 8, 9], [7, 8, 9, 10, 11]],
    ['out of order arrivals', [1, 5], [3, 2, 4], [1, 2, 3, 4, 5]],
    ['duplicates inside the batch', [], [2, 2, 1, 1], [1, 2]],
  ])('merges %s', (_, have, add, want) => {
    expect(ids(mergeMessages(have.map((i) => msg(i)), add.map((i) => msg(i))))).toEqual(want)
  })

  it('keeps the first copy of an id', () => {
    const merged = mergeMessages([msg(1, 'first')], [msg(1, 'second'), msg(2)])
    expect(merged.map((m) => m.message)).toEqual(['first', 'm2'])
  })

  it('returns the same list when nothing is new', () => {
    const list = [msg(1), msg(2)]
    expect(mergeMessages(list, [msg(2), msg(1)])).toBe(list)
    expect(mergeMessages(list, [])).toBe(list)
  })

  it('never changes its input', () => {
    const list = [msg(1), msg(3)]
    mergeMessages(list, [msg(2)])
    expect(ids(list)).toEqual([1, 3])
  })

  it('drops objects that are not messages', () => {
    const junk = [null, {}, { id: '4', message: 'x', user: {} }, { id: 0, message: 'x', user: {} },
      { id: 5, message: 7, user: {} }, { id: 6, message: 'x' }]
    expect(ids(mergeMessages([msg(1)], junk))).toEqual([1])
  })
})

describe('newestId and oldestId', () => {
  it('read the ends of the list', () => {
    expect(newestId([msg(4), msg(9)])).toBe(9)
    expect(oldestId([msg(4), msg(9)])).toBe(4)
  })
  it('are 0 for no messages', () => {
    expect(newestId([])).toBe(0)
    expect(oldestId([])).toBe(0)
  })
})

describe('messageProblem', () => {
  it.each([
    ['', 'Write a message first.'],
    ['  \n\t ', 'Write a message first.'],
    ['hello', ''],
    ['x'.repeat(MAX_MESSAGE), ''],
    ['😀'.repeat(MAX_MESSAGE), ''],
  ])('judges %j', (text, want) => {
    expect(messageProblem(text)).toBe(want)
  })

  it('counts code points past the limit', () => {
    expect(messageProblem('😀'.repeat(MAX_MESSAGE + 1))).toMatch(/at most 2000.*has 2001/)
  })
})
