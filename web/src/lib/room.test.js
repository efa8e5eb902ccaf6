import { describe, expect, it } from 'vitest'
import { CANNOT_JOIN, NOT_FOUND, createRoom } from './room.js'
import { ApiError, NetworkError } from './errors.js'

const FORBIDDEN = 'You do not have permission to perform this action.'
const ann = { id: 1, username: 'ann' }
const bob = { id: 2, username: 'bob' }
const msg = (id, user = bob, extra = {}) => ({
  id,
  chat: 'c1',
  user,
  message: `m${id}`,
  client_id: null,
  ...extra,
})

// fakeApi answers like the archiver for one chat; `member` says whether
// the visitor already belongs to it.
function fakeApi({
  member = true,
  members = [ann],
  pages = {},
  missing = false,
  closed = false,
} = {}) {
  const calls = []
  return {
    calls,
    members,
    async getChat(uri) {
      calls.push(['getChat', uri])
      if (missing) throw new ApiError(404, { detail: 'Not found.' })
      if (!member) throw new ApiError(403, { detail: FORBIDDEN })
      return { uri, members: this.members }
    },
    async joinChat(uri) {
      calls.push(['joinChat', uri])
      if (closed) throw new ApiError(403, { detail: FORBIDDEN })
      member = true
      this.members = [...this.members, ann]
      return { status: 'SUCCESS', members: this.members }
    },
    async history(uri, params = {}) {
      calls.push(['history', uri, params])
      return pages[params.before ?? 'latest'] ?? { messages: [], has_more: false }
    },
  }
}

function fakeSocket() {
  const s = {
    subs: new Map(),
    sent: [],
    statusFns: new Set(),
    state: 'connecting',
    status: () => s.state,
    onStatus(fn) {
      s.statusFns.add(fn)
      return () => s.statusFns.delete(fn)
    },
    setStatus(next) {
      s.state = next
      for (const fn of s.statusFns) fn(next)
    },
    subscribe(chat, h) {
      s.subs.set(chat, h)
      return () => s.subs.delete(chat)
    },
    send(chat, message) {
      s.sent.push({ chat, message })
      return `cid${s.sent.length}`
    },
    // deliver plays the server: messages for chat, flushed at once.
    deliver(chat, ...msgs) {
      for (const m of msgs) s.subs.get(chat)?.onMessage(m)
    },
  }
  return s
}

const now = (fn) => fn()

// opened opens a room and has the server confirm its subscription.
async function opened(apiOpts, { uri = 'c1', onFresh } = {}) {
  const api = fakeApi(apiOpts)
  const socket = fakeSocket()
  const room = createRoom({ uri, api, socket, me: ann, defer: now, onFresh })
  await room.open()
  socket.subs.get(uri)?.onSubscribed?.(0)
  return { api, socket, room, s: room.state }
}

// loading opens a room whose subscription the server has not answered.
async function loading(apiOpts) {
  const api = fakeApi(apiOpts)
  const socket = fakeSocket()
  const room = createRoom({ uri: 'c1', api, socket, me: ann, defer: now })
  await room.open()
  return { api, socket, room, s: room.state }
}

