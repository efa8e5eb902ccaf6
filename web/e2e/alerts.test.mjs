// Alerts for messages that arrive while the person is not looking. Init
// scripts let the test decide whether each tab is visible and focused
// (overriding document.visibilityState and hasFocus and dispatching the
// events a browser would), count the chimes by counting the starts of
// Web Audio sources, and stand in for desktop notifications, which
// headless Chromium cannot show.
//
// Ann has two tabs on the chat; Bob writes through the API. Each sound
// must come once for the whole browser, for others' messages only, and
// not while a tab looks at the chat; the title counts unread messages
// until the tab is looked at; the mute switch silences sounds and is
// remembered; notification permission is asked only on a click.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  apiUser,
  delivered,
  launchBrowser,
  newContext,
  newPage,
  sendMessage,
  signInContext,
  sleep,
  startServer,
  withServerLog,
} from './harness.mjs'

const EMULATE_ATTENTION = `
let visible = true
let focused = true
Object.defineProperty(Document.prototype, 'visibilityState', {
  configurable: true,
  get: () => (visible ? 'visible' : 'hidden'),
})
Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => !visible })
Document.prototype.hasFocus = () => focused
window.__attend = (v, f) => {
  visible = v
  focused = f
  document.dispatchEvent(new Event('visibilitychange'))
  window.dispatchEvent(new Event(f ? 'focus' : 'blur'))
}
`

const COUNT_SOUNDS = `
window.__sounds = 0
const start = AudioScheduledSourceNode.prototype.start
AudioScheduledSourceNode.prototype.start = function (...args) {
  window.__sounds++
  return start.apply(this, args)
}
`

const FAKE_NOTIFICATIONS = `
window.__notes = { asked: 0, shown: [] }
class FakeNotification {
  constructor(title, options) {
    window.__notes.shown.push({ title, body: options && options.body })
  }
  close() {}
}
// Permission belongs to the site, as in browsers: every tab sees it.
Object.defineProperty(FakeNotification, 'permission', {
  get: () => localStorage.getItem('test.permission') || 'default',
})
FakeNotification.requestPermission = async () => {
  window.__notes.asked++
  localStorage.setItem('test.permission', 'granted')
  return 'granted'
}
window.Notification = FakeNotification
`

// SOUND_GAP in lib/alerts.js is 2 s; waiting longer between cases makes
// sure a missing sound is the rule at work, not the gap.
const PAST_GAP = 2300
// QUIET is how long to listen for a sound that must not come.
const QUIET = 700

let server
let browser

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.close()
})

test('alerts come once, for others’ messages, only while nobody looks', async () => {
  const bob = await apiUser(server, 'bob')
  const uri = await bob.newChat()
  await bob.post(uri, 'history is never announced')
  const context = await newContext(browser, server, {
    scripts: [EMULATE_ATTENTION, COUNT_SOUNDS, FAKE_NOTIFICATIONS],
  })
  await signInContext(context, 'ann')
  const one = await newPage(context)
  const two = await newPage(context)
  const t1 = one.page
  const t2 = two.page
  const sounds = async () => (await t1.evaluate(() => window.__sounds)) +
    (await t2.evaluate(() => window.__sounds))
  const shown = async () => [
    ...(await t1.evaluate(() => window.__notes.shown)),
    ...(await t2.evaluate(() => window.__notes.shown)),
  ]
  const titles = async () => [await t1.title(), await t2.title()]

  await withServerLog(server, async () => {
    for (const t of [t1, t2]) {
      await t.goto(`/chat/${uri}`)
      await t.locator('.live.open').waitFor()
    }
    assert.equal(await sounds(), 0, 'history makes no sound')

    // Permission is asked on a click, not on load.
    assert.equal(await t1.evaluate(() => window.__notes.asked), 0)
    await t1.getByRole('button', { name: 'Desktop alerts' }).click()
    await t1.getByText('Desktop alerts on').waitFor()
    assert.equal(await t1.evaluate(() => window.__notes.asked), 1)

    // Tab one is hidden, tab two visible but unfocused: one sound in all.
    await t1.evaluate(() => window.__attend(false, false))
    await t2.evaluate(() => window.__attend(true, false))
    await bob.post(uri, 'are you there?')
    for (const t of [t1, t2]) await delivered(t, 'are you there?').waitFor()
    await t1.waitForFunction(() => document.title === '(1) Parley')
    await t2.waitForFunction(() => document.title === '(1) Parley')
    await waitFor(async () => (await sounds()) >= 1)
    await sleep(QUIET)
    assert.equal(await sounds(), 1, 'one sound, not one per tab')
    const notes = await shown()
    assert.equal(notes.length, 1, 'one desktop notification')
    assert.match(notes[0].body, /are you there\?/)

    // Her own message, sent from a hidden tab, makes no sound.
    await sleep(PAST_GAP)
    await sendMessage(t1, 'my own words')
    await delivered(t2, 'my own words').waitFor()
    await sleep(QUIET)
    assert.equal(await sounds(), 1, 'no sound for one’s own message')
    assert.deepEqual(await titles(), ['(1) Parley', '(1) Parley'])

    // Looking at tab one clears its count; its chat is watched now, so
    // neither tab makes a sound for the next message.
    await t1.evaluate(() => window.__attend(true, true))
    await t1.waitForFunction(() => document.title === 'Parley')
    await bob.post(uri, 'seen at once')
    for (const t of [t1, t2]) await delivered(t, 'seen at once').waitFor()
    await sleep(QUIET)
    assert.equal(await sounds(), 1, 'no sound while a tab looks at the chat')
    assert.deepEqual(await titles(), ['Parley', '(2) Parley'])

    // Muted, a message away from view counts but makes no sound.
    await t1.getByRole('switch', { name: 'Sound on' }).click()
    await t1.getByRole('switch', { name: 'Sound off' }).waitFor()
    await t1.evaluate(() => window.__attend(false, false))
    await sleep(PAST_GAP)
    await bob.post(uri, 'quietly now')
    await delivered(t1, 'quietly now').waitFor()
    await t1.waitForFunction(() => document.title === '(1) Parley')
    await sleep(QUIET)
    assert.equal(await sounds(), 1, 'no sound when muted')

    // The switch is remembered by the browser, in every tab.
    await t2.getByRole('switch', { name: 'Sound off' }).waitFor()
    await t2.reload()
    await t2.getByRole('switch', { name: 'Sound off' }).waitFor()
  })
  assert.deepEqual([...one.problems, ...two.problems], [])
})

async function waitFor(check, ms = 5000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await sleep(50)
  }
}
