// Turning API failures into sentences placed where a person looks for
// them: beside the field they concern, or above the form.

// NETWORK_ERROR is shown when no answer came back at all.
export const NETWORK_ERROR = 'Cannot reach the server. Check your connection and try again.'

// ApiError is an answer with a status outside 2xx; body is its parsed JSON
// (or null when it was not JSON).
export class ApiError extends Error {
  constructor(status, body) {
    super(summary(status, body))
    this.name = 'ApiError'
    this.status = status
    this.body = body
  }
}

// NetworkError means the request never got an answer.
export class NetworkError extends Error {
  constructor(cause) {
    super(NETWORK_ERROR, { cause })
    this.name = 'NetworkError'
  }
}

function summary(status, body) {
  if (body && typeof body.detail === 'string') return body.detail
  return `The server answered with status ${status}.`
}

// formErrors maps an error to { fields, form } for a form whose inputs are
// named in `fields`: each field's sentences go beside it; non_field_errors,
// `detail`, and errors about fields the form does not show go above it.
export function formErrors(err, fields = []) {
  const result = { fields: {}, form: [] }
  if (!(err instanceof ApiError)) {
    result.form.push(err instanceof NetworkError ? NETWORK_ERROR : String(err?.message || err))
    return result
  }
  const body = err.body
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    result.form.push(err.message)
    return result
  }
  for (const [key, value] of Object.entries(body)) {
    const sentences = toSentences(value)
    if (sentences.length === 0) continue
    if (fields.includes(key)) {
      result.fields[key] = sentences
    } else if (key === 'non_field_errors' || key === 'detail') {
      result.form.push(...sentences)
    } else {
      result.form.push(...sentences.map((s) => `${key}: ${s}`))
    }
  }
  if (result.form.length === 0 && Object.keys(result.fields).length === 0) {
    result.form.push(err.message)
  }
  return result
}

function toSentences(value) {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.filter((v) => typeof v === 'string')
  return []
}

// errorText is one sentence for places that have no form.
export function errorText(err) {
  return formErrors(err).form.join(' ')
}
