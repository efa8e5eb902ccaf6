// Every screen, at a desktop width and at 360 px: a screenshot of each
// (sign in, sign up, my chats, a chat, the loader, the error screen)
// for people to look at, and checks that nothing is wider than the
// window and long words wrap. Then the whole path, from signing in to
// sending a message and copying the link, with the keyboard alone.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  DESKTOP,
  PHONE,
  apiUser,
  delivered,
  launchBrowser,
  newContext,
  newPage,
  shot,
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

const LONG_WORD = 'Supercalifragilistic'.repeat(12)

// fitsWidth checks that the page does not scroll sideways and that the
// message list does not either.
async function fitsWidth(page, width) {
  const doc = await page.evaluate(() => document.documentElement.scrollWidth)
  assert.ok(doc <= width, `page is ${doc}px wide in a ${width}px window`)
  const list = page.locator('.messages')
  if (await list.count()) {
    const [scroll, client] = await list.evaluate((el) => [el.scrollWidth, el.clientWidth])
    assert.ok(scroll <= client, `message list overflows: ${scroll} > ${client}`)
  }
}

for (const [label, viewport] of [['desktop', DESKTOP], ['360', PHONE]]) {
  test(`every screen at ${label} width`, async () => {
    const bob = await apiUser(server, 'bob')
    const context = await newContext(browser, server, { viewport })
    const { page, problems } = await newPage(context)

    await withServerLog(server, async () => {
      // Sign in and sign up, the latter with the server's field errors.
      await page.goto('/signin')
      await page.getByRole('button', { name: 'Sign in' }).waitFor()
      await fitsWidth(page, viewport.width)
      await shot(page, `signin-${label}`)
      await page.goto('/signup')
      await page.getByLabel('Username').fill(bob.username)
      await page.getByLabel('Password').fill('12345678')
      await page.getByRole('button', { name: 'Sign up' }).click()
      await page.locator('#password-errors p').first().waitFor()
      await fitsWidth(page, viewport.width)
      await shot(page, `signup-${label}`)

      // My chats, with a few chats of different ages.
      const me = await signInContext(context, 'dana')
      const uris = []
      for (let i = 0; i < 3; i++) {
        const uri = await bob.newChat()
        await (await meAsApi(me)).join(uri)
        await bob.post(uri, `Chat ${i} says hello`)
        uris.push(uri)
      }
      await page.goto('/')
      await page.locator('.chat-list li').nth(2).waitFor()
      await fitsWidth(page, viewport.width)
      await shot(page, `chats-${label}`)

      // A chat with both sides talking and a word too long for a line.
      const uri = uris[2]
      await bob.post(uri, 'How are you doing today? This line is long enough to wrap on a phone.')
      await (await meAsApi(me)).post(uri, 'Very well, thanks!')
      await bob.post(uri, LONG_WORD)
      await page.goto(`/chat/${uri}`)
      await delivered(page, LONG_WORD).waitFor()
      await page.locator('.live.open').waitFor()
      await fitsWidth(page, viewport.width)
      await shot(page, `chat-${label}`)

      // The loader, held on screen by holding back the history.
      let release
      const held = new Promise((resolve) => (release = resolve))
      await page.route('**/api/chats/*/messages/**', async (route) => {
        await held
        await route.continue()
      })
      await page.goto(`/chat/${uri}`)
      await page.locator('[data-screen="loader"]', { hasText: 'Opening the chat' }).waitFor()
      await fitsWidth(page, viewport.width)
      await shot(page, `loader-${label}`)
      release()
      await page.locator('[data-screen="chat"]').waitFor()
      await page.unroute('**/api/chats/*/messages/**')

      // The error screen, for a chat that does not exist.
      await page.goto('/chat/there-is-no-such-chat-42')
      await page.locator('[data-screen="error"]').waitFor()
      await fitsWidth(page, viewport.width)
      await shot(page, `error-${label}`)
    })
    assert.deepEqual(problems, [])
  })
}

// meAsApi talks to the API as the user signed in by signInContext.
async function meAsApi(me) {
  const call = async (method, path, body) => {
    const res = await fetch(server.base + path, {
      method,
      headers: { Authorization: `JWT ${me.access}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    })
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`)
    return res.json()
  }
  return {
    join: (uri) => call('PATCH', `/api/chats/${uri}/`),
    post: (uri, message) => call('POST', `/api/chats/${uri}/messages/`, { message }),
  }
}

// tabTo presses Tab until the focused element matches the CSS selector
// or, for want.text, is the control with that text.
async function tabTo(page, want, most = 30) {
  const target = typeof want === 'string' ? { selector: want } : want
  for (let i = 0; i < most; i++) {
    await page.keyboard.press('Tab')
    const there = await page.evaluate(({ selector, text }) => {
      const el = document.activeElement
      return selector ? el.matches(selector) : el.textContent.trim() === text
    }, target)
    if (there) return
  }
  throw new Error(`Tab never reached ${JSON.stringify(want)}`)
}

test('the keyboard alone signs in, starts a chat, writes and copies the link', async () => {
  const bob = await apiUser(server, 'bob')
  const context = await newContext(browser, server, {
    viewport: PHONE,
    permissions: ['clipboard-read', 'clipboard-write'],
  })
  const { page, problems } = await newPage(context)

  await withServerLog(server, async () => {
    await page.goto('/signin')
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    await tabTo(page, '#username')
    await page.keyboard.type(bob.username)
    await tabTo(page, '#password')
    await page.keyboard.type(bob.password)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'My chats' }).waitFor()

    await tabTo(page, { text: 'Start a new chat' })
    await page.keyboard.press('Enter')
    await page.locator('[data-screen="chat"]').waitFor()
    await page.locator('.live.open').waitFor()

    await tabTo(page, '#composer')
    await page.keyboard.type('Typed and sent with the keyboard')
    await page.keyboard.press('Enter')
    await delivered(page, 'Typed and sent with the keyboard').waitFor()

    await tabTo(page, { text: 'Copy link' })
    await page.keyboard.press('Enter')
    await page.getByText('Link copied.').waitFor()
    const link = await page.getByLabel('Share this link').inputValue()
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link)

    // The message list itself can be reached and scrolled.
    await tabTo(page, '.messages')
  })
  assert.deepEqual(problems, [])
})
