// The "my chats" list.

// chatActivity is when a chat last saw anything: its newest message, or
// its creation when it has none, in milliseconds since the epoch.
export function chatActivity(chat) {
  const t = Date.parse(chat.last_message_at || chat.created_at || '')
  return Number.isNaN(t) ? 0 : t
}

// sortChats returns the chats newest activity first. The server already
// sends them so; sorting again keeps the order right after the client
// adds a chat it just created.
export function sortChats(chats) {
  return [...chats].sort((a, b) => chatActivity(b) - chatActivity(a))
}

// memberNames lists a chat's members for display, the viewer last as
// "you" so the names that matter come first; "Only you" when alone.
export function memberNames(members, me) {
  const names = []
  let includesMe = false
  for (const m of members || []) {
    if (me && m.id === me.id) includesMe = true
    else names.push(m.username)
  }
  if (includesMe) names.push(names.length ? 'you' : 'Only you')
  return names.join(', ')
}

// isMember reports whether user is among members.
export function isMember(members, user) {
  return Boolean(user) && (members || []).some((m) => m.id === user.id)
}
