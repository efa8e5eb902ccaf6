import { describe, expect, it } from 'vitest'
import { createChime } from './chime.js'

// fakeAudio records what the chime asks of the Web Audio API.
function fakeAudio({ state = 'running' } = {}) {
  const log = { contexts: 0, starts: [], resumes: 0, steps: [] }
  const param = () => ({
    setValueAtTime: (v, t) => log.steps.push(['set', v, t]),
    exponentialRampToValueAtTime: (v, t) => log.steps.push(['ramp', v, t]),
  })
  class AudioContext {
    constructor() {
      log.contexts++
      this.state = state
      this.currentTime = 3
      this.destination = {}
    }
    resume() {
      log.resumes++
      this.state = 'running'
      return Promise.resolve()
    }
    createOscillator() {
      return {
        frequency: param(),
        connect: () => {},
        start: (t) => log.starts.push(t),
        stop: () => {},
      }
    }
    createGain() {
      return { gain: param(), connect: () => {} }
    }
  }
  return { AudioContext, log }
}

function fakeDoc() {
  const handlers = new Map()
  return {
    addEventListener: (type, fn) => handlers.set(type, fn),
    removeEventListener: (type) => handlers.delete(type),
    fire: (type) => handlers.get(type)?.(),
    handlers,
  }
}

describe('createChime', () => {
  it('plays one short tone, made on the spot', () => {
    const { AudioContext, log } = fakeAudio()
    const chime = createChime({ AudioContext, doc: fakeDoc() })
    expect(chime.play()).toBe(true)
    expect(log.starts).toEqual([3])
    const ends = log.steps.filter((s) => s[0] === 'ramp').map((s) => s[2])
    expect(Math.max(...ends) - 3).toBeLessThan(0.5)
  })

  it('prepares audio on the first key press or click, once', () => {
    const { AudioContext, log } = fakeAudio({ state: 'suspended' })
    const doc = fakeDoc()
    createChime({ AudioContext, doc })
    expect(log.contexts).toBe(0)
    doc.fire('keydown')
    expect([log.contexts, log.resumes]).toEqual([1, 1])
    expect(doc.handlers.size).toBe(0)
  })

  it('reports that it cannot play without Web Audio', () => {
    expect(createChime({ AudioContext: undefined, doc: fakeDoc() }).play()).toBe(false)
  })
})
