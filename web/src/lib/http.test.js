import { describe, expect, it } from 'vitest'
import { createHttp } from './http.js'
import { ApiError, NetworkError } from './errors.js'

function fakeFetch(answer) {
  const calls = []
  const fetch = async (url, init) => {
    calls.push({ url, init })
    if (answer instanceof Error) throw answer
    return new Response(answer.body ?? null, { status: answer.status ?? 200 })
  }
  return { fetch, calls }
}

describe('createHttp', () => {
  it('sends JSON with the JWT scheme and same-origin cookies', async () => {
    const { fetch, calls } = fakeFetch({ body: '{"ok":true}' })
    const request = createHttp({ fetch })
    const answer = await request('POST', '/api/chats/', { body: { a: 1 }, token: 'tok' })
    expect(answer).toEqual({ ok: true })
    const { url, init } = calls[0]
    expect(url).toBe('/api/chats/')
    expect(init.method).toBe('POST')
    expect(init.body).toBe('{"a":1}')
    expect(init.credentials).toBe('same-origin')
    expect(init.headers).toMatchObject({
      Authorization: 'JWT tok',
      'Content-Type': 'application/json',
    })
  })

  it('sends no body and no auth when given none', async () => {
    const { fetch, calls } = fakeFetch({ status: 204 })
    expect(await createHttp({ fetch })('GET', '/x')).toBeNull()
    expect(calls[0].init.body).toBeUndefined()
    expect(calls[0].init.headers.Authorization).toBeUndefined()
  })

  it('turns an error status into ApiError with the body', async () => {
    const { fetch } = fakeFetch({ status: 400, body: '{"username":["Taken."]}' })
    const err = await createHttp({ fetch })('POST', '/auth/users/', { body: {} }).catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(400)
    expect(err.body).toEqual({ username: ['Taken.'] })
  })

  it('keeps an error status whose body is not JSON', async () => {
    const { fetch } = fakeFetch({ status: 502, body: '<html>bad gateway</html>' })
    const err = await createHttp({ fetch })('GET', '/x').catch((e) => e)
    expect(err).toMatchObject({ status: 502, body: null })
  })

  it('turns a failed fetch into NetworkError', async () => {
    const { fetch } = fakeFetch(new TypeError('Failed to fetch'))
    await expect(createHttp({ fetch })('GET', '/x')).rejects.toBeInstanceOf(NetworkError)
  })
})
