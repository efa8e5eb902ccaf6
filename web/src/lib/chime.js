// A short two-note chime, synthesized with the Web Audio API: a sine
// tone that steps up a fifth, with a quick attack and a soft decay.
//
// Browsers let a page make sound only after the person has interacted
// with it, so the audio context is made (or resumed) on the first click
// or key press; a chime before that may stay silent.

// The notes, in hertz, and the envelope, in seconds.
const FIRST = 880
const SECOND = 1318.5
const STEP = 0.09
const ATTACK = 0.012
const LENGTH = 0.34
const PEAK = 0.16
// Exponential ramps cannot reach zero; this is silence for the ear.
const QUIET = 0.0001

// createChime returns { play }. doc gets the listeners that unlock audio.
export function createChime({
  AudioContext = globalThis.AudioContext ?? globalThis.webkitAudioContext,
  doc = globalThis.document,
} = {}) {
  let ctx = null

  function context() {
    if (!ctx && typeof AudioContext === 'function') ctx = new AudioContext()
    return ctx
  }

  function unlock() {
    try {
      const c = context()
      if (c?.state === 'suspended') c.resume().catch(() => {})
    } catch {
      // No audio on this device; the chime stays silent.
    }
    doc?.removeEventListener('pointerdown', unlock, true)
    doc?.removeEventListener('keydown', unlock, true)
  }
  doc?.addEventListener('pointerdown', unlock, true)
  doc?.addEventListener('keydown', unlock, true)

  // play sounds the chime once and reports whether it could.
  function play() {
    let c
    try {
      c = context()
    } catch {
      return false
    }
    if (!c) return false
    if (c.state === 'suspended') c.resume().catch(() => {})
    const t = c.currentTime
    const osc = c.createOscillator()
    const gain = c.createGain()
    osc.type = 'sine'
    osc.frequency.setValueAtTime(FIRST, t)
    osc.frequency.setValueAtTime(SECOND, t + STEP)
    gain.gain.setValueAtTime(QUIET, t)
    gain.gain.exponentialRampToValueAtTime(PEAK, t + ATTACK)
    gain.gain.exponentialRampToValueAtTime(QUIET, t + LENGTH)
    osc.connect(gain)
    gain.connect(c.destination)
    osc.start(t)
    osc.stop(t + LENGTH + 0.02)
    return true
  }

  return { play }
}
