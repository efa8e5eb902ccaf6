// Desktop notifications. Permission is asked only when the person clicks
// the button that offers them: browsers ignore or penalize pages that
// ask on load, and people rightly dislike it.

const BODY_MAX = 180

// notificationText is the title and body announcing messages from
// others in one chat.
export function notificationText(messages) {
  const names = [...new Set(messages.map((m) => m.user?.username).filter(Boolean))]
  const last = messages[messages.length - 1]
  const title = messages.length === 1 ? `${names[0]} wrote` : `${messages.length} new messages`
  let body = `${last?.user?.username}: ${last?.message ?? ''}`
  if (messages.length > 1) body = `From ${names.join(', ')}. ${body}`
  if ([...body].length > BODY_MAX) body = [...body].slice(0, BODY_MAX - 1).join('') + '…'
  return { title, body }
}

// createDesktop wraps the Notification API; every method is safe where
// the browser has none.
export function createDesktop({ Notification = globalThis.Notification, win = globalThis } = {}) {
  const supported = typeof Notification === 'function'
  return {
    // permission is 'granted', 'denied', 'default' or 'unsupported'.
    permission: () => (supported ? Notification.permission : 'unsupported'),

    // ask requests permission; call it only from a click handler.
    async ask() {
      if (!supported) return 'unsupported'
      return Notification.requestPermission()
    },

    // show announces messages in chat when permission was granted;
    // onClick runs when the person clicks the notification. One
    // notification per chat replaces the one before it.
    show(chat, messages, onClick = () => {}) {
      if (!supported || Notification.permission !== 'granted' || !messages.length) return null
      const { title, body } = notificationText(messages)
      const n = new Notification(title, { body, tag: `parley:${chat}`, icon: '/favicon.svg' })
      n.onclick = () => {
        win.focus?.()
        onClick()
        n.close()
      }
      return n
    },
  }
}
