// The client's pages and their paths. Paths are real (no #), so a chat's
// link is a plain URL that the server answers with index.html.

// parseRoute maps a path to { name, params }. Unknown paths are 'notFound'.
export function parseRoute(pathname) {
  const path = pathname.replace(/\/+$/, '') || '/'
  if (path === '/') return { name: 'chats', params: {} }
  if (path === '/signin') return { name: 'signin', params: {} }
  if (path === '/signup') return { name: 'signup', params: {} }
  const chat = /^\/chat\/([A-Za-z0-9._~-]+)$/.exec(path)
  if (chat) return { name: 'chat', params: { uri: chat[1] } }
  return { name: 'notFound', params: {} }
}

// chatPath is the client path of a chat.
export function chatPath(uri) {
  return `/chat/${encodeURIComponent(uri)}`
}

// shareLink is the link that brings someone else into a chat: opening it
// signed in joins them.
export function shareLink(origin, uri) {
  return origin + chatPath(uri)
}

// PUBLIC_ROUTES are the pages shown without signing in.
export const PUBLIC_ROUTES = new Set(['signin', 'signup'])

// safeNext returns next when it is a path on this site, else '/'. Taking
// any value would let a crafted sign-in link send people elsewhere
// ("//evil.example" is a full URL to a browser).
export function safeNext(next) {
  if (typeof next !== 'string' || !next.startsWith('/')) return '/'
  if (next.startsWith('//') || next.startsWith('/\\')) return '/'
  return parseRoute(next.split(/[?#]/)[0]).name === 'notFound' ? '/' : next
}

// withNext is a sign-in or sign-up path that returns to `next` afterwards.
export function withNext(path, next) {
  const target = safeNext(next)
  return target === '/' ? path : `${path}?next=${encodeURIComponent(target)}`
}
