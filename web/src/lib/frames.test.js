import { describe, expect, it } from 'vitest'
import { encodeFrame, splitFrame } from './frames.js'

describe('splitFrame', () => {
  it.each([
    ['one object', '{"type":"ready"}', [{ type: 'ready' }]],
    [
      'objects packed on lines',
      '{"type":"message","id":1}\n{"type":"message","id":2}\n{"type":"ack","id":2}',
      [
        { type: 'message', id: 1 },
        { type: 'message', id: 2 },
        { type: 'ack', id: 2 },
      ],
    ],
    ['a trailing newline', '{"type":"ready"}\n', [{ type: 'ready' }]],
    ['CRLF line ends', '{"type":"a"}\r\n{"type":"b"}', [{ type: 'a' }, { type: 'b' }]],
    ['blank lines', '\n\n{"type":"a"}\n\n', [{ type: 'a' }]],
    ['an empty frame', '', []],
  ])('splits %s', (_, data, want) => {
    expect(splitFrame(data)).toEqual(want)
  })

  it('keeps the good lines around a bad one', () => {
    const data = '{"type":"a"}\nnot json\n{"type":"b"}\n[1,2]\n{"no":"type"}\n{"type":3}\nnull'
    expect(splitFrame(data)).toEqual([{ type: 'a' }, { type: 'b' }])
  })

  it('keeps a newline that is escaped inside a string', () => {
    const text = 'line one\nline two'
    const frame = encodeFrame({ type: 'message', message: text })
    expect(frame.includes('\n')).toBe(false)
    expect(splitFrame(frame)).toEqual([{ type: 'message', message: text }])
  })

  it('ignores binary data', () => {
    expect(splitFrame(new ArrayBuffer(4))).toEqual([])
  })
})
