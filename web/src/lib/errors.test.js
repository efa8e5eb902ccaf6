import { describe, expect, it } from 'vitest'
import { ApiError, NETWORK_ERROR, NetworkError, errorText, formErrors } from './errors.js'

const fields = ['username', 'password', 'email']

describe('formErrors', () => {
  it('puts field errors beside their fields', () => {
    const err = new ApiError(400, {
      username: ['A user with that username already exists.'],
      password: ['This password is too short.', 'This password is entirely numeric.'],
    })
    expect(formErrors(err, fields)).toEqual({
      fields: {
        username: ['A user with that username already exists.'],
        password: ['This password is too short.', 'This password is entirely numeric.'],
      },
      form: [],
    })
  })

  it('puts non_field_errors above the form', () => {
    const sentence = 'Unable to log in with provided credentials.'
    const err = new ApiError(400, { non_field_errors: [sentence] })
    expect(formErrors(err, fields)).toEqual({
      fields: {},
      form: [sentence],
    })
  })

  it('puts detail above the form', () => {
    const detail = 'Request was throttled. Expected available in 7 seconds.'
    expect(formErrors(new ApiError(429, { detail }), fields).form).toEqual([detail])
  })

  it('names a field the form does not show', () => {
    const err = new ApiError(400, { client_id: ['Too long.'], username: ['Taken.'] })
    expect(formErrors(err, fields)).toEqual({
      fields: { username: ['Taken.'] },
      form: ['client_id: Too long.'],
    })
  })

  it('accepts a lone string where a list is expected', () => {
    expect(formErrors(new ApiError(400, { email: 'Enter a valid email address.' }), fields).fields)
      .toEqual({ email: ['Enter a valid email address.'] })
  })

  it.each([
    ['no body', null],
    ['a body with nothing usable', { username: [1, 2] }],
    ['a list body', ['x']],
  ])('falls back to the status for %s', (_, body) => {
    expect(formErrors(new ApiError(502, body), fields)).toEqual({
      fields: {},
      form: ['The server answered with status 502.'],
    })
  })

  it('explains a network failure', () => {
    expect(formErrors(new NetworkError(new TypeError('Failed to fetch')), fields)).toEqual({
      fields: {},
      form: [NETWORK_ERROR],
    })
  })
})

describe('errorText', () => {
  it('is the detail sentence', () => {
    const detail = 'You do not have permission to perform this action.'
    expect(errorText(new ApiError(403, { detail }))).toBe(detail)
  })
})
