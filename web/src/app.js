// The client's single instances: HTTP, login state, the archiver API, the
// live socket and the alerts, wired together and exposed to the views as
// reactive state.
import { reactive } from 'vue'
import { createAlerts, createLedger } from './lib/alerts.js'
import { createApi } from './lib/api.js'
import { createAttention } from './lib/attention.js'
import { createAuth, REFRESH_PATH } from './lib/auth.js'
import { createChime } from './lib/chime.js'
import { createDesktop } from './lib/desktop.js'
import { createHttp } from './lib/http.js'
import { createPrefs, safeStorage } from './lib/prefs.js'
import { createSharedRecord } from './lib/shared.js'
import { chatPath } from './lib/routes.js'
import { createChatSocket, socketURL } from './lib/socket.js'
import { createTabs } from './lib/tabs.js'
import { navigate } from './router.js'

const request = createHttp()
const tabs = createTabs()
const storage = safeStorage()

export const auth = createAuth({
  request,
  refreshPath: import.meta.env.VITE_PARLEY_REFRESH_PATH || REFRESH_PATH,
  tabs,
})

export const api = createApi({ request, auth })

export const prefs = createPrefs({ storage })
export const desktop = createDesktop()
const attention = createAttention()

// state.user is the signed-in user or null; state.live is the socket's
// status (see createChatSocket); muted and notifications mirror the
// settings for the views.
export const state = reactive({
  user: null,
  live: 'idle',
  muted: prefs.muted(),
  notifications: desktop.permission(),
})
prefs.onChange(() => {
  state.muted = prefs.muted()
})

const BASE_TITLE = document.title

export const alerts = createAlerts({
  me: () => state.user,
  attention,
  ledger: createLedger({ record: createSharedRecord({ name: 'alerts' }) }),
  tab: tabs.id,
  chime: createChime(),
  desktop,
  muted: prefs.muted,
  title: (n) => {
    document.title = n > 0 ? `(${n}) ${BASE_TITLE}` : BASE_TITLE
  },
  open: (chat) => navigate(chatPath(chat)),
})

// A permission given or taken back in another tab, or in the browser's
// settings, shows here too.
navigator.permissions
  ?.query({ name: 'notifications' })
  .then((status) => {
    status.onchange = () => {
      state.notifications = desktop.permission()
    }
  })
  .catch(() => {
    // Browsers without this query show the change after a reload.
  })

// askNotifications asks for desktop notifications; call it from a click.
export async function askNotifications() {
  state.notifications = await desktop.ask()
}

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

// openSocket connects at once, so that a chat opened later finds the
// connection ready instead of waiting for its handshake.
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
  socket.start()
}

auth.onChange(({ user }) => {
  state.user = user
  if (!user || user.id !== socketUser) closeSocket()
  if (user && !socket) openSocket(user)
  else socket?.tokenChanged()
})

// A tab coming back from the background or a network coming back may
// find a renewal overdue and the socket waiting out its backoff.
function revive() {
  auth.refreshIfDue()
  socket?.wake()
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') revive()
})
window.addEventListener('online', revive)
window.addEventListener('pagehide', () => alerts.leave())
