// Two people chat: they sign up through the client (the server's field
// errors shown beside their fields), one starts a chat and copies its
// link, the other opens it signed out, signs up and lands in the chat,
// and each sees the other's messages arrive live, as text, on the proper
// side, with times in their own time zone. Signing out revokes the
// login: its refresh token no longer works anywhere.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  delivered,
  launchBrowser,
  messageIds,
  newContext,
  newPage,
  sendMessage,
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

async function signUp(page, username, password) {
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign up' }).click()
}

const members = (page) => page.locator('.member-list li').allTextContents()

test('two people chat live through a shared link', async () => {
  const permissions = ['clipboard-read', 'clipboard-write']
  const ca = await newContext(browser, server, { permissions })
  const cb = await newContext(browser, server, { timezoneId: 'Asia/Kolkata' })
  const alice = await newPage(ca)
  const bob = await newPage(cb)
  await withServerLog(server, () => converse(ca, alice.page, bob.page))
  assert.deepEqual([...alice.problems, ...bob.problems], [], 'the pages met unexpected errors')
})

async function converse(ca, pa, pb) {
  // Alice signs up; the server's field error shows beside its field.
  await pa.goto('/signup')
  await signUp(pa, 'alice', '12345678')
  const pwError = pa.locator('#password-errors p').first()
  await pwError.waitFor()
  assert.match(await pwError.textContent(), /\S/)
  assert.equal(await pa.locator('#username-errors p').count(), 0)
  assert.equal(new URL(pa.url()).pathname, '/signup')
  await signUp(pa, 'alice', 'lantern-orbit-59')
  await pa.getByRole('heading', { name: 'My chats' }).waitFor()

  // She starts a chat and copies its share link.
  await pa.getByRole('button', { name: 'Start a new chat' }).click()
  await pa.waitForURL(/\/chat\/[A-Za-z0-9._~-]+$/)
  const uri = new URL(pa.url()).pathname.split('/')[2]
  const link = await pa.getByLabel('Share this link').inputValue()
  assert.equal(link, `${server.base}/chat/${uri}`)
  assert.deepEqual(await members(pa), ['alice (owner)'])
  await pa.bringToFront()
  await pa.getByRole('button', { name: 'Copy link' }).click()
  await pa.getByText('Link copied.').waitFor()
  assert.equal(await pa.evaluate(() => navigator.clipboard.readText()), link)

  // Bob opens the link signed out, is sent to sign in, signs up instead,
  // and lands in the chat as a member.
  await pb.goto(link)
  await pb.waitForURL(
    (u) => u.pathname === '/signin' && u.searchParams.get('next') === `/chat/${uri}`,
  )
  await pb.getByRole('link', { name: 'Create an account' }).click()
  await pb.waitForURL((u) => u.pathname === '/signup')
  await signUp(pb, 'bob', 'meadow-quartz-73')
  await pb.waitForURL((u) => u.pathname === `/chat/${uri}`)
  await pb.locator('.member-list li', { hasText: 'bob' }).waitFor()
  assert.deepEqual(await members(pb), ['alice (owner)', 'bob'])
  await pa.locator('.live.open').waitFor()
  await pb.locator('.live.open').waitFor()

  // Neither page may reload from here on: a reload would drop this mark.
  for (const p of [pa, pb]) await p.evaluate(() => (window.parleyMark = 'still here'))

  // Alice's message reaches Bob live, as text and not as markup.
  const fromAlice = 'Hello Bob <b>not bold</b> & welcome'
  await sendMessage(pa, fromAlice)
  await delivered(pb, 'Hello Bob').waitFor()
  assert.equal(await delivered(pb, 'Hello Bob').textContent(), fromAlice)
  assert.equal(await pb.locator('.message-list b').count(), 0)
  await delivered(pa, 'Hello Bob').waitFor()
  assert.equal(await pa.locator('.message.outgoing').count(), 0)

  // Bob's reply reaches Alice live, and his arrival shows in her members.
  await sendMessage(pb, 'Hi Alice, Bob here')
  await delivered(pa, 'Hi Alice, Bob here').waitFor()
  await pa.locator('.member-list li', { hasText: 'bob' }).waitFor()
  assert.deepEqual(await members(pa), ['alice (owner)', 'bob'])
  for (const p of [pa, pb]) assert.equal(await p.evaluate(() => window.parleyMark), 'still here')

  // Both see the same two messages, once each, in the same order.
  await delivered(pb, 'Hi Alice, Bob here').waitFor()
  const ids = await messageIds(pa)
  assert.equal(ids.length, 2)
  assert.ok(ids[0] < ids[1], `ids ascend: ${ids}`)
  assert.deepEqual(await messageIds(pb), ids)

  await ownMessagesOnTheRight(pa, 'Hello Bob', 'Hi Alice')
  await ownMessagesOnTheRight(pb, 'Hi Alice', 'Hello Bob')
  await timesInTheReadersZone(pb, 'Asia/Kolkata')

  // A reload keeps Alice signed in (the refresh cookie renews her token),
  // shows the history, and follows the chat live again.
  await pa.reload()
  await delivered(pa, 'Hi Alice, Bob here').waitFor()
  assert.deepEqual(await messageIds(pa), ids)
  await pa.locator('.live.open').waitFor()
  await sendMessage(pb, 'Still there?')
  await delivered(pa, 'Still there?').waitFor()
  await sendMessage(pa, 'Yes, after a reload.')
  await delivered(pb, 'Yes, after a reload.').waitFor()
  assert.equal((await messageIds(pa)).length, 4)

  // Her chat list links to the chat.
  await pa.getByRole('link', { name: 'Parley' }).click()
  await pa.getByRole('heading', { name: 'My chats' }).waitFor()
  assert.equal(await pa.locator(`.chat-list a[href="/chat/${uri}"]`).count(), 1)

  await signOutRevokes(ca, pa, uri)
}

