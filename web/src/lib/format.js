// Dates as people read them in a chat.

// formatTime shows a message time: the time of day for today, the date
// and time for older messages, or '' for a value that is not a time.
export function formatTime(iso, now = new Date(), locale = undefined) {
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return ''
  const time = t.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })
  if (t.toDateString() === now.toDateString()) return time
  return `${t.toLocaleDateString(locale, { month: 'short', day: 'numeric' })} ${time}`
}
