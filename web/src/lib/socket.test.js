import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createChatSocket, socketURL } from './socket.js'

// fakeSockets returns a WebSocket stand-in class and the list of
// instances it made; each instance is driven from the server's side.
function fakeSockets() {
  const made = []
  class FakeSocket {
    constructor(url) {
      this.url = url
      this.readyState = 0
      this.sent = []
      made.push(this)
    }
    send(text) {
      this.sent.push(JSON.parse(text))
    }
    close(code) {
      this.readyState = 3
      this.closedWith = code
    }
    open() {
      this.readyState = 1
      this.onopen?.()
    }
    deliver(...objs) {
      this.onmessage?.({ data: objs.map((o) => JSON.stringify(o)).join('\n') })
    }
    drop(code) {
      this.readyState = 3
      this.onclose?.({ code })
    }
  }
  return { FakeSocket, made }
}

const msg = (id, chat = 'c1', extra = {}) => ({
  type: 'message', id, chat, user: { id: 1, username: 'ann' }, message: `m${id}`, ...extra,
})

let env
beforeEach(() => {
  vi.useFakeTimers()
  const { FakeSocket, made } = fakeSockets()
  let token = 't1'
  let ids = 0
  env = {
    made,
    setToken: (t) => (token = t),
    renewToken: vi.fn(async () => (token = `renewed-${token}`)),
  }
  env.socket = createChatSocket({
    url: 'ws://host/ws',
    WebSocket: FakeSocket,
    getToken: () => token,
    renewToken: env.renewToken,
    random: () => 1,
    newId: () => `id${++ids}`,
  })
})
afterEach(() => {
  env.socket.close()
  vi.useRealTimers()
})

function handlers(newest = 0) {
  const h = {
    newest,
    got: [],
    acks: [],
    errors: [],
    since: () => h.newest,
    onMessage: (m) => h.got.push(m.id),
    onAck: (clientId, id) => h.acks.push([clientId, id]),
    onError: (e) => h.errors.push(e),
  }
  return h
}

// connected opens the newest socket and has the server accept it.
function connected() {
  const ws = env.made.at(-1)
  ws.open()
  ws.deliver({ type: 'ready', user: { id: 1, username: 'ann' }, expires_at: 'x' })
  return ws
}

describe('connecting', () => {
  it('authenticates first and subscribes only once ready', () => {
    env.socket.subscribe('c1', handlers(41))
    expect(env.made).toHaveLength(1)
    const ws = env.made[0]
    expect(ws.url).toBe('ws://host/ws')
    ws.open()
    expect(ws.sent).toEqual([{ type: 'auth', token: 't1' }])
    ws.deliver({ type: 'ready' })
    expect(ws.sent.slice(1)).toEqual([{ type: 'subscribe', chat: 'c1', since: 41 }])
    expect(env.socket.status()).toBe('open')
  })

  it('shares one connection between chats', () => {
    env.socket.subscribe('c1', handlers(1))
    const ws = connected()
    env.socket.subscribe('c2', handlers(0))
    expect(env.made).toHaveLength(1)
    expect(ws.sent.at(-1)).toEqual({ type: 'subscribe', chat: 'c2', since: 0 })
  })

  it('routes every object of a packed frame to its chat', () => {
    const one = handlers()
    const two = handlers()
    env.socket.subscribe('c1', one)
    env.socket.subscribe('c2', two)
    connected().deliver(msg(5), msg(6, 'c2'), msg(7), msg(8, 'elsewhere'), { type: 'noise' })
    expect(one.got).toEqual([5, 7])
    expect(two.got).toEqual([6])
  })

  it('stops routing and tells the server on unsubscribe', () => {
    const h = handlers()
    const stop = env.socket.subscribe('c1', h)
    const ws = connected()
    stop()
    expect(ws.sent.at(-1)).toEqual({ type: 'unsubscribe', chat: 'c1' })
    ws.deliver(msg(1))
    expect(h.got).toEqual([])
  })
})

describe('reconnecting', () => {
  it('backs off, then resubscribes from the newest id shown', async () => {
    const h = handlers(10)
    env.socket.subscribe('c1', h)
    connected().drop(1006)
    expect(env.socket.status()).toBe('offline')
    h.newest = 12

    await vi.advanceTimersByTimeAsync(499)
    expect(env.made).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(env.made).toHaveLength(2)

    // A second failure before ready waits longer.
    env.made[1].drop(1006)
    await vi.advanceTimersByTimeAsync(999)
    expect(env.made).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    const ws = connected()
    expect(ws.sent).toEqual([
      { type: 'auth', token: 't1' },
      { type: 'subscribe', chat: 'c1', since: 12 },
    ])

    // Being ready again starts the backoff over.
    ws.drop(1006)
    await vi.advanceTimersByTimeAsync(500)
    expect(env.made).toHaveLength(4)
  })

  it('comes back quickly from a server restart', async () => {
    env.socket.subscribe('c1', handlers())
    connected().drop(1012)
    await vi.advanceTimersByTimeAsync(250)
    expect(env.made).toHaveLength(2)
  })

  it('renews the token after a 4001 close', async () => {
    env.socket.subscribe('c1', handlers())
    connected().drop(4001)
    await vi.advanceTimersByTimeAsync(500)
    expect(env.renewToken).toHaveBeenCalledTimes(1)
    env.made[1].open()
    expect(env.made[1].sent[0]).toEqual({ type: 'auth', token: 'renewed-t1' })
  })

  it('keeps trying while renewal fails', async () => {
    env.renewToken.mockRejectedValueOnce(new Error('offline'))
    env.socket.subscribe('c1', handlers())
    connected().drop(4001)
    await vi.advanceTimersByTimeAsync(500)
    expect(env.made).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(env.renewToken).toHaveBeenCalledTimes(2)
    expect(env.made).toHaveLength(2)
  })

  it('tries again at once when woken', async () => {
    env.socket.subscribe('c1', handlers())
    connected().drop(1006)
    await vi.advanceTimersByTimeAsync(500)
    env.made[1].drop(1006)
    expect(env.made).toHaveLength(2)
    env.socket.wake()
    await vi.advanceTimersByTimeAsync(0)
    expect(env.made).toHaveLength(3)
    expect(env.socket.status()).toBe('connecting')
  })

  it('connects on start, before any chat asks', () => {
    expect(env.socket.status()).toBe('idle')
    env.socket.start()
    expect(env.made).toHaveLength(1)
    env.socket.subscribe('c1', handlers())
    expect(env.made).toHaveLength(1)
  })

  it('stays closed after close', async () => {
    env.socket.subscribe('c1', handlers())
    const ws = connected()
    env.socket.close()
    expect(ws.closedWith).toBe(1000)
    ws.drop(1000)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(env.made).toHaveLength(1)
    expect(env.socket.status()).toBe('closed')
  })
})