describe('opening', () => {
  it('reads members and history, then subscribes from the newest id', async () => {
    const { api, socket, s } = await opened({
      members: [bob, ann],
      pages: { latest: { messages: [msg(3), msg(5)], has_more: true } },
    })
    expect(api.calls.map((c) => c[0])).toEqual(['getChat', 'history'])
    expect(s.phase).toBe('ready')
    expect(s.members).toEqual([bob, ann])
    expect(s.messages.map((m) => m.id)).toEqual([3, 5])
    expect(s.hasMore).toBe(true)
    expect(socket.subs.get('c1').since()).toBe(5)
  })

  it('joins a chat opened from a shared link', async () => {
    const { api, s } = await opened({ member: false, members: [bob] })
    expect(api.calls.map((c) => c[0])).toEqual(['getChat', 'joinChat', 'history'])
    expect(s.members).toEqual([bob, ann])
    expect(s.phase).toBe('ready')
  })

  it('explains a chat that does not exist', async () => {
    const { socket, s } = await opened({ missing: true })
    expect(s.phase).toBe('failed')
    expect(s.error).toBe(NOT_FOUND)
    expect(socket.subs.size).toBe(0)
  })

  it('stays loading until the live subscription is there', async () => {
    const { socket, s } = await loading({ pages: { latest: { messages: [msg(1)] } } })
    expect(s.phase).toBe('loading')
    expect(s.messages).toHaveLength(1)
    socket.subs.get('c1').onSubscribed(1)
    expect(s.phase).toBe('ready')
  })

  it('shows the history when the connection fails before that', async () => {
    const { socket, s } = await loading()
    socket.setStatus('offline')
    expect(s.phase).toBe('ready')
  })

  it('explains a chat that may not be joined', async () => {
    const { s } = await opened({ member: false, closed: true })
    expect(s.phase).toBe('failed')
    expect(s.error).toBe(CANNOT_JOIN)
  })

  it.each([
    ['forbidden', CANNOT_JOIN],
    ['not_found', NOT_FOUND],
  ])('fails when the subscription is refused as %s', async (code, why) => {
    const { socket, s } = await loading()
    socket.subs.get('c1').onError({ type: 'error', code, detail: 'x', ref: 'c1' })
    expect(s.phase).toBe('failed')
    expect(s.error).toBe(why)
  })

  it('offers to try again after a failure that may pass', async () => {
    const api = fakeApi()
    const history = api.history
    api.history = async () => {
      throw new NetworkError()
    }
    const socket = fakeSocket()
    const room = createRoom({ uri: 'c1', api, socket, me: ann, defer: now })
    await room.open()
    expect([room.state.phase, room.state.retryable]).toEqual(['failed', true])
    api.history = history
    await room.open()
    socket.subs.get('c1').onSubscribed(0)
    expect([room.state.phase, room.state.error]).toEqual(['ready', ''])
  })

  it('does not offer to try again for a chat that does not exist', async () => {
    const { s } = await opened({ missing: true })
    expect(s.retryable).toBe(false)
  })

  it('does not subscribe when closed while loading', async () => {
    const api = fakeApi()
    const socket = fakeSocket()
    const room = createRoom({ uri: 'c1', api, socket, me: ann, defer: now })
    const opening = room.open()
    room.close()
    await opening
    expect(socket.subs.size).toBe(0)
  })
})

describe('live messages', () => {
  it('merges them with history without duplicates', async () => {
    const { socket, s } = await opened({
      members: [ann, bob],
      pages: { latest: { messages: [msg(1), msg(2)] } },
    })
    socket.deliver('c1', msg(2), msg(3), msg(3), msg(4))
    expect(s.messages.map((m) => m.id)).toEqual([1, 2, 3, 4])
    expect(socket.subs.get('c1').since()).toBe(4)
  })

  it('reports each new live message once, and never history', async () => {
    const fresh = []
    const { socket } = await opened(
      { members: [ann, bob], pages: { latest: { messages: [msg(1), msg(2)] } } },
      { onFresh: (list) => fresh.push(list.map((m) => m.id)) },
    )
    socket.deliver('c1', msg(2), msg(3))
    socket.deliver('c1', msg(3))
    socket.deliver('c1', msg(4), msg(5))
    expect(fresh).toEqual([[3], [4], [5]])
  })

  it('batches messages that arrive together', async () => {
    const api = fakeApi({ members: [ann, bob] })
    const socket = fakeSocket()
    const queued = []
    const room = createRoom({ uri: 'c1', api, socket, me: ann, defer: (fn) => queued.push(fn) })
    await room.open()
    socket.subs.get('c1').onSubscribed(0)
    socket.deliver('c1', msg(1), msg(2))
    expect(room.state.messages).toEqual([])
    expect(queued).toHaveLength(1)
    queued[0]()
    expect(room.state.messages.map((m) => m.id)).toEqual([1, 2])
  })

  it('reads the members again when a stranger speaks', async () => {
    const { api, socket, s } = await opened({ members: [ann] })
    api.members = [ann, bob]
    socket.deliver('c1', msg(1, bob))
    await Promise.resolve()
    await Promise.resolve()
    expect(api.calls.filter((c) => c[0] === 'getChat')).toHaveLength(2)
    expect(s.members).toEqual([ann, bob])
    socket.deliver('c1', msg(2, bob))
    expect(api.calls.filter((c) => c[0] === 'getChat')).toHaveLength(2)
  })
})

