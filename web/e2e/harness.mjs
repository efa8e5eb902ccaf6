// What the browser tests share: the real all-in-one server, Chromium,
// pages that collect every problem a person would not want to meet
// (script errors, content security policy violations, failed requests,
// dialogs), users and chats made through the HTTP API, and screenshots.
//
// PARLEY_BIN names the server binary (scripts/e2e.mjs builds one when it
// is unset); CHROMIUM_PATH overrides /usr/bin/chromium;
// PARLEY_SCREENSHOT_DIR is where screenshots go.
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const screenshotDir = path.resolve(
  process.env.PARLEY_SCREENSHOT_DIR || path.join(webDir, 'test-results', 'screenshots'),
)
// WAIT bounds every wait for something the page should do by itself.
export const WAIT = 15_000
export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 360, height: 740 }

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
]

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function freePort() {
  const srv = createServer()
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address()
  await new Promise((resolve) => srv.close(resolve))
  return port
}

// startServer runs the all-in-one in a fresh data folder and resolves
// once /healthz answers. env adds settings. The result can stop the
// process and start it again on the same port and data folder.
export async function startServer({ env = {} } = {}) {
  const bin = process.env.PARLEY_BIN
  if (!bin) throw new Error('PARLEY_BIN is not set: run the browser tests with npm run test:e2e')
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'parley-e2e-'))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  let log = ''
  let proc = null

  async function start() {
    proc = run(bin, { ...env, PARLEY_ADDR: `127.0.0.1:${port}`, PARLEY_DATA_DIR: tmp }, (s) => {
      log = (log + s).slice(-64 << 10)
    })
    await healthy(base, proc, () => log)
  }
  await start()
  return {
    base,
    port,
    log: () => log,
    stop: () => proc?.stop(),
    restart: start,
    async close() {
      await proc?.stop()
      await rm(tmp, { recursive: true, force: true })
    },
  }
}

// run starts bin; stop() ends it with SIGTERM, as an operator would, and
// waits for it to exit.
function run(bin, env, keep) {
  const child = spawn(bin, [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise((resolve) => child.once('exit', resolve))
  let gone = false
  exited.then(() => (gone = true))
  return {
    gone: () => gone,
    async stop() {
      if (gone) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}

async function healthy(base, proc, log) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (proc.gone()) throw new Error(`the server exited before it was healthy:\n${log()}`)
    try {
      if ((await fetch(`${base}/healthz`)).status === 200) return
    } catch {
      // Not listening yet.
    }
    await sleep(100)
  }
  await proc.stop()
  throw new Error(`the server was not healthy within 60s:\n${log()}`)
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
  })
}

// Failed requests that the scenarios cause on purpose: a page load's
// refresh attempt without a cookie, refused sign-ups, reading a chat
// before joining it, and opening a chat that does not exist.
const EXPECTED_FAILURES = [
  /^POST \/auth\/jwt\/refresh\/ 40[01]$/,
  /^POST \/auth\/users\/ 400$/,
  /^GET \/api\/chats\/[A-Za-z0-9._~-]+\/ 40[34]$/,
  /^PATCH \/api\/chats\/[A-Za-z0-9._~-]+\/ 404$/,
]

// REPORT_CSP makes every content security policy violation a console
// error that names what was blocked, in case the browser's own message
// is worded differently one day.
const REPORT_CSP = `
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI)
})
`

// newContext makes a browser context (one browser profile: its own
// cookies and storage) on server, with init scripts run in every page
// before the page's own.
export async function newContext(browser, server, { scripts = [], ...options } = {}) {
  const context = await browser.newContext({
    baseURL: server.base,
    locale: 'en-US',
    viewport: DESKTOP,
    ...options,
  })
  for (const s of [REPORT_CSP, ...scripts]) await context.addInitScript({ content: s })
  return context
}

