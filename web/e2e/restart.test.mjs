// The server goes away in the middle of a conversation: the all-in-one
// process is stopped and started again on the same port and data
// folder. Meanwhile both pages say they are offline, and each person
// writes a message that waits, shown as pending. Afterwards the pages
// reconnect by themselves, the waiting messages are delivered, and
// every message is there exactly once, in the same order on both pages
// and in the server's history: nothing lost, nothing shown twice.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  delivered,
  launchBrowser,
  messageIds,
  messageTexts,
  newContext,
  newPage,
  sendMessage,
  signInContext,
  startServer,
  withServerLog,
} from './harness.mjs'

// While the server is down the browser reports the refused socket.
const allow = [/WebSocket connection to .* failed/]

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

test('a server restart loses nothing and shows nothing twice', async () => {
  const ca = await newContext(browser, server)
  const cb = await newContext(browser, server)
  await signInContext(ca, 'ann')
  await signInContext(cb, 'bob')
  const a = await newPage(ca, { allow })
  const b = await newPage(cb, { allow })
  const [pa, pb] = [a.page, b.page]
  const said = []
  const say = async (page, text) => {
    said.push(text)
    await sendMessage(page, text)
  }

  await withServerLog(server, async () => {
    await pa.goto('/')
    await pa.getByRole('button', { name: 'Start a new chat' }).click()
    await pa.waitForURL(/\/chat\//)
    const uri = new URL(pa.url()).pathname.split('/')[2]
    await pb.goto(`/chat/${uri}`)
    for (const p of [pa, pb]) await p.locator('.live.open').waitFor()
    for (const p of [pa, pb]) await p.evaluate(() => (window.parleyMark = 'not reloaded'))

    for (let i = 1; i <= 3; i++) {
      await say(i % 2 ? pa : pb, `before the restart ${i}`)
      for (const p of [pa, pb]) await delivered(p, `before the restart ${i}`).waitFor()
    }

    // One last message races the shutdown: it may or may not be stored
    // before the server stops, and must end up there once either way.
    await say(pa, 'sent as the server stops')
    await server.stop()
    for (const p of [pa, pb]) await p.locator('[data-role="offline"]').waitFor()

    await say(pa, 'written while offline by ann')
    await say(pb, 'written while offline by bob')
    await pa.locator('.message.pending', { hasText: 'written while offline by ann' }).waitFor()
    await pb.locator('.message.pending', { hasText: 'written while offline by bob' }).waitFor()

    await server.restart()
    for (const p of [pa, pb]) {
      await p.locator('.live.open').waitFor({ timeout: 30_000 })
      await p.locator('[data-role="offline"]').waitFor({ state: 'detached' })
      for (const text of said) await delivered(p, text).waitFor()
      await p.locator('.message.outgoing').first().waitFor({ state: 'detached' })
    }

    // And the conversation goes on.
    await say(pb, 'after the restart')
    for (const p of [pa, pb]) await delivered(p, 'after the restart').waitFor()

    const ids = await messageIds(pa)
    assert.equal(new Set(ids).size, ids.length, `no id twice: ${ids}`)
    assert.deepEqual(await messageIds(pb), ids, 'both pages show the same messages')
    const texts = await messageTexts(pa)
    assert.deepEqual([...texts].sort(), [...said].sort(), 'every message once')

    const history = await fetch(`${server.base}/api/chats/${uri}/messages/`, {
      headers: { Authorization: `JWT ${await freshToken(ca)}` },
    }).then((r) => r.json())
    assert.deepEqual(history.messages.map((m) => m.id), ids, 'the server has them all once')
    for (const p of [pa, pb]) {
      assert.equal(await p.evaluate(() => window.parleyMark), 'not reloaded')
    }
  })
  assert.deepEqual([...a.problems, ...b.problems], [])
})

// freshToken is an access token of the context's user, from its cookie.
async function freshToken(context) {
  const res = await context.request.post('/auth/jwt/refresh/', { data: {} })
  return (await res.json()).access
}