describe('sending', () => {
  it('shows a message as pending until it comes back', async () => {
    const { socket, room, s } = await opened()
    expect(room.send('hello')).toBe('')
    expect(socket.sent).toEqual([{ chat: 'c1', message: 'hello' }])
    expect(s.pending).toEqual([{ client_id: 'cid1', message: 'hello', error: '' }])
    socket.deliver('c1', msg(9, bob, { client_id: 'cid1' }))
    expect(s.pending).toHaveLength(1)
    socket.deliver('c1', msg(10, ann, { client_id: 'cid1' }))
    expect(s.pending).toEqual([])
  })

  it('stops showing a message as being sent once acknowledged', async () => {
    const { socket, room, s } = await opened()
    room.send('hello')
    socket.subs.get('c1').onAck('cid1', 12)
    expect(s.pending).toEqual([{ client_id: 'cid1', message: 'hello', error: '', acked: 12 }])
    socket.deliver('c1', msg(12, ann, { client_id: 'cid1' }))
    expect(s.pending).toEqual([])
    expect(s.messages.map((m) => m.id)).toEqual([12])
  })

  it('drops a message at its acknowledgement when its delivery came first', async () => {
    const { socket, room, s } = await opened()
    room.send('hello')
    socket.deliver('c1', msg(12, ann, { client_id: 'other' }))
    socket.subs.get('c1').onAck('cid1', 12)
    expect(s.pending).toEqual([])
  })

  it('refuses a blank message without sending', async () => {
    const { socket, room } = await opened()
    expect(room.send('   ')).toBe('Write a message first.')
    expect(socket.sent).toEqual([])
  })

  it('marks a refused message and can retry it', async () => {
    const { socket, room, s } = await opened()
    room.send('hi')
    socket.subs.get('c1').onError({ code: 'rate_limited', detail: 'Slow down.', ref: 'cid1' })
    expect(s.pending[0].error).toBe('Slow down.')
    room.retry('cid1')
    expect(socket.sent.map((x) => x.message)).toEqual(['hi', 'hi'])
    expect(s.pending).toEqual([{ client_id: 'cid2', message: 'hi', error: '' }])
  })

  it('shows an error about the chat as a notice', async () => {
    const { socket, s } = await opened()
    socket.subs.get('c1').onError({ code: 'forbidden', detail: 'No.', ref: 'c1' })
    expect(s.notice).toBe('No.')
  })
})

describe('older history', () => {
  it('pages back from the oldest message shown', async () => {
    const { api, room, s } = await opened({
      pages: {
        latest: { messages: [msg(50), msg(51)], has_more: true },
        50: { messages: [msg(40), msg(45)], has_more: false },
      },
    })
    await room.loadOlder()
    expect(api.calls.at(-1)).toEqual(['history', 'c1', { before: 50 }])
    expect(s.messages.map((m) => m.id)).toEqual([40, 45, 50, 51])
    expect(s.hasMore).toBe(false)
    await room.loadOlder()
    expect(api.calls.filter((c) => c[0] === 'history')).toHaveLength(2)
  })
})
