// The live connection: one WebSocket per signed-in tab, shared by every
// chat the tab shows. It authenticates, subscribes each chat from the
// newest message already shown, sends with a client_id so that a resend
// after a reconnect is stored once, and reconnects with backoff.
import { backoffDelay } from './backoff.js'
import { encodeFrame, splitFrame } from './frames.js'
import { isMessage } from './messages.js'
import { randomId } from './tabs.js'

// socketURL is the /ws address on the page's own host.
export function socketURL(loc) {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`
}

const OPEN = 1
// A server restart (1012) asks clients to come back elsewhere at once;
// waiting a little still spreads the herd.
const RESTART_DELAY = 250
// Refusals that say "not now" rather than "never": the message is sent
// again, with the same client_id, after a pause.
const TRANSIENT = new Set(['rate_limited', 'unavailable'])

// createChatSocket makes the connection; start() or the first subscribe
// or send opens it.
//   getToken()        the current access token, or null
//   renewToken(stale) resolves to a fresh access token; used after the
//                     server closed with 4001 (token expired or revoked)
// status() is 'idle' before the start, 'connecting', 'open' (ready for
// frames), 'offline' (dropped, waiting to try again) or 'closed'.
export function createChatSocket({
  url,
  WebSocket = globalThis.WebSocket,
  getToken,
  renewToken,
  timers = globalThis,
  random = Math.random,
  newId = randomId,
}) {
  const chats = new Map() // uri -> handlers
  const pending = new Map() // client_id -> { chat, message }
  const statusListeners = new Set()
  let ws = null
  let admitted = false
  let sentToken = null
  let attempt = 0
  let timer = null
  let resendTimer = null
  let resendAttempt = 0
  let stopped = false
  let mustRenew = false
  let status = 'idle'

  function setStatus(next) {
    if (next === status) return
    status = next
    for (const fn of statusListeners) fn(status)
  }

  function write(obj) {
    if (!ws || ws.readyState !== OPEN) return false
    ws.send(encodeFrame(obj))
    return true
  }

  function authenticate() {
    sentToken = getToken()
    write({ type: 'auth', token: sentToken })
  }

  function connect() {
    if (stopped || ws || timer !== null) return
    if (!getToken()) {
      mustRenew = true
      reconnectLater(0)
      return
    }
    setStatus('connecting')
    const sock = new WebSocket(url)
    ws = sock
    sock.onopen = () => authenticate()
    sock.onmessage = (ev) => {
      if (sock === ws) splitFrame(ev.data).forEach(handle)
    }
    sock.onclose = (ev) => {
      if (sock === ws) dropped(ev.code)
    }
  }

  function dropped(code) {
    ws = null
    admitted = false
    if (stopped) return
    setStatus('offline')
    if (code === 4001) mustRenew = true
    reconnectLater(code === 1012 ? RESTART_DELAY : backoffDelay(attempt++, random))
  }

  function reconnectLater(delay) {
    timer = timers.setTimeout(reconnect, delay)
  }

  async function reconnect() {
    if (mustRenew) {
      try {
        await renewToken(sentToken ?? undefined)
        mustRenew = false
      } catch {
        // Signed out, or the server is unreachable: the owner closes
        // this socket on sign-out; otherwise keep trying.
        timer = null
        if (!stopped) reconnectLater(backoffDelay(attempt++, random))
        return
      }
    }
    timer = null
    connect()
  }

  // admit runs on the first ready of a connection. The server answers
  // every later auth frame with ready too; those only extend it.
  function admit() {
    admitted = true
    attempt = 0
    setStatus('open')
    // The token may have been renewed while this one was being checked.
    if (getToken() && getToken() !== sentToken) authenticate()
    for (const [chat, h] of chats) subscribeFrame(chat, h)
    resend()
  }

  function resend() {
    for (const [clientId, p] of pending) write(sendFrame(clientId, p))
  }

  function resendLater() {
    if (resendTimer !== null) return
    resendTimer = timers.setTimeout(() => {
      resendTimer = null
      if (admitted) resend()
    }, backoffDelay(resendAttempt++, random))
  }

  function subscribeFrame(chat, h) {
    const frame = { type: 'subscribe', chat }
    const since = h.since?.()
    if (Number.isSafeInteger(since) && since >= 0) frame.since = since
    write(frame)
  }

  function sendFrame(clientId, p) {
    return { type: 'send', chat: p.chat, message: p.message, client_id: clientId }
  }

  function handle(frame) {
    switch (frame.type) {
      case 'ready':
        return admitted || admit()
      case 'subscribed':
        return chats.get(frame.chat)?.onSubscribed?.(frame.last_id)
      case 'message':
        return onMessage(frame)
      case 'ack':
        return onAck(frame)
      case 'error':
        return onError(frame)
    }
  }

  function onMessage(frame) {
    const msg = { ...frame }
    delete msg.type
    if (!isMessage(msg)) return
    if (msg.client_id && pending.get(msg.client_id)?.chat === msg.chat) {
      pending.delete(msg.client_id)
    }
    chats.get(msg.chat)?.onMessage?.(msg)
  }

  function onAck(frame) {
    const p = pending.get(frame.client_id)
    if (!p) return
    pending.delete(frame.client_id)
    resendAttempt = 0
    chats.get(p.chat)?.onAck?.(frame.client_id, frame.id)
  }

  // An error's ref names the client_id or chat it concerns. A send
  // refused for now stays pending and goes again; one refused for good
  // is forgotten and reported.
  function onError(frame) {
    const p = pending.get(frame.ref)
    if (p && TRANSIENT.has(frame.code)) return resendLater()
    if (p) {
      pending.delete(frame.ref)
      return chats.get(p.chat)?.onError?.(frame)
    }
    chats.get(frame.ref)?.onError?.(frame)
  }

  return {
    status: () => status,
    onStatus(fn) {
      statusListeners.add(fn)
      return () => statusListeners.delete(fn)
    },

    // start connects now, before any chat needs it, so that opening a
    // chat does not wait for a handshake.
    start() {
      connect()
    },

    // wake tries again at once when the connection is waiting to, as
    // when the browser says it is back online.
    wake() {
      if (stopped || ws || timer === null) return
      timers.clearTimeout(timer)
      timer = null
      attempt = 0
      reconnect()
    },

    // subscribe follows chat with handlers { since, onMessage, onAck,
    // onError, onSubscribed }; since() is asked at every (re)subscribe
    // for the newest id shown. It returns the function that stops it.
    subscribe(chat, handlers) {
      chats.set(chat, handlers)
      if (admitted) subscribeFrame(chat, handlers)
      else connect()
      return () => {
        if (chats.get(chat) !== handlers) return
        chats.delete(chat)
        if (admitted) write({ type: 'unsubscribe', chat })
      }
    },

    // send posts message to chat and returns its client_id. It is resent
    // after every reconnect until the server acknowledges it; the
    // client_id makes sure it is stored once.
    send(chat, message) {
      const clientId = newId()
      pending.set(clientId, { chat, message })
      if (admitted) write(sendFrame(clientId, { chat, message }))
      else connect()
      return clientId
    },

    // tokenChanged passes a renewed access token to the open connection,
    // which the server would otherwise close when the old one expires.
    tokenChanged() {
      if (admitted && getToken() && getToken() !== sentToken) authenticate()
    },

    close() {
      stopped = true
      for (const t of [timer, resendTimer]) if (t !== null) timers.clearTimeout(t)
      timer = null
      resendTimer = null
      const sock = ws
      ws = null
      admitted = false
      chats.clear()
      pending.clear()
      sock?.close(1000)
      setStatus('closed')
    },
  }
}
