// The message list of one chat, merged from history pages and live
// WebSocket deliveries that may overlap or arrive twice after a reconnect.

// isMessage reports whether obj has the fields the views rely on.
export function isMessage(obj) {
  return (
    obj !== null &&
    typeof obj === 'object' &&
    Number.isSafeInteger(obj.id) &&
    obj.id > 0 &&
    typeof obj.message === 'string' &&
    obj.user !== null &&
    typeof obj.user === 'object'
  )
}

// mergeMessages returns list with the incoming messages added, in
// ascending id order and with no id twice. The first copy of an id wins:
// a stored message never changes, so a second copy carries nothing new.
// When nothing is added the same array comes back, which lets callers skip
// a re-render.
export function mergeMessages(list, incoming) {
  const fresh = incoming.filter(isMessage)
  if (fresh.length === 0) return list

  // Live messages nearly always extend the end of the list in order;
  // handle that without building an index of the whole list.
  if (isAscending(fresh) && fresh[0].id > newestId(list)) {
    return list.concat(fresh)
  }
  const byId = new Map()
  for (const m of list) byId.set(m.id, m)
  let added = false
  for (const m of fresh) {
    if (byId.has(m.id)) continue
    byId.set(m.id, m)
    added = true
  }
  if (!added) return list
  return [...byId.values()].sort((a, b) => a.id - b.id)
}

// freshMessages returns the messages of incoming that list does not hold
// yet, each id once, in ascending order: what a delivery adds to what the
// reader has already been shown. list must be ascending by id.
export function freshMessages(list, incoming) {
  const seen = new Set()
  const fresh = []
  for (const m of incoming) {
    if (!isMessage(m) || seen.has(m.id) || holds(list, m.id)) continue
    seen.add(m.id)
    fresh.push(m)
  }
  return fresh.sort((a, b) => a.id - b.id)
}

// holds reports whether the ascending list has a message with id. Live
// messages are nearly always newer than the whole list, which settles it
// at once; otherwise a binary search.
function holds(list, id) {
  if (list.length === 0 || id > list[list.length - 1].id || id < list[0].id) return false
  let lo = 0
  let hi = list.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (list[mid].id === id) return true
    if (list[mid].id < id) lo = mid + 1
    else hi = mid - 1
  }
  return false
}

function isAscending(msgs) {
  for (let i = 1; i < msgs.length; i++) {
    if (msgs[i].id <= msgs[i - 1].id) return false
  }
  return true
}

// newestId is the id of the last message in an ascending list, or 0 when
// it is empty: the `since` that asks the server for everything after it.
export function newestId(list) {
  return list.length === 0 ? 0 : list[list.length - 1].id
}

// oldestId is the id of the first message, the `before` of the next older
// history page, or 0 when the list is empty.
export function oldestId(list) {
  return list.length === 0 ? 0 : list[0].id
}

// MAX_MESSAGE is the longest message the server stores, in code points.
export const MAX_MESSAGE = 2000

// messageProblem says why text cannot be sent, or '' when it can. It
// mirrors the server's rules so that a person learns before sending.
export function messageProblem(text) {
  if (typeof text !== 'string' || text.trim() === '') return 'Write a message first.'
  const length = [...text].length
  if (length > MAX_MESSAGE) {
    return `A message can be at most ${MAX_MESSAGE} characters; this one has ${length}.`
  }
  return ''
}
