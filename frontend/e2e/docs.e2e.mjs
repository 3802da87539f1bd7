// End-to-end test of the docs viewer (issue 5), in headless Chromium against `keygate serve
// --demo`: /docs renders the operations of both documents with the network cut off, and "try
// it" through the gateway returns the upstream's 200 with a key and 401 without one.
//
//   node e2e/docs.e2e.mjs            (uses ../bin/keygate, or $KEYGATE_BIN; make build first)
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, launch, serve } from './lib.mjs'

const email = 'docs-admin@example.com'
const password = 'docs viewer e2e password'

function check(cond, msg) {
  if (!cond) throw new Error(msg)
  console.log(`ok - ${msg}`)
}

const dataDir = mkdtempSync(join(tmpdir(), 'keygate-docs-e2e-'))
const kg = (args, input) => execFileSync(bin, ['--data-dir', dataDir, ...args], { input, encoding: 'utf8' })
let server, browser
try {
  kg(['users', 'add', '--email', email, '--role', 'admin'], password + '\n')
  const key = JSON.parse(kg(['keys', 'create', '--name', 'docs e2e', '--json'])).key
  server = await serve(dataDir, { showStderr: true })
  const consoleURL = server.console

  browser = await launch()
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
  // The network is cut off: anything but this machine is refused and remembered.
  const outside = []
  await ctx.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname
    if (host !== '127.0.0.1' && host !== 'localhost') { outside.push(route.request().url()); return route.abort() }
    return route.continue()
  })
  const page = await ctx.newPage()
  const login = await page.request.post(`${consoleURL}/api/v1/session`, { data: { email, password }, headers: { Origin: consoleURL } })
  check(login.ok(), `signed in (${login.status()})`)

  await page.goto(`${consoleURL}/docs`)
  const sidebar = page.locator('[data-testid=docs-viewer]')
  await sidebar.getByText('List pets').first().waitFor({ timeout: 30000 })
  for (const op of ['List pets', 'Add a pet', 'Get a pet', 'Remove a pet']) {
    check(await sidebar.getByText(op).count() > 0, `gateway document shows "${op}"`)
  }
  await page.getByTestId('docs-switch-console').click()
  await sidebar.getByText('Keygate console API').first().waitFor({ timeout: 30000 })
  // Scalar lists every operation in its sidebar (closed tags keep theirs in the page).
  for (const op of ['The signed-in user', 'List keys', 'Create a key', 'Revoke a key', 'Add a route']) {
    await sidebar.getByText(new RegExp('^' + op)).first().waitFor({ state: 'attached', timeout: 10000 })
    check(true, `console document shows "${op}…"`)
  }
  await page.getByTestId('docs-switch-gateway').click()
  await sidebar.getByText('List pets').first().waitFor({ timeout: 30000 })

  // tryIt opens "List pets" in Scalar's client, sends it and returns the gateway's answer.
  async function tryIt() {
    await page.getByRole('button', { name: /Test Request/i }).first().click()
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/demo/pets' && r.request().method() === 'GET', { timeout: 20000 })
    await page.getByRole('button', { name: /^Send/i }).first().click()
    const resp = await answer
    await page.getByText(new RegExp(`${resp.status()} `)).first().waitFor({ timeout: 10000 })
    return resp
  }

  await page.selectOption('[data-testid=docs-key-picker]', 'paste')
  await page.fill('input[type=password]', key)
  await page.waitForTimeout(800) // the viewer picks the key up after a short pause
  await sidebar.getByText('List pets').first().waitFor()
  const withKey = await tryIt()
  check(withKey.status() === 200, `try it with a key: ${withKey.status()} from the upstream through the gateway`)
  check(withKey.request().headers()['x-api-key'] === key, 'the key went in x-api-key')
  check(Array.isArray(await withKey.json()), 'the body is the upstream\'s list of pets')

  // Without a key (and without the session cookie) the gateway refuses.
  await ctx.clearCookies()
  await page.selectOption('[data-testid=docs-key-picker]', '')
  await page.waitForTimeout(800)
  await sidebar.getByText('List pets').first().waitFor()
  const noKey = await tryIt()
  check(noKey.status() === 401, `try it without a key: ${noKey.status()}`)
  check((await noKey.json()).code === 'MISSING_CREDENTIAL', 'the 401 says MISSING_CREDENTIAL')

  check(outside.length === 0, `no request left this machine${outside.length ? ': ' + outside.join(', ') : ''}`)
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))
  check(!stored.includes(key), 'the key was not persisted in browser storage')
  console.log('docs e2e: all checks passed')
} finally {
  await browser?.close()
  await server?.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
