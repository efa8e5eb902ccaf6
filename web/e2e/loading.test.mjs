// Opening a chat's link shows the loader from the first paint until the
// chat is ready (members, history and the live subscription), and then
// the chat, complete: never "my chats" with its button to start a new
// chat, an empty message list, or anything else on the way. A chat that
// does not exist gets the error screen instead, after the same loader.
//
// An init script watches the page from before its first byte: a
// MutationObserver notes every screen (data-screen) added to the DOM,
// a check on every animation frame notes what was drawn, and a wrapper
// around WebSocket notes when the server confirmed the subscription.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  apiUser,
  launchBrowser,
  newContext,
  newPage,
  signInContext,
  startServer,
  withServerLog,
} from './harness.mjs'

const WATCH_SCREENS = `
window.__screens = []
window.__atFirstChat = null
window.__subscribed = false
const Native = window.WebSocket
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args)
    this.addEventListener('message', (e) => {
      if (String(e.data).includes('"type":"subscribed"')) window.__subscribed = true
    })
  }
}
const note = (name) => {
  if (window.__screens[window.__screens.length - 1] !== name) window.__screens.push(name)
  if (name === 'chat' && !window.__atFirstChat) {
    window.__atFirstChat = {
      messages: document.querySelectorAll('.message-list .message').length,
      live: document.querySelectorAll('.live.open').length,
      subscribed: window.__subscribed,
    }
  }
}
const scan = (node) => {
  if (node.nodeType !== 1) return
  if (node.hasAttribute('data-screen')) note(node.getAttribute('data-screen'))
  for (const el of node.querySelectorAll('[data-screen]')) note(el.getAttribute('data-screen'))
}
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes) scan(n)
}).observe(document, { childList: true, subtree: true })
const drawn = () => {
  if (document.documentElement) scan(document.documentElement)
  requestAnimationFrame(drawn)
}
requestAnimationFrame(drawn)
`

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

// seeded makes a chat of Bob's with messages in it.
async function seeded(count) {
  const bob = await apiUser(server, 'bob')
  const uri = await bob.newChat()
  for (let i = 1; i <= count; i++) await bob.post(uri, `message number ${i}`)
  return uri
}

test('a chat link shows the loader, then the whole chat, and nothing between', async () => {
  const uri = await seeded(30)
  const context = await newContext(browser, server, { scripts: [WATCH_SCREENS] })
  await signInContext(context, 'carol')
  const { page, problems } = await newPage(context)

  await withServerLog(server, async () => {
    // Carol is not yet a member: the loader covers joining too.
    await page.goto(`/chat/${uri}`)
    await page.locator('[data-screen="chat"]').waitFor()
    await page.locator('.live.open').waitFor()
    const screens = await page.evaluate(() => window.__screens)
    assert.deepEqual(screens, ['loader', 'chat'])
    const first = await page.evaluate(() => window.__atFirstChat)
    assert.deepEqual(
      first,
      { messages: 30, live: 1, subscribed: true },
      'the chat appears with its history, live and subscribed',
    )

    // Opening it again, now as a member, from a fresh page load.
    await page.reload()
    await page.locator('[data-screen="chat"]').waitFor()
    assert.deepEqual(await page.evaluate(() => window.__screens), ['loader', 'chat'])
    assert.equal(await page.locator('[data-screen="empty"]').count(), 0)
  })
  assert.deepEqual(problems, [])
})

test('a chat that does not exist shows the error screen after the loader', async () => {
  const context = await newContext(browser, server, { scripts: [WATCH_SCREENS] })
  await signInContext(context, 'dave')
  const { page, problems } = await newPage(context)

  await withServerLog(server, async () => {
    await page.goto('/chat/no-such-chat-0123456789')
    await page.locator('[data-screen="error"]').waitFor()
    assert.deepEqual(await page.evaluate(() => window.__screens), ['loader', 'error'])
    await page.getByRole('heading', { name: 'This chat cannot be opened' }).waitFor()
    const why = await page.locator('[data-screen="error"] [role="alert"]').textContent()
    assert.match(why, /does not exist/)

    // Its way out leads to the person's chats.
    await page.getByRole('link', { name: 'Go to my chats' }).click()
    await page.getByRole('heading', { name: 'My chats' }).waitFor()
  })
  assert.deepEqual(problems, [])
})

test('the loader is what a signed-out visitor sees before the sign-in page', async () => {
  const uri = await seeded(1)
  const context = await newContext(browser, server, { scripts: [WATCH_SCREENS] })
  const { page, problems } = await newPage(context)
  await page.goto(`/chat/${uri}`)
  await page.locator('[data-screen="signin"]').waitFor()
  assert.deepEqual(await page.evaluate(() => window.__screens), ['loader', 'signin'])
  assert.deepEqual(problems, [])
})