describe('sending', () => {
  it('waits for ready, then sends with a client_id', () => {
    env.socket.subscribe('c1', handlers())
    expect(env.socket.send('c1', 'hello')).toBe('id1')
    const ws = env.made[0]
    ws.open()
    expect(ws.sent).toEqual([{ type: 'auth', token: 't1' }])
    ws.deliver({ type: 'ready' })
    expect(ws.sent.at(-1)).toEqual({ type: 'send', chat: 'c1', message: 'hello', client_id: 'id1' })
  })

  it('resends what was not acknowledged after a reconnect, and only that', async () => {
    const h = handlers()
    env.socket.subscribe('c1', h)
    const ws = connected()
    env.socket.send('c1', 'acked')
    env.socket.send('c1', 'seen')
    env.socket.send('c1', 'lost')
    ws.deliver({ type: 'ack', client_id: 'id1', id: 30 }, msg(31, 'c1', { client_id: 'id2' }))
    expect(h.acks).toEqual([['id1', 30]])
    ws.drop(1006)
    await vi.advanceTimersByTimeAsync(500)
    const sends = connected().sent.filter((f) => f.type === 'send')
    expect(sends).toEqual([{ type: 'send', chat: 'c1', message: 'lost', client_id: 'id3' }])
  })

  it('sends again, with the same client_id, what was refused for now', async () => {
    env.socket.subscribe('c1', handlers())
    const ws = connected()
    env.socket.send('c1', 'too fast')
    ws.deliver({ type: 'error', code: 'rate_limited', detail: 'Slow down.', ref: 'id1' })
    ws.deliver({ type: 'error', code: 'unavailable', detail: 'Later.', ref: 'id1' })
    await vi.advanceTimersByTimeAsync(499)
    expect(ws.sent.filter((f) => f.type === 'send')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    const sends = ws.sent.filter((f) => f.type === 'send')
    expect(sends).toHaveLength(2)
    expect(sends[1]).toEqual(sends[0])
    expect(sends[1].client_id).toBe('id1')
  })

  it('reports a refused send to its chat and forgets it', async () => {
    const h = handlers()
    env.socket.subscribe('c1', h)
    const ws = connected()
    env.socket.send('c1', 'not allowed')
    const refusal = { type: 'error', code: 'invalid', detail: 'Too long.', ref: 'id1' }
    ws.deliver(refusal)
    expect(h.errors).toEqual([refusal])
    ws.drop(1006)
    await vi.advanceTimersByTimeAsync(500)
    expect(connected().sent.filter((f) => f.type === 'send')).toEqual([])
  })

  it('reports an error about a chat to that chat', () => {
    const h = handlers()
    env.socket.subscribe('c1', h)
    connected().deliver({ type: 'error', code: 'forbidden', detail: 'No.', ref: 'c1' })
    expect(h.errors.map((e) => e.code)).toEqual(['forbidden'])
  })
})

describe('tokenChanged', () => {
  it('extends the open connection with the new token', () => {
    env.socket.subscribe('c1', handlers())
    const ws = connected()
    env.socket.tokenChanged()
    expect(ws.sent.filter((f) => f.type === 'auth')).toHaveLength(1)
    env.setToken('t2')
    env.socket.tokenChanged()
    expect(ws.sent.at(-1)).toEqual({ type: 'auth', token: 't2' })
  })

  it('takes the ready that answers a later auth frame as no new connection', () => {
    env.socket.subscribe('c1', handlers(3))
    const ws = connected()
    env.socket.send('c1', 'in flight')
    const before = ws.sent.length
    env.setToken('t2')
    env.socket.tokenChanged()
    ws.deliver({ type: 'ready', user: { id: 1, username: 'ann' }, expires_at: 'y' })
    expect(ws.sent.slice(before)).toEqual([{ type: 'auth', token: 't2' }])
  })

  it('sends a token renewed during the handshake once ready', () => {
    env.socket.subscribe('c1', handlers())
    const ws = env.made[0]
    ws.open()
    env.setToken('t2')
    env.socket.tokenChanged()
    ws.deliver({ type: 'ready' })
    expect(ws.sent.filter((f) => f.type === 'auth').map((f) => f.token)).toEqual(['t1', 't2'])
  })
})

describe('socketURL', () => {
  it('follows the page scheme', () => {
    expect(socketURL({ protocol: 'https:', host: 'chat.example' })).toBe('wss://chat.example/ws')
    expect(socketURL({ protocol: 'http:', host: '127.0.0.1:8000' })).toBe('ws://127.0.0.1:8000/ws')
  })
})
