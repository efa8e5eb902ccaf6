import { describe, expect, it } from 'vitest'
import { PIN_SLACK, bottomGap, createScrollKeeper } from './scroll.js'

// fakeList lays out messages of the given heights in a box clientHeight
// tall, clamping scrollTop as browsers do.
function fakeList(heights, clientHeight = 100) {
  const nodes = []
  const add = (h) => {
    const node = {
      h,
      get offsetTop() {
        let y = 0
        for (const n of nodes) {
          if (n === node) return y
          y += n.h
        }
        return y
      },
      get offsetHeight() {
        return node.h
      },
    }
    return node
  }
  nodes.push(...heights.map(add))
  let top = 0
  const el = {
    clientHeight,
    get scrollHeight() {
      return Math.max(clientHeight, nodes.reduce((sum, n) => sum + n.h, 0))
    },
    get scrollTop() {
      return top
    },
    set scrollTop(v) {
      top = Math.max(0, Math.min(v, el.scrollHeight - clientHeight))
    },
  }
  return {
    el,
    nodes,
    append: (...hs) => nodes.push(...hs.map(add)),
    prepend: (...hs) => nodes.unshift(...hs.map(add)),
    // where node sits in the view, in pixels from its top edge
    seenAt: (node) => node.offsetTop - el.scrollTop,
  }
}

function keeper(list) {
  const events = { unread: [], nearTop: 0 }
  const k = createScrollKeeper({
    el: list.el,
    items: () => list.nodes,
    onUnread: (n) => events.unread.push(n),
    onNearTop: () => events.nearTop++,
  })
  return { k, events }
}

// scrollBy plays the reader moving the view, then the scroll event.
function scrollBy(list, k, dy) {
  list.el.scrollTop += dy
  k.onScroll()
}

describe('a reader at the bottom', () => {
  it('opens at the newest message', () => {
    const list = fakeList([40, 40, 40, 40, 40])
    keeper(list).k.toBottom()
    expect(list.el.scrollTop).toBe(100)
    expect(bottomGap(list.el)).toBe(0)
  })

  it('follows new messages', () => {
    const list = fakeList([40, 40, 40, 40, 40])
    const { k, events } = keeper(list)
    k.toBottom()
    k.capture()
    list.append(40, 60)
    k.arrived(2)
    k.settle()
    expect(bottomGap(list.el)).toBe(0)
    expect(events.unread).toEqual([])
  })

  it('follows content that grows late, as when a font loads', () => {
    const list = fakeList([40, 40, 40, 40, 40])
    const { k } = keeper(list)
    k.toBottom()
    list.nodes.at(-1).h = 90
    k.settle()
    expect(bottomGap(list.el)).toBe(0)
  })

  it(`counts a view within ${PIN_SLACK} px of the bottom as at the bottom`, () => {
    const list = fakeList([40, 40, 40, 40, 40])
    const { k } = keeper(list)
    k.toBottom()
    scrollBy(list, k, -PIN_SLACK)
    expect(k.pinned()).toBe(true)
    list.append(40)
    k.settle()
    expect(bottomGap(list.el)).toBe(0)
  })

  it('is not unpinned by a late scroll event after the list grew', () => {
    const list = fakeList([40, 40, 40, 40, 40])
    const { k } = keeper(list)
    k.toBottom()
    list.append(200)
    k.onScroll()
    expect(k.pinned()).toBe(true)
    k.settle()
    expect(bottomGap(list.el)).toBe(0)
  })
})

describe('a reader who scrolled up', () => {
  function scrolledUp() {
    const list = fakeList(Array(10).fill(40))
    const { k, events } = keeper(list)
    k.toBottom()
    scrollBy(list, k, -150)
    return { list, k, events }
  }

  it('is not moved by new messages, which are counted', () => {
    const { list, k, events } = scrolledUp()
    const top = list.el.scrollTop
    k.capture()
    list.append(40, 40)
    k.arrived(2)
    k.settle()
    expect(list.el.scrollTop).toBe(top)
    k.capture()
    list.append(40)
    k.arrived(1)
    k.settle()
    expect(list.el.scrollTop).toBe(top)
    expect(events.unread).toEqual([2, 3])
    expect(k.unread()).toBe(3)
  })

  it('keeps the same message in the same place when older ones are added above', () => {
    const { list, k } = scrolledUp()
    const first = list.nodes.find((n) => n.offsetTop + n.h > list.el.scrollTop)
    const before = list.seenAt(first)
    k.capture()
    list.prepend(30, 50, 70)
    k.settle()
    expect(list.seenAt(first)).toBe(before)
  })

  it('keeps its place when something above changes size', () => {
    const { list, k } = scrolledUp()
    const first = list.nodes.find((n) => n.offsetTop + n.h > list.el.scrollTop)
    const before = list.seenAt(first)
    list.nodes[0].h = 120
    k.settle()
    expect(list.seenAt(first)).toBe(before)
  })

  it('is pinned again, with nothing unread, back at the bottom', () => {
    const { list, k, events } = scrolledUp()
    list.append(40)
    k.arrived(1)
    scrollBy(list, k, 1000)
    expect(k.pinned()).toBe(true)
    expect(events.unread).toEqual([1, 0])
  })

  it('is taken to the bottom by toBottom', () => {
    const { list, k } = scrolledUp()
    list.append(40)
    k.arrived(1)
    k.toBottom()
    expect(bottomGap(list.el)).toBe(0)
    expect(k.unread()).toBe(0)
  })

  it('asks for older messages near the top, and only there', () => {
    const { list, k, events } = scrolledUp()
    scrollBy(list, k, -100)
    expect(events.nearTop).toBe(0)
    scrollBy(list, k, -1000)
    expect(list.el.scrollTop).toBe(0)
    expect(events.nearTop).toBe(1)
  })
})
