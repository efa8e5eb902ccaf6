// One open chat: entering it (joining when the visitor came by its
// link), its members, history pages and live messages merged without
// duplicates, and messages on their way out.
import { ApiError, errorText } from './errors.js'
import { isMember } from './chats.js'
import { freshMessages, mergeMessages, messageProblem, newestId, oldestId } from './messages.js'

export const NOT_FOUND = 'This chat does not exist. Check the link you were given.'
export const CANNOT_JOIN = 'You may not join this chat.'

// createRoom fills `state` (any object; the view passes a reactive one):
//   phase     'loading' until members, history and the live subscription
//             are all there (or the connection failed, which the view
//             shows beside the history); then 'ready', or 'failed'
//   error     why the chat could not be opened; retryable when trying
//             again may help
//   notice    the latest problem reported by the live connection
//   members   users, owner first
//   messages  ascending by id, each id once
//   hasMore   older history exists
//   pending   [{ client_id, message, error, acked }] sent but not yet
//             seen back; acked is the id once the server stored it
// me is the signed-in user; defer runs a function soon (batching live
// messages that arrive together into one update); onFresh gets the
// messages each live delivery adds, never history.
export function createRoom({
  uri,
  api,
  socket,
  me,
  state = {},
  defer = queueMicrotask,
  onFresh = () => {},
}) {
  Object.assign(state, {
    phase: 'loading',
    error: '',
    retryable: false,
    notice: '',
    members: [],
    messages: [],
    hasMore: false,
    loadingOlder: false,
    pending: [],
  })
  let closed = false
  let unsubscribe = null
  let stopStatus = null
  let inbox = []
  let membersLoading = null

  // enter reads the chat, joining it first when the visitor is not yet
  // a member: that is what opening a shared link does.
  async function enter() {
    try {
      return (await api.getChat(uri)).members
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 403) throw err
      return (await api.joinChat(uri)).members
    }
  }

  // open enters the chat; after a failure that may pass (the network,
  // the server) it may be called again.
  async function open() {
    Object.assign(state, { phase: 'loading', error: '', retryable: false })
    try {
      state.members = (await enter()) ?? []
      const page = await api.history(uri)
      if (closed) return
      state.messages = mergeMessages(state.messages, page?.messages ?? [])
      state.hasMore = Boolean(page?.has_more)
      follow()
    } catch (err) {
      fail(problem(err), !(err instanceof ApiError) || err.status >= 500)
    }
  }

  function problem(err) {
    if (!(err instanceof ApiError)) return errorText(err)
    if (err.status === 404) return NOT_FOUND
    if (err.status === 403) return CANNOT_JOIN
    return errorText(err)
  }

  function fail(why, retryable = false) {
    Object.assign(state, { phase: 'failed', error: why, retryable })
  }

  // follow subscribes from the newest id shown, so the server fills any
  // gap between the history page and the live stream, and the same at
  // every resubscribe after a reconnect.
  function follow() {
    unsubscribe = socket.subscribe(uri, {
      since: () => newestId(state.messages),
      onMessage: receive,
      onAck: acked,
      onError: failed,
      onSubscribed: live,
    })
    // A connection that fails before the subscription answers still
    // leaves the history to show, with the view's offline notice.
    stopStatus = socket.onStatus?.((status) => status === 'offline' && live())
    if (socket.status?.() === 'offline') live()
  }

  function live() {
    if (!closed && state.phase === 'loading') state.phase = 'ready'
  }

  function receive(msg) {
    inbox.push(msg)
    if (inbox.length === 1) defer(flush)
  }

  function flush() {
    const batch = inbox
    inbox = []
    if (closed) return
    const fresh = freshMessages(state.messages, batch)
    if (fresh.length === 0) return
    state.messages = mergeMessages(state.messages, fresh)
    const mine = new Set(fresh.filter((m) => m.user?.id === me.id).map((m) => m.client_id))
    if (mine.size) state.pending = state.pending.filter((p) => !mine.has(p.client_id))
    if (fresh.some((m) => !isMember(state.members, m.user))) reloadMembers()
    onFresh(fresh)
  }

  // Someone joined since the members were read; there is no join event
  // on the socket, so their first message is the cue to read them again.
  function reloadMembers() {
    membersLoading ??= api
      .getChat(uri)
      .then((chat) => {
        if (!closed && chat?.members) state.members = chat.members
      })
      .catch(() => {
        // The list stays as it was; the next stranger's message retries.
      })
      .finally(() => {
        membersLoading = null
      })
  }

  // acked marks a message stored. It stays where it is, no longer shown
  // as being sent, until its own delivery takes its place; when that came
  // first, it is simply gone.
  function acked(clientId, id) {
    if (state.messages.some((m) => m.id === id)) {
      state.pending = state.pending.filter((p) => p.client_id !== clientId)
      return
    }
    const p = state.pending.find((x) => x.client_id === clientId)
    if (p) p.acked = id
  }

  // failed takes an error frame about one of this chat's sends or about
  // the chat itself; refused while loading, the chat cannot be opened.
  function failed(frame) {
    const p = state.pending.find((x) => x.client_id === frame.ref)
    if (p) {
      p.error = frame.detail || 'The message was not sent.'
    } else if (state.phase === 'loading' && frame.code === 'not_found') {
      fail(NOT_FOUND)
    } else if (state.phase === 'loading' && frame.code === 'forbidden') {
      fail(CANNOT_JOIN)
    } else {
      state.notice = frame.detail || 'The live connection reported a problem.'
    }
  }

  // send returns '' once the message is on its way, or why it cannot go.
  function send(text) {
    const problem = messageProblem(text)
    if (problem) return problem
    const clientId = socket.send(uri, text)
    state.pending = [...state.pending, { client_id: clientId, message: text, error: '' }]
    return ''
  }

  function dismiss(clientId) {
    state.pending = state.pending.filter((p) => p.client_id !== clientId)
  }

  // retry sends a failed message again as a new one: the failure means
  // the first was not stored.
  function retry(clientId) {
    const p = state.pending.find((x) => x.client_id === clientId)
    if (!p) return
    dismiss(clientId)
    send(p.message)
  }

  async function loadOlder() {
    if (state.loadingOlder || !state.hasMore) return
    state.loadingOlder = true
    try {
      const page = await api.history(uri, { before: oldestId(state.messages) })
      state.messages = mergeMessages(state.messages, page?.messages ?? [])
      state.hasMore = Boolean(page?.has_more)
    } catch (err) {
      state.notice = errorText(err)
    } finally {
      state.loadingOlder = false
    }
  }

  function close() {
    closed = true
    unsubscribe?.()
    stopStatus?.()
  }

  return { state, open, send, dismiss, retry, loadOlder, close }
}
