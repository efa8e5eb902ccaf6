// A small router over the History API: real paths, no hash, no library.
// The current route is reactive; views read it and call navigate.
import { shallowRef } from 'vue'
import { parseRoute } from './lib/routes.js'

function current() {
  const { pathname, search } = window.location
  return {
    ...parseRoute(pathname),
    query: new URLSearchParams(search),
    path: pathname + search,
  }
}

// route is the page being shown: { name, params, query, path }.
export const route = shallowRef(current())

window.addEventListener('popstate', () => {
  route.value = current()
})

// navigate shows the page at path; replace keeps the browser's back
// button from returning to a page that only redirected.
export function navigate(path, { replace = false } = {}) {
  if (replace) window.history.replaceState(null, '', path)
  else window.history.pushState(null, '', path)
  route.value = current()
  if (!replace) window.scrollTo(0, 0)
}

// followLink is a click handler for same-site links that leaves clicks
// meant for a new tab or window to the browser.
export function followLink(event, path) {
  if (event.defaultPrevented || event.button !== 0) return
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  event.preventDefault()
  navigate(path)
}
