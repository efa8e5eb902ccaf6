// A small record shared by every tab of this site, changed atomically:
// update(fn) reads it, lets fn change it in place, writes it back, and
// no other tab's update runs in between or reads a stale copy.
//
// IndexedDB gives exactly that: its read-write transactions on one store
// run one at a time across tabs, against the browser's single copy.
// localStorage does not, even under a Web Lock: Chromium hands each tab
// a cached copy and spreads changes between tabs asynchronously, so two
// tabs can both read the value from before either wrote.

// createSharedRecord keeps the record named name. Where IndexedDB is
// missing or refuses to open (some private modes), it falls back to
// fallback(), by default a record of this tab alone: each tab then
// decides for itself, which costs at worst a sound per tab.
export function createSharedRecord({
  name,
  indexedDB = globalThis.indexedDB,
  fallback = () => memoryRecord(),
}) {
  let opening = null
  let fellBack = null

  function open() {
    opening ??= new Promise((resolve, reject) => {
      const req = indexedDB.open('parley', 1)
      req.onupgradeneeded = () => req.result.createObjectStore('shared')
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
      req.onblocked = () => reject(new Error('the shared database is blocked'))
    })
    return opening
  }

  async function update(fn) {
    if (fellBack) return fellBack.update(fn)
    let db
    try {
      if (!indexedDB) throw new Error('no IndexedDB')
      db = await open()
    } catch {
      fellBack = fallback()
      return fellBack.update(fn)
    }
    return transact(db, name, fn)
  }

  return { update }
}

function transact(db, key, fn) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction('shared', 'readwrite')
    const store = tx.objectStore('shared')
    const get = store.get(key)
    let result
    get.onsuccess = () => {
      const record = get.result ?? {}
      result = fn(record)
      store.put(record, key)
    }
    tx.oncomplete = () => resolve(result)
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error)
  })
}

// memoryRecord is a record of this tab alone.
export function memoryRecord() {
  const record = {}
  return { update: async (fn) => fn(record) }
}
