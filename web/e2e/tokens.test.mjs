// Access tokens that last ten seconds (PARLEY_ACCESS_TTL=10s): a forty
// second conversation between Ann, in two tabs, and Bob goes on without
// an error, a reload, a reconnect or a sign-out. Each tab renews its
// token from the token's own expiry, the tabs share renewals instead of
// signing each other out, and each renewal extends the open socket with
// a new auth frame, so no socket is ever closed for an expired token.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import {
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

const TTL = 10
const TALK = 40_000
const EVERY = 2_000

// COUNT_SOCKETS counts the WebSockets a page opens: one means it never
// had to reconnect.
const COUNT_SOCKETS = `
window.__sockets = 0
const Native = window.WebSocket
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args)
    window.__sockets++
  }
}
`

let server
let browser

before(async () => {
  // Only the token lifetime is set: the server shortens its refresh
  // grace window to fit on its own.
  const env = { PARLEY_ACCESS_TTL: `${TTL}s` }
  server = await startServer({ env })
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.close()
})

function countRefreshes(page) {
  const seen = { refreshes: 0 }
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/auth/jwt/refresh/') {
      seen.refreshes++
    }
  })
  return seen
}

test('short-lived tokens are renewed in every tab without a hitch', async (t) => {
  const ca = await newContext(browser, server, { scripts: [COUNT_SOCKETS] })
  const cb = await newContext(browser, server, { scripts: [COUNT_SOCKETS] })
  const ann = await signInContext(ca, 'ann')
  await signInContext(cb, 'bob')
  const claims = JSON.parse(Buffer.from(ann.access.split('.')[1], 'base64url'))
  assert.equal(claims.exp - claims.iat, TTL, 'the server hands out ten second tokens')

  const tabs = [await newPage(ca), await newPage(ca), await newPage(cb)]
  const pages = tabs.map((t) => t.page)
  const counts = pages.map(countRefreshes)

  const began = Date.now()
  await withServerLog(server, async () => {
    await pages[0].goto('/')
    await pages[0].getByRole('button', { name: 'Start a new chat' }).click()
    await pages[0].waitForURL(/\/chat\//)
    const link = await pages[0].getByLabel('Share this link').inputValue()
    for (const p of pages.slice(1)) await p.goto(link)
    for (const p of pages) {
      await p.locator('.live.open').waitFor()
      await p.evaluate(() => (window.parleyMark = 'not reloaded'))
    }

    // Each of the three writes in turn; everyone sees every line live.
    const started = Date.now()
    for (let i = 0; Date.now() - started < TALK; i++) {
      const text = `line ${i} from tab ${i % 3}`
      await sendMessage(pages[i % 3], text)
      for (const p of pages) await delivered(p, text).waitFor()
      await sleep(EVERY)
    }

    for (const p of pages) {
      assert.equal(await p.evaluate(() => window.parleyMark), 'not reloaded')
      assert.equal(await p.evaluate(() => window.__sockets), 1, 'the socket was never replaced')
      assert.equal(await p.locator('[data-role="me"]').count(), 1, 'still signed in')
      assert.equal(await p.locator('.banner').count(), 0, 'no error or offline banner')
      assert.equal(await p.locator('.message.outgoing').count(), 0)
    }
  })

  // Each page load renews once; after that a browser renews about once
  // per 0.8 x TTL. Ann's two tabs share renewals: renewing on their own
  // they would come near twice that.
  const periods = (Date.now() - began) / (0.8 * TTL * 1000)
  const annRefreshes = counts[0].refreshes + counts[1].refreshes
  const bobRefreshes = counts[2].refreshes
  const said = `Ann renewed ${annRefreshes}, Bob ${bobRefreshes} times in ${periods} periods`
  assert.ok(bobRefreshes >= 1 + Math.floor(periods) - 1, said)
  assert.ok(annRefreshes >= 2 + Math.floor(periods) - 1, said)
  assert.ok(annRefreshes <= 2 + 1.5 * periods, said)
  t.diagnostic(said)
  assert.deepEqual(tabs.flatMap((t) => t.problems), [])
})
