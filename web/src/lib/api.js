// The archiver's endpoints under /api/, called with the current access
// token and retried once with a renewed token when the server says 401.
import { ApiError } from './errors.js'

// createApi wraps request (from createHttp) with auth (from createAuth).
export function createApi({ request, auth }) {
  async function call(method, path, opts = {}) {
    const token = auth.token() ?? (await auth.refresh())
    try {
      return await request(method, path, { ...opts, token })
    } catch (err) {
      // An expired or revoked token; one renewal either fixes it or
      // rejects and signs the user out. Naming the token that failed lets
      // a renewal some other call or tab made meanwhile count.
      if (!(err instanceof ApiError) || err.status !== 401) throw err
      return request(method, path, { ...opts, token: await auth.refresh(token) })
    }
  }

  const chatPath = (uri) => `/api/chats/${encodeURIComponent(uri)}/`

  return {
    listChats: async () => (await call('GET', '/api/chats/'))?.chats ?? [],
    createChat: () => call('POST', '/api/chats/', { body: {} }),
    getChat: (uri) => call('GET', chatPath(uri)),
    joinChat: (uri) => call('PATCH', chatPath(uri), { body: {} }),
    history: (uri, params = {}) => call('GET', chatPath(uri) + 'messages/' + query(params)),
  }
}

// query builds "?a=1&b=2" from the params that are set.
export function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null) q.set(k, String(v))
  }
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}
