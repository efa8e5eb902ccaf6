// One open chat: entering it (joining when the visitor came by its
// link), its members, history pages and live messages merged without
// duplicates, and messages on their way out.
import { ApiError, errorText } from './errors.js'
import { isMember } from './chats.js'
import { mergeMessages, messageProblem, newestId, oldestId } from './messages.js'

export const NOT_FOUND = 'This chat does not exist. Check the link you were given.'

// createRoom fills `state` (any object; the view passes a reactive one):
//   phase     'loading', 'ready' or 'failed'
//   error     why the chat could not be opened
//   notice    the latest problem reported by the live connection
//   members   users, owner first
//   messages  ascending by id, each id once
//   hasMore   older history exists
//   pending   [{ client_id, message, error }] sent but not yet seen back
// me is the signed-in user; defer runs a function soon (batching live
// messages that arrive together into one update).
export function createRoom({ uri, api, socket, me, state = {}, defer = queueMicrotask }) {
  Object.assign(state, {
    phase: 'loading',
    error: '',
    notice: '',
    members: [],
    messages: [],
    hasMore: false,
    loadingOlder: false,
    pending: [],
  })
  let closed = false
  let unsubscribe = null
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

  async function open() {
    try {
      state.members = (await enter()) ?? []
      const page = await api.history(uri)
      state.messages = mergeMessages(state.messages, page?.messages ?? [])
      state.hasMore = Boolean(page?.has_more)
      if (closed) return
      // The newest id shown is the `since` of every (re)subscribe, so the
      // server fills any gap between this page and the live stream.
      unsubscribe = socket.subscribe(uri, {
        since: () => newestId(state.messages),
        onMessage: receive,
        onAck: acked,
        onError: failed,
      })
      state.phase = 'ready'
    } catch (err) {
      state.phase = 'failed'
      state.error = err instanceof ApiError && err.status === 404 ? NOT_FOUND : errorText(err)
    }
  }

  function receive(msg) {
    inbox.push(msg)
    if (inbox.length === 1) defer(flush)
  }

  function flush() {
    const batch = inbox
    inbox = []
    if (closed) return
    state.messages = mergeMessages(state.messages, batch)
    const seen = new Set(batch.filter((m) => m.user?.id === me.id).map((m) => m.client_id))
    if (seen.size) state.pending = state.pending.filter((p) => !seen.has(p.client_id))
    if (batch.some((m) => !isMember(state.members, m.user))) reloadMembers()
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

  function acked(clientId, id) {
    if (state.messages.some((m) => m.id === id)) {
      state.pending = state.pending.filter((p) => p.client_id !== clientId)
    }
  }

  function failed(frame) {
    const p = state.pending.find((x) => x.client_id === frame.ref)
    if (p) p.error = frame.detail || 'The message was not sent.'
    else state.notice = frame.detail || 'The live connection reported a problem.'
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
  }

  return { state, open, send, dismiss, retry, loadOlder, close }
}