// ownMessagesOnTheRight checks that the reader's own message sits to the
// right of the other person's.
async function ownMessagesOnTheRight(page, own, theirs) {
  const box = (text) => page.locator('.message', { hasText: text }).boundingBox()
  const [mine, other] = [await box(own), await box(theirs)]
  assert.ok(mine.x + mine.width > other.x + other.width + 20, 'own message ends further right')
  assert.ok(mine.x > other.x, 'own message starts further right')
}

// timesInTheReadersZone compares each shown time with the message's time
// of day in zone, which this browser context was given as its own.
async function timesInTheReadersZone(page, zone) {
  const times = await page.locator('.message time').evaluateAll((els) =>
    els.map((e) => [e.getAttribute('datetime'), e.textContent.trim()]),
  )
  assert.ok(times.length > 0)
  for (const [iso, shown] of times) {
    const opts = { hour: '2-digit', minute: '2-digit' }
    const local = new Date(iso).toLocaleTimeString('en-US', { ...opts, timeZone: zone })
    const utc = new Date(iso).toLocaleTimeString('en-US', { ...opts, timeZone: 'UTC' })
    assert.ok(shown.endsWith(local), `${shown} is ${iso} in ${zone}`)
    assert.notEqual(local, utc)
  }
}

// signOutRevokes signs Alice out and checks that the login is gone:
// a reload does not bring it back, and the refresh token the browser
// held is refused by the server.
async function signOutRevokes(ca, pa, uri) {
  const cookie = (await ca.cookies()).find((c) => c.name === 'parley_refresh')
  assert.ok(cookie, 'the refresh cookie is set')
  assert.equal(cookie.path, '/auth/jwt/refresh/')
  assert.equal(cookie.httpOnly, true)

  await pa.getByRole('button', { name: 'Sign out' }).click()
  await pa.waitForURL((u) => u.pathname === '/signin')
  await pa.reload()
  await pa.getByRole('button', { name: 'Sign in' }).waitFor()
  assert.equal(await pa.locator('[data-role="me"]').count(), 0)
  await pa.goto(`/chat/${uri}`)
  await pa.waitForURL((u) => u.pathname === '/signin')

  const res = await fetch(`${server.base}/auth/jwt/refresh/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh: cookie.value }),
  })
  assert.equal(res.status, 401, 'the signed-out login cannot be refreshed')
}
