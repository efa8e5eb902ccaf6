// Settings remembered per browser, in localStorage: shared by every tab
// of this site and kept across visits. Storage may be refused (private
// modes, disabled cookies); the setting then lasts for this page only.

const MUTED = 'parley.muted'

// safeStorage returns storage when it can be read and written, or an
// in-memory stand-in.
export function safeStorage(storage = globalThis.localStorage) {
  try {
    const probe = 'parley.probe'
    storage.setItem(probe, '1')
    storage.removeItem(probe)
    return storage
  } catch {
    const data = new Map()
    return {
      getItem: (k) => (data.has(k) ? data.get(k) : null),
      setItem: (k, v) => data.set(k, String(v)),
      removeItem: (k) => data.delete(k),
    }
  }
}

// createPrefs reads and writes the settings. onChange hears changes made
// here and in other tabs (through win's storage event).
export function createPrefs({ storage = safeStorage(), win = globalThis.window } = {}) {
  const listeners = new Set()
  const emit = () => listeners.forEach((fn) => fn())
  win?.addEventListener?.('storage', (ev) => {
    if (ev.key === MUTED) emit()
  })
  return {
    muted: () => storage.getItem(MUTED) === '1',
    setMuted(on) {
      if (on) storage.setItem(MUTED, '1')
      else storage.removeItem(MUTED)
      emit()
    },
    onChange(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
  }
}
