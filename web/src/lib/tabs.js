// The other tabs of this browser on this site: a lock that only one tab
// holds at a time (Web Locks) and messages to every other tab
// (BroadcastChannel). Both exist only in secure contexts or recent
// browsers; without them each tab works alone, which is still correct,
// only less thrifty, because the server's grace window covers tabs that
// renew a login at the same moment.

// randomId is a short random string. crypto.randomUUID exists only in
// secure contexts (https or localhost); getRandomValues exists everywhere.
export function randomId(crypto = globalThis.crypto) {
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID()
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

// createTabs joins the tabs of this site under name.
//   id               this tab's identity, random
//   lock(key, fn)    runs fn({ waited }) while no other tab runs a function
//                    under key, and resolves to what fn resolves to;
//                    waited says whether another tab held the lock first
//   post(msg)        delivers msg (structured-cloneable) to the other tabs
//   onMessage(fn)    fn(msg) for every message from another tab
export function createTabs({
  name = 'parley',
  BroadcastChannel = globalThis.BroadcastChannel,
  locks = globalThis.navigator?.locks,
} = {}) {
  const listeners = new Set()
  let channel = null
  if (typeof BroadcastChannel === 'function') {
    channel = new BroadcastChannel(name)
    channel.onmessage = (ev) => {
      for (const fn of listeners) fn(ev.data)
    }
  }

  return {
    id: randomId(),
    async lock(key, fn) {
      if (!locks) return fn({ waited: false })
      const lockName = `${name}:${key}`
      const free = await locks.request(lockName, { ifAvailable: true }, async (held) =>
        held ? { value: await fn({ waited: false }) } : null,
      )
      if (free) return free.value
      return locks.request(lockName, () => fn({ waited: true }))
    },
    post(msg) {
      channel?.postMessage(msg)
    },
    onMessage(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    close() {
      channel?.close()
      listeners.clear()
    },
  }
}
