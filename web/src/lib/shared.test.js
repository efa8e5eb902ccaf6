import { describe, expect, it } from 'vitest'
import { createSharedRecord, memoryRecord } from './shared.js'

// fakeIndexedDB keeps one object store in memory and runs each
// transaction's callbacks on later tasks, as browsers do.
function fakeIndexedDB({ refuse = false } = {}) {
  const data = new Map()
  const later = (fn) => setTimeout(fn, 0)
  const db = {
    transaction: () => {
      const tx = {
        objectStore: () => ({
          get(key) {
            const req = {}
            later(() => {
              req.result = structuredClone(data.get(key))
              req.onsuccess()
              later(() => tx.oncomplete())
            })
            return req
          },
          put: (value, key) => data.set(key, structuredClone(value)),
        }),
      }
      return tx
    },
  }
  return {
    data,
    open() {
      const req = { result: db }
      later(() => (refuse ? req.onerror() : req.onsuccess()))
      return req
    },
  }
}

describe('createSharedRecord', () => {
  it('reads, changes and stores the record in one transaction', async () => {
    const indexedDB = fakeIndexedDB()
    const rec = createSharedRecord({ name: 'alerts', indexedDB })
    expect(await rec.update((r) => ((r.n = (r.n ?? 0) + 1), r.n))).toBe(1)
    expect(await rec.update((r) => ((r.n += 1), r.n))).toBe(2)
    expect(indexedDB.data.get('alerts')).toEqual({ n: 2 })
  })

  it('falls back when the database cannot be opened', async () => {
    let fell = 0
    const fallback = () => (fell++, memoryRecord())
    const indexedDB = fakeIndexedDB({ refuse: true })
    const rec = createSharedRecord({ name: 'a', indexedDB, fallback })
    await rec.update((r) => (r.x = 1))
    expect(await rec.update((r) => r.x)).toBe(1)
    expect(fell).toBe(1)
  })

  it('falls back where there is no IndexedDB', async () => {
    const rec = createSharedRecord({ name: 'a', indexedDB: undefined })
    expect(await rec.update((r) => ((r.y = 2), r.y))).toBe(2)
  })
})
