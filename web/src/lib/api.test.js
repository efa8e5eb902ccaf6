import { describe, expect, it } from 'vitest'
import { createApi, query } from './api.js'
import { ApiError } from './errors.js'
import { fakeServer } from './testing.js'

// fakeAuth hands out tokens in order, one per renewal, and answers a
// renewal for a token already replaced with the current one.
function fakeAuth(tokens) {
  const auth = {
    current: tokens.shift(),
    renewals: 0,
    token: () => auth.current,
    async refresh(stale) {
      if (stale !== undefined && stale !== auth.current) return auth.current
      auth.renewals++
      auth.current = tokens.shift()
      if (!auth.current) throw new ApiError(401, { detail: 'Token has been revoked.' })
      return auth.current
    },
  }
  return auth
}

describe('createApi', () => {
  it('sends the current token', async () => {
    const { request, calls } = fakeServer({ 'GET /api/chats/': () => ({ chats: [{ uri: 'a' }] }) })
    const api = createApi({ request, auth: fakeAuth(['t1']) })
    expect(await api.listChats()).toEqual([{ uri: 'a' }])
    expect(calls[0].token).toBe('t1')
  })

  it('renews once and retries after a 401', async () => {
    const { request, calls } = fakeServer({
      'GET /api/chats/x/': (opts) =>
        opts.token === 't1' ? { status: 401, body: { detail: 'Signature has expired.' } }
          : { uri: 'x' },
    })
    const auth = fakeAuth(['t1', 't2'])
    const api = createApi({ request, auth })
    expect(await api.getChat('x')).toEqual({ uri: 'x' })
    expect(calls.map((c) => c.token)).toEqual(['t1', 't2'])
    expect(auth.renewals).toBe(1)
  })

  it('retries with a token renewed meanwhile, without renewing again', async () => {
    const auth = fakeAuth(['t1'])
    const { request, calls } = fakeServer({
      'GET /api/chats/': (opts) => {
        if (opts.token !== 't1') return { chats: [] }
        auth.current = 't2'
        return { status: 401, body: { detail: 'Signature has expired.' } }
      },
    })
    expect(await createApi({ request, auth }).listChats()).toEqual([])
    expect(calls.map((c) => c.token)).toEqual(['t1', 't2'])
    expect(auth.renewals).toBe(0)
  })

  it('gives up when the renewal is refused', async () => {
    const { request, calls } = fakeServer({
      'PATCH /api/chats/x/': () => ({ status: 401, body: { detail: 'Token has been revoked.' } }),
    })
    const api = createApi({ request, auth: fakeAuth(['t1']) })
    await expect(api.joinChat('x')).rejects.toMatchObject({ status: 401 })
    expect(calls).toHaveLength(1)
  })

  it('does not retry other failures', async () => {
    const { request, calls } = fakeServer({
      'GET /api/chats/x/messages/': () => ({ status: 403, body: { detail: 'No.' } }),
    })
    const auth = fakeAuth(['t1', 't2'])
    await expect(createApi({ request, auth }).history('x')).rejects.toMatchObject({ status: 403 })
    expect(calls).toHaveLength(1)
    expect(auth.renewals).toBe(0)
  })

  it('renews first when it has no token yet', async () => {
    const { request, calls } = fakeServer({ 'POST /api/chats/': () => ({ uri: 'n' }) })
    const api = createApi({ request, auth: fakeAuth([null, 't2']) })
    expect(await api.createChat()).toEqual({ uri: 'n' })
    expect(calls[0].token).toBe('t2')
  })

  it('builds history queries', async () => {
    const { request, calls } = fakeServer({ 'GET /api/chats/a%2Fb/messages/?before=9': () => ({}) })
    const api = createApi({ request, auth: fakeAuth(['t']) })
    await api.history('a/b', { before: 9, after: undefined })
    expect(calls[0].path).toBe('/api/chats/a%2Fb/messages/?before=9')
  })
})

describe('query', () => {
  it('leaves out unset values', () => {
    expect(query({})).toBe('')
    expect(query({ limit: 5, before: null, after: 3 })).toBe('?limit=5&after=3')
  })
})
