// The client's single instances: HTTP, login state, the archiver API and
// the live socket, wired together and exposed to the views as reactive
// state.
import { reactive } from 'vue'
import { createApi } from './lib/api.js'
import { createAuth, REFRESH_PATH } from './lib/auth.js'
import { createHttp } from './lib/http.js'
import { createChatSocket, socketURL } from './lib/socket.js'

const request = createHttp()

export const auth = createAuth({
  request,
  refreshPath: import.meta.env.VITE_PARLEY_REFRESH_PATH || REFRESH_PATH,
})

export const api = createApi({ request, auth })

// state.user is the signed-in user or null; state.live is the socket's
// status: idle, connecting, open or closed.
export const state = reactive({ user: null, live: 'idle' })

let socket = null
let socketUser = null

// liveSocket is the signed-in user's socket; null when signed out.
export function liveSocket() {
  return socket
}

function closeSocket() {
  socket?.close()
  socket = null
  socketUser = null
  state.live = 'idle'
}

function openSocket(user) {
  socket = createChatSocket({
    url: socketURL(window.location),
    getToken: auth.token,
    renewToken: auth.refresh,
  })
  socketUser = user.id
  socket.onStatus((s) => {
    state.live = s
  })
}

auth.onChange(({ user }) => {
  state.user = user
  if (!user || user.id !== socketUser) closeSocket()
  if (user && !socket) openSocket(user)
  else socket?.tokenChanged()
})
