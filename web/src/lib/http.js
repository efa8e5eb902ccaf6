// The one place that talks HTTP to the server: JSON in, JSON out, the
// contract's Authorization scheme, and failures as ApiError or
// NetworkError.
import { ApiError, NetworkError } from './errors.js'

// createHttp returns request(method, path, { body, token, signal }),
// which resolves to the parsed JSON answer (null for an empty one).
export function createHttp({ fetch = (...a) => globalThis.fetch(...a), base = '' } = {}) {
  return async function request(method, path, { body, token, signal } = {}) {
    const init = { method, headers: { Accept: 'application/json' }, signal }
    // Same origin only: the refresh cookie must travel with the refresh
    // call, and no other site may receive it.
    init.credentials = 'same-origin'
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    if (token) init.headers.Authorization = `JWT ${token}`
    let res
    try {
      res = await fetch(base + path, init)
    } catch (err) {
      if (err?.name === 'AbortError') throw err
      throw new NetworkError(err)
    }
    const data = await readJSON(res)
    if (!res.ok) throw new ApiError(res.status, data)
    return data
  }
}

async function readJSON(res) {
  const text = await res.text()
  if (text === '') return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
