// Telling the person that someone wrote while they were not looking: a
// short sound, the unread count in the page title, and a desktop
// notification when they allowed those.
//
// The rules:
//   - only live messages from someone else count; the room never passes
//     history, and one's own messages (from any tab or device) are seen;
//   - a tab the person is looking at announces nothing, and marks the
//     chat seen for every tab;
//   - each message is announced once per browser, not once per tab: the
//     tabs share a ledger (see shared.js) of the newest id announced or
//     seen in each chat, and claim a message by changing it atomically;
//   - a tab looking at a chat keeps the other tabs quiet about it;
//   - sounds come at most once per SOUND_GAP in the whole browser, so a
//     batch replayed after a reconnect chimes once;
//   - the mute switch silences the sound only.

// SOUND_GAP is the least time between two sounds, in milliseconds.
export const SOUND_GAP = 2000
// WATCH_TTL bounds how long a tab's claim to be looking at a chat holds
// when the tab died without withdrawing it.
export const WATCH_TTL = 60 * 60 * 1000
// KEEP is how many chats the ledger remembers; older entries only allow
// a sound that a tab might otherwise have skipped.
const KEEP = 100

// createLedger keeps the shared record through record.update(fn), which
// applies fn atomically across tabs (createSharedRecord).
export function createLedger({ record, now = () => Date.now() }) {
  // change runs fn on the record, repaired first if it was damaged.
  function change(fn) {
    return record.update((r) => {
      if (!r.seen || typeof r.seen !== 'object') r.seen = {}
      if (!Number.isFinite(r.soundAt)) r.soundAt = 0
      if (r.watch === undefined) r.watch = null
      const result = fn(r)
      const keys = Object.keys(r.seen)
      for (const k of keys.slice(0, Math.max(0, keys.length - KEEP))) delete r.seen[k]
      return result
    })
  }

  // mark records id as seen in key, keeping the most recent chats last.
  function mark(r, key, id) {
    if ((r.seen[key] ?? 0) >= id) return
    delete r.seen[key]
    r.seen[key] = id
  }

  function watchedElsewhere(r, key, tab) {
    const w = r.watch
    return Boolean(w) && w.key === key && w.tab !== tab && now() - w.at < WATCH_TTL
  }

  return {
    // claim decides whether this tab announces messages up to id in the
    // chat under key: { announce, sound }.
    claim: (key, id, tab) =>
      change((r) => {
        const quiet = { announce: false, sound: false }
        if ((r.seen[key] ?? 0) >= id) return quiet
        mark(r, key, id)
        if (watchedElsewhere(r, key, tab)) return quiet
        const t = now()
        const sound = t - r.soundAt >= SOUND_GAP || t < r.soundAt
        if (sound) r.soundAt = t
        return { announce: true, sound }
      }),

    // seen records that messages up to id were seen.
    seen: (key, id) => change((r) => mark(r, key, id)),

    // watch records that tab is looking at the chat under key, or with
    // key null that it no longer looks at any.
    watch: (tab, key) =>
      change((r) => {
        if (key) r.watch = { tab, key, at: now() }
        else if (r.watch?.tab === tab) r.watch = null
      }),
  }
}

// createAlerts applies the rules for one tab.
//   me()         the signed-in user, or null
//   attention    from createAttention
//   ledger       from createLedger; tab is this tab's id
//   chime        { play() }; desktop from createDesktop
//   muted()      whether sounds are off
//   title(n)     shows n unread messages (0: none) in the page title
//   open(chat)   shows chat, when a notification is clicked
export function createAlerts({ me, attention, ledger, tab, chime, desktop, muted, title, open }) {
  let unread = 0
  let viewing = null

  function keyOf(chat) {
    const user = me()
    return user ? `${user.id}:${chat}` : null
  }

  // follow tells the ledger which chat this tab is looking at, if any.
  function follow() {
    const key = viewing && attention.attentive() ? keyOf(viewing) : null
    return ledger.watch(tab, key)
  }

  attention.onChange((on) => {
    if (on && unread) {
      unread = 0
      title(0)
    }
    follow()
  })

  // arrived takes the messages a live delivery added to chat. It
  // resolves once the ledger has been consulted.
  async function arrived(chat, messages) {
    const user = me()
    if (!user || messages.length === 0) return
    const key = keyOf(chat)
    const newest = Math.max(...messages.map((m) => m.id))
    const others = messages.filter((m) => m.user?.id !== user.id)
    if (attention.attentive()) {
      // Looking at the chat renews this tab's claim to be watching it.
      follow()
      return ledger.seen(key, newest)
    }
    if (others.length === 0) return ledger.seen(key, newest)

    unread += others.length
    title(unread)
    const { announce, sound } = await ledger.claim(key, newest, tab)
    if (!announce) return
    if (sound && !muted()) chime.play()
    desktop.show(chat, others, () => open(chat))
  }

  return {
    arrived,
    // view tells which chat this tab shows (null for none).
    view(chat) {
      viewing = chat
      return follow()
    },
    // leave withdraws this tab's claim to look at a chat, as it closes.
    leave: () => ledger.watch(tab, null),
    unread: () => unread,
  }
}
