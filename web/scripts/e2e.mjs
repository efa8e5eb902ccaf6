// Runs the browser tests in e2e/ against the all-in-one server named by
// PARLEY_BIN, building one from ./cmd/parley (with the client in dist/
// embedded) when it is unset. At the end it prints where the screenshots
// went, so that a CI log shows it whatever the outcome.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const screenshots = path.resolve(
  process.env.PARLEY_SCREENSHOT_DIR || path.join(webDir, 'test-results', 'screenshots'),
)

let built = null
if (!process.env.PARLEY_BIN) {
  if (!existsSync(path.join(webDir, 'dist', 'index.html'))) {
    console.error('web/dist has no index.html: run `npm run build` first')
    process.exit(1)
  }
  built = mkdtempSync(path.join(os.tmpdir(), 'parley-bin-'))
  console.log('building ./cmd/parley for the browser tests')
  execFileSync('go', ['build', '-o', path.join(built, 'parley'), './cmd/parley'], {
    cwd: path.dirname(webDir),
    stdio: 'inherit',
  })
}
const env = {
  ...process.env,
  PARLEY_BIN: process.env.PARLEY_BIN || path.join(built, 'parley'),
  PARLEY_SCREENSHOT_DIR: screenshots,
}

// One file at a time: each starts its own server and browser, and some
// depend on timing that a crowded machine would blur.
const files = readdirSync(path.join(webDir, 'e2e'))
  .filter((f) => f.endsWith('.test.mjs'))
  .sort()
  .map((f) => path.join('e2e', f))
const run = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', ...process.argv.slice(2), ...files],
  { cwd: webDir, env, stdio: 'inherit' },
)

if (built) rmSync(built, { recursive: true, force: true })
const shots = existsSync(screenshots)
  ? readdirSync(screenshots).filter((f) => f.endsWith('.png'))
  : []
console.log(`\nscreenshots (${shots.length}): ${screenshots}`)
for (const f of shots.sort()) console.log(`  ${f}`)
process.exit(run.status ?? 1)
