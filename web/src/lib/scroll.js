// Where a message list stays when it changes. A reader at the bottom is
// pinned there: new messages, and anything else that makes the list
// taller (fonts loading, a wrapped line), keep the newest message in
// view. A reader who scrolled up is left where they are: the message at
// the top of their view stays put, whether messages arrive below or an
// older page is added above, and the arrivals are counted instead.
//
// The browser's own scroll anchoring must be off on the list
// (overflow-anchor: none), or it would move the view a second time.

// PIN_SLACK is how far from the bottom, in CSS pixels, still counts as at
// the bottom: fractional scroll positions and zoom leave a pixel or two.
export const PIN_SLACK = 8
// TOP_SLACK is how near the top a reader must scroll to ask for older
// messages.
export const TOP_SLACK = 48

// bottomGap is how far el's view is from the end of its content.
export function bottomGap(el) {
  return el.scrollHeight - el.clientHeight - el.scrollTop
}

// createScrollKeeper manages el, the scrolling element. items() returns
// the message elements in order; each has offsetTop (el must be their
// offset parent) and offsetHeight. onUnread(n) hears the count of
// messages that arrived out of view; onNearTop() hears that the reader
// reached the top.
export function createScrollKeeper({ el, items, onUnread = () => {}, onNearTop = () => {} }) {
  let pinned = true
  let lastTop = el.scrollTop
  let anchor = null
  let unread = 0

  function setUnread(n) {
    if (n === unread) return
    unread = n
    onUnread(n)
  }

  // toBottom shows the newest message and pins the view there.
  function toBottom() {
    pinned = true
    anchor = null
    el.scrollTop = el.scrollHeight
    lastTop = el.scrollTop
    setUnread(0)
  }

  // anchorNow is the first message not entirely above the view, and how
  // far its top is below the view's top.
  function anchorNow() {
    const top = el.scrollTop
    for (const node of items()) {
      if (node.offsetTop + node.offsetHeight > top) return { node, offset: node.offsetTop - top }
    }
    return null
  }

  // capture notes what the reader sees; call it before the list changes.
  function capture() {
    if (!pinned) anchor = anchorNow()
  }

  // settle puts the view back after the list changed or was resized.
  function settle() {
    if (pinned) return toBottom()
    if (!anchor || anchor.node.isConnected === false) return
    el.scrollTop = anchor.node.offsetTop - anchor.offset
    lastTop = el.scrollTop
  }

  // onScroll follows the reader. Only a move up unpins: content growing
  // below a pinned view moves nothing, yet a scroll event can arrive in
  // between, from an earlier move, and must not count as leaving.
  function onScroll() {
    const top = el.scrollTop
    if (bottomGap(el) <= PIN_SLACK) {
      pinned = true
      setUnread(0)
    } else if (top < lastTop - 1) {
      pinned = false
    }
    lastTop = top
    anchor = pinned ? null : anchorNow()
    if (!pinned && top <= TOP_SLACK) onNearTop()
  }

  // arrived counts n new messages from others, which a reader scrolled
  // up has not seen.
  function arrived(n) {
    if (!pinned && n > 0) setUnread(unread + n)
  }

  return {
    toBottom,
    capture,
    settle,
    onScroll,
    arrived,
    pinned: () => pinned,
    unread: () => unread,
  }
}
