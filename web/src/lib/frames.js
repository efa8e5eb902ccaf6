// WebSocket frames as the server speaks them: one JSON object per line,
// several lines packed into one frame when messages were waiting.

// splitFrame returns the objects carried by one text frame, in order. A
// line that is not a JSON object with a string `type` is skipped, so one
// bad line cannot hide the good ones packed beside it.
export function splitFrame(data) {
  if (typeof data !== 'string') return []
  const out = []
  for (const line of data.split('\n')) {
    const obj = parseLine(line)
    if (obj) out.push(obj)
  }
  return out
}

function parseLine(line) {
  const text = line.trim()
  if (text === '') return null
  let obj
  try {
    obj = JSON.parse(text)
  } catch {
    return null
  }
  const isObject = obj !== null && typeof obj === 'object' && !Array.isArray(obj)
  return isObject && typeof obj.type === 'string' ? obj : null
}

// encodeFrame is the text of one client frame. JSON.stringify escapes any
// newline inside a string, so the result is always exactly one line.
export function encodeFrame(obj) {
  return JSON.stringify(obj)
}