// newPage opens a page in context and collects its problems. allow lists
// console messages that the scenario expects (for example a refused
// socket while the server is down). A CSP violation is always a problem.
export async function newPage(context, { allow = [] } = {}) {
  const page = await context.newPage()
  page.setDefaultTimeout(WAIT)
  const problems = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.type()} ${d.message()}`)
    d.dismiss().catch(() => {})
  })
  page.on('console', (m) => {
    const text = m.text()
    if (/content security policy/i.test(text)) return problems.push(`CSP: ${text}`)
    if (m.type() !== 'error' || text.startsWith('Failed to load resource')) return
    if (!allow.some((re) => re.test(text))) problems.push(`console: ${text}`)
  })
  page.on('response', (res) => {
    const what = `${res.request().method()} ${new URL(res.url()).pathname} ${res.status()}`
    if (res.status() >= 400 && !EXPECTED_FAILURES.some((re) => re.test(what))) {
      problems.push(`response: ${what}`)
    }
  })
  return { page, problems }
}

async function call(base, method, p, { token, body } = {}) {
  const headers = { Accept: 'application/json' }
  if (token) headers.Authorization = `JWT ${token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(base + p, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  const data = text ? JSON.parse(text) : null
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`)
  return data
}

let userSerial = 0

// apiUser signs a new user up through the API, for a person the test
// plays without a browser. Its token lasts the server's access TTL.
export async function apiUser(server, prefix = 'user') {
  const username = `${prefix}${process.pid}x${++userSerial}`
  const password = `lantern-${username}-orbit`
  const user = await call(server.base, 'POST', '/auth/users/', { body: { username, password } })
  const { access } = await call(server.base, 'POST', '/auth/jwt/create/', {
    body: { username, password },
  })
  const api = (method, p, body) => call(server.base, method, p, { token: access, body })
  return {
    ...user,
    password,
    api,
    newChat: async () => (await api('POST', '/api/chats/', {})).uri,
    join: (uri) => api('PATCH', `/api/chats/${uri}/`, {}),
    post: (uri, message) => api('POST', `/api/chats/${uri}/messages/`, { message }),
    history: (uri, q = '') => api('GET', `/api/chats/${uri}/messages/${q}`),
  }
}

// signInContext signs a new user up and in through the context's own
// request client, which shares the context's cookies: every page opened
// in it afterwards starts signed in, as after a real sign-in.
export async function signInContext(context, prefix = 'user') {
  const username = `${prefix}${process.pid}x${++userSerial}`
  const password = `meadow-${username}-quartz`
  const made = await context.request.post('/auth/users/', { data: { username, password } })
  if (!made.ok()) throw new Error(`sign-up failed: ${made.status()} ${await made.text()}`)
  const login = await context.request.post('/auth/jwt/create/', { data: { username, password } })
  if (!login.ok()) throw new Error(`sign-in failed: ${login.status()}`)
  const { access } = await login.json()
  return { ...(await made.json()), password, access }
}

// Locators every test uses.
// A delivered message is one the server sent back, not one still on its
// way out (.outgoing), whether or not it was acknowledged yet.
export const delivered = (page, text) =>
  page.locator('.message-list .message:not(.outgoing) .text', { hasText: text })

export const messageIds = (page) =>
  page
    .locator('.message-list .message:not(.outgoing)')
    .evaluateAll((els) => els.map((e) => Number(e.dataset.id)))

export const messageTexts = (page) =>
  page.locator('.message-list .message:not(.outgoing) .text').allTextContents()

export async function sendMessage(page, text) {
  const box = page.getByLabel('Message', { exact: true })
  await box.fill(text)
  await box.press('Enter')
}

// bottomGap is how far the message list's view is from its end.
export const bottomGap = (page) =>
  page.locator('.messages').evaluate((el) => el.scrollHeight - el.clientHeight - el.scrollTop)

// frames waits for the page to draw n more frames, which lets resize
// observers and scroll events run.
export const frames = (page, n = 2) =>
  page.evaluate(
    (count) =>
      new Promise((resolve) => {
        const step = (left) => (left ? requestAnimationFrame(() => step(left - 1)) : resolve())
        step(count)
      }),
    n,
  )

// shot saves a screenshot of page as <name>.png in the screenshot folder.
export async function shot(page, name) {
  mkdirSync(screenshotDir, { recursive: true })
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) })
}

// withServerLog runs fn and adds the server's output to its error, which
// is where the cause of a failure seen in the browser often shows.
export async function withServerLog(server, fn) {
  try {
    await fn()
  } catch (err) {
    err.message += `\n--- server output ---\n${server?.log() ?? '(none)'}`
    throw err
  }
}
