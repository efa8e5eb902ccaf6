import { describe, expect, it } from 'vitest'
import { parseRoute, safeNext, shareLink, withNext } from './routes.js'

describe('parseRoute', () => {
  it.each([
    ['/', 'chats', {}],
    ['', 'chats', {}],
    ['/signin', 'signin', {}],
    ['/signup/', 'signup', {}],
    ['/chat/AbC_d-9', 'chat', { uri: 'AbC_d-9' }],
    ['/chat/AbC_d-9/', 'chat', { uri: 'AbC_d-9' }],
    ['/chat/', 'notFound', {}],
    ['/chat/a/b', 'notFound', {}],
    ['/chat/%3Cx%3E', 'notFound', {}],
    ['/elsewhere', 'notFound', {}],
  ])('maps %j', (path, name, params) => {
    expect(parseRoute(path)).toEqual({ name, params })
  })
})

describe('safeNext', () => {
  it.each([
    ['/chat/abc', '/chat/abc'],
    ['/', '/'],
    [null, '/'],
    ['', '/'],
    ['https://evil.example/', '/'],
    ['//evil.example/chat/abc', '/'],
    ['/\\evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['/nowhere', '/'],
  ])('takes %j as %j', (next, want) => {
    expect(safeNext(next)).toBe(want)
  })
})

describe('withNext', () => {
  it('carries a chat path through sign-in', () => {
    expect(withNext('/signin', '/chat/abc')).toBe('/signin?next=%2Fchat%2Fabc')
    expect(withNext('/signin', '/')).toBe('/signin')
    expect(withNext('/signup', '//evil.example')).toBe('/signup')
  })
})

describe('shareLink', () => {
  it('is the origin and the chat path', () => {
    expect(shareLink('https://chat.example', 'xyz')).toBe('https://chat.example/chat/xyz')
  })
})
