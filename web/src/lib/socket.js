// The live connection: one WebSocket per signed-in tab, shared by every
// chat the tab shows. It authenticates, subscribes each chat from the
// newest message already shown, sends with a client_id so that a resend
// after a reconnect is stored once, and reconnects with backoff.
import { backoffDelay } from './backoff.js'
import { encodeFrame, splitFrame } from './frames.js'
import { isMessage } from './messages.js'

// socketURL is the /ws address on the page's own host.
export function socketURL(loc) {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`
}

const OPEN = 1
// A server restart (1012) asks clients to come back elsewhere at once;
// waiting a little still spreads the herd.
const RESTART_DELAY = 250

// createChatSocket connects lazily, on the first subscribe.
//   getToken()   the current access token, or null
//   renewToken() resolves to a fresh access token; used after the server
//                closed with 4001 (token expired or revoked)
export function createChatSocket({
  url,
  WebSocket = globalThis.WebSocket,
  getToken,
  renewToken,
  timers = globalThis,
  random = Math.random,
  newId = () => crypto.randomUUID(),
}) {
  const chats = new Map() // uri -> handlers
  const pending = new Map() // client_id -> { chat, message }
  const statusListeners = new Set()
  let ws = null
  let ready = false
  let sentToken = null
  let attempt = 0
  let timer = null
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
    ready = false
    if (stopped) return
    setStatus('connecting')
    if (code === 4001) mustRenew = true
    reconnectLater(code === 1012 ? RESTART_DELAY : backoffDelay(attempt++, random))
  }

  function reconnectLater(delay) {
    timer = timers.setTimeout(async () => {
      if (mustRenew) {
        try {
          await renewToken()
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
    }, delay)
  }

  function onReady() {
    ready = true
    attempt = 0
    setStatus('open')
    // The token may have been renewed while this one was being checked.
    if (getToken() && getToken() !== sentToken) authenticate()
    for (const [chat, h] of chats) subscribeFrame(chat, h)
    for (const [clientId, p] of pending) write(sendFrame(clientId, p))
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
        return onReady()
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
    chats.get(p.chat)?.onAck?.(frame.client_id, frame.id)
  }

  // An error's ref names the client_id or chat it concerns.
  function onError(frame) {
    const p = pending.get(frame.ref)
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

    // subscribe follows chat with handlers { since, onMessage, onAck,
    // onError, onSubscribed }; since() is asked at every (re)subscribe
    // for the newest id shown. It returns the function that stops it.
    subscribe(chat, handlers) {
      chats.set(chat, handlers)
      if (ready) subscribeFrame(chat, handlers)
      else connect()
      return () => {
        if (chats.get(chat) !== handlers) return
        chats.delete(chat)
        if (ready) write({ type: 'unsubscribe', chat })
      }
    },

    // send posts message to chat and returns its client_id. It is resent
    // after every reconnect until the server acknowledges it; the
    // client_id makes sure it is stored once.
    send(chat, message) {
      const clientId = newId()
      pending.set(clientId, { chat, message })
      if (ready) write(sendFrame(clientId, { chat, message }))
      else connect()
      return clientId
    },

    // tokenChanged passes a renewed access token to the open connection,
    // which the server would otherwise close when the old one expires.
    tokenChanged() {
      if (ready && getToken() && getToken() !== sentToken) authenticate()
    },

    close() {
      stopped = true
      if (timer !== null) timers.clearTimeout(timer)
      timer = null
      const sock = ws
      ws = null
      ready = false
      chats.clear()
      pending.clear()
      sock?.close(1000)
      setStatus('closed')
    },
  }
}
