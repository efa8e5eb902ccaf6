// Message text is shown as text: markup in a message appears as the
// characters typed and runs nothing (any dialog fails the test, and so
// does any content security policy violation). The pages are served
// with the security headers, and the policy is really enforced.
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

const PAYLOADS = [
  '<img src=x onerror=alert(1)>',
  '<script>alert(2)</script>',
  '<a href="javascript:alert(3)">click</a>',
  '"><svg onload=alert(4)>',
]

test('markup in a message is shown as text and runs nothing', async () => {
  const ca = await newContext(browser, server)
  const cb = await newContext(browser, server)
  await signInContext(ca, 'ann')
  await signInContext(cb, 'bob')
  const a = await newPage(ca)
  const b = await newPage(cb)
  const [pa, pb] = [a.page, b.page]

  await withServerLog(server, async () => {
    await pa.goto('/')
    await pa.getByRole('button', { name: 'Start a new chat' }).click()
    await pa.waitForURL(/\/chat\//)
    await pb.goto(await pa.getByLabel('Share this link').inputValue())
    for (const p of [pa, pb]) await p.locator('.live.open').waitFor()

    for (const text of PAYLOADS) await sendMessage(pb, text)
    for (const p of [pa, pb]) {
      for (const text of PAYLOADS) {
        const shown = delivered(p, text)
        await shown.waitFor()
        assert.equal(await shown.textContent(), text)
      }
      const injected = p.locator('.message-list :is(img, script, a, svg)')
      assert.equal(await injected.count(), 0, 'no element came from a message')
    }
    // Give a broken image's error handler time to run, had there been one.
    await sleep(500)

    // Reloaded from history, the same.
    await pa.reload()
    await delivered(pa, PAYLOADS[0]).waitFor()
    assert.equal(await pa.locator('.message-list img').count(), 0)
    await sleep(300)
  })
  assert.deepEqual([...a.problems, ...b.problems], [], 'nothing ran, nothing was blocked')
})

test('the client is served with a strict content security policy', async () => {
  const res = await fetch(`${server.base}/chat/anything`)
  assert.equal(res.status, 200)
  const csp = res.headers.get('content-security-policy')
  const host = new URL(server.base).host
  const directives = Object.fromEntries(
    csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...v]) => [name, v.join(' ')]),
  )
  assert.deepEqual(directives, {
    'default-src': "'self'",
    'script-src': "'self'",
    'style-src': "'self'",
    'connect-src': `'self' ws://${host} wss://${host}`,
    'img-src': "'self' data:",
    'object-src': "'none'",
    'base-uri': "'self'",
    'form-action': "'self'",
    'frame-ancestors': "'none'",
  })
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer')

  // The browser enforces it: a script slipped into the page is refused.
  const context = await newContext(browser, server)
  const page = await context.newPage()
  await page.goto('/signin')
  const refused = await page.evaluate(
    () =>
      new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) =>
          resolve(e.effectiveDirective),
        )
        const s = document.createElement('script')
        s.textContent = 'window.ranInline = true'
        document.body.append(s)
        setTimeout(() => resolve('nothing refused'), 2000)
      }),
  )
  assert.equal(refused, 'script-src-elem')
  assert.equal(await page.evaluate(() => window.ranInline), undefined)
  await context.close()
})
