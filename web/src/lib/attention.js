// Whether the person is looking at this tab: it is visible and has the
// keyboard focus. A visible tab in a window behind another application
// is not being looked at.

// createAttention follows doc's visibility and win's focus. onChange
// listeners hear every change.
export function createAttention({ doc = globalThis.document, win = globalThis.window } = {}) {
  const listeners = new Set()
  let last = compute()

  function compute() {
    return doc.visibilityState === 'visible' && doc.hasFocus()
  }

  function update() {
    const now = compute()
    if (now === last) return
    last = now
    for (const fn of listeners) fn(now)
  }

  doc.addEventListener('visibilitychange', update)
  win.addEventListener('focus', update)
  win.addEventListener('blur', update)

  return {
    // attentive reads the page afresh: an event may still be on its way.
    attentive() {
      update()
      return last
    },
    onChange(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
  }
}
