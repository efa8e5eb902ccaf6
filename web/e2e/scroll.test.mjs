// Where the message list stays: a chat opens at its newest message; a
// reader at the bottom stays there as messages arrive and as the list
// grows late (a message drawn taller after the fact, as a font loading
// would); a reader who scrolled up is not moved by new messages and is
// offered a button saying how many arrived, which jumps down; and
// scrolling to the top loads older history with the view held still.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  apiUser,
  bottomGap,
  delivered,
  frames,
  launchBrowser,
  newContext,
  newPage,
  signInContext,
  startServer,
  withServerLog,
} from './harness.mjs'

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

// Scroll positions may be fractional; a pixel is the slack allowed.
const SLACK = 1

test('the list follows new messages at the bottom and leaves a reader alone above', async () => {
  const bob = await apiUser(server, 'bob')
  const uri = await bob.newChat()
  // More than one page of history (the newest 100 come first).
  for (let i = 1; i <= 130; i++) await bob.post(uri, `older line ${i}`)

  const context = await newContext(browser, server, { viewport: { width: 900, height: 700 } })
  await signInContext(context, 'erin')
  const { page, problems } = await newPage(context)
  await withServerLog(server, async () => {
    await page.goto(`/chat/${uri}`)
    await page.locator('.live.open').waitFor()
    await pinned(page, bob, uri)
    await readingAbove(page, bob, uri)
    await olderHistory(page)
  })
  assert.deepEqual(problems, [])
})

async function pinned(page, bob, uri) {
  // It opens at the newest message.
  await frames(page)
  assert.ok((await bottomGap(page)) <= SLACK, 'opens at the bottom')
  await delivered(page, 'older line 130').waitFor()

  // A new message keeps the view at the bottom.
  await bob.post(uri, 'fresh line one\nwith a second line')
  await delivered(page, 'fresh line one').waitFor()
  await frames(page)
  assert.ok((await bottomGap(page)) <= SLACK, 'follows a new message')

  // So does the list growing after it was drawn.
  await page
    .locator('.message-list .message')
    .last()
    .evaluate((el) => el.style.setProperty('padding-bottom', '240px'))
  await frames(page)
  assert.ok((await bottomGap(page)) <= SLACK, 'follows a late change of size')

  // A reader a few pixels short of the bottom counts as at the bottom.
  await page.locator('.messages').evaluate((el) => (el.scrollTop -= 4))
  await frames(page)
  await bob.post(uri, 'fresh line two')
  await delivered(page, 'fresh line two').waitFor()
  await frames(page)
  assert.ok((await bottomGap(page)) <= SLACK, 'follows from a few pixels above the bottom')
  assert.equal(await page.locator('.jump').count(), 0)
}

async function readingAbove(page, bob, uri) {
  // The reader scrolls up; new messages do not move the view.
  const list = page.locator('.messages')
  await list.evaluate((el) => (el.scrollTop -= 700))
  await frames(page)
  const top = await list.evaluate((el) => el.scrollTop)
  await bob.post(uri, 'while reading one')
  await bob.post(uri, 'while reading two')
  await delivered(page, 'while reading two').waitFor()
  await frames(page)
  assert.equal(await list.evaluate((el) => el.scrollTop), top, 'the view stays where it was')

  // A button says how many arrived, and jumps down.
  const jump = page.locator('.jump')
  await jump.waitFor()
  assert.match(await jump.textContent(), /2 new messages/)
  await jump.click()
  await frames(page)
  assert.ok((await bottomGap(page)) <= SLACK, 'the button jumps to the newest')
  await jump.waitFor({ state: 'detached' })
}

async function olderHistory(page) {
  const list = page.locator('.messages')
  const count = () => page.locator('.message-list .message').count()
  const before = await count()

  // At the very top, the first message shown is the anchor to watch.
  await list.evaluate((el) => (el.scrollTop = 0))
  const first = page.locator('.message-list .message').first()
  const id = await first.getAttribute('data-id')
  const anchor = page.locator(`.message-list .message[data-id="${id}"]`)
  const y = (await anchor.boundingBox()).y

  await page.waitForFunction((n) => document.querySelectorAll('.message').length > n, before)
  await frames(page)
  assert.equal(await count(), before + 30, 'the older page was added')
  const moved = (await anchor.boundingBox()).y - y
  assert.ok(Math.abs(moved) <= SLACK, `the view held still (moved ${moved}px)`)
  assert.ok((await list.evaluate((el) => el.scrollTop)) > 0)
  await delivered(page, 'older line 1').first().waitFor({ state: 'attached' })
}
