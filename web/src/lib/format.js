// Dates as people read them in a chat: in the reader's own time zone and
// language, which is what the browser's Intl uses when none is named.

// dayKey names the calendar day of t in timeZone.
function dayKey(t, timeZone) {
  return t.toLocaleDateString('en-CA', { timeZone })
}

// formatTime shows a message time: the time of day for today, the date
// and time for older messages, or '' for a value that is not a time.
// locale and timeZone default to the reader's; tests name them.
export function formatTime(iso, now = new Date(), locale = undefined, timeZone = undefined) {
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return ''
  const time = t.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', timeZone })
  if (dayKey(t, timeZone) === dayKey(now, timeZone)) return time
  const date = t.toLocaleDateString(locale, { month: 'short', day: 'numeric', timeZone })
  return `${date} ${time}`
}

// fullTime is the complete date and time, for a tooltip.
export function fullTime(iso, locale = undefined, timeZone = undefined) {
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return ''
  return t.toLocaleString(locale, { dateStyle: 'full', timeStyle: 'short', timeZone })
}
