// End-to-end flows of the keys screens against the real `keygate serve --demo`: the key detail
// screen, no Roll on an expired key, and (with SCREENSHOTS=1) the detail screen in light, dark
// and Arabic (right to left). Keys are prepared with the CLI on the same data directory, the
// gateway is called over its socket, and what the screen shows is checked against it.
//
//   node e2e/keys.e2e.mjs                  all flows
//   SCREENSHOTS=1 node e2e/keys.e2e.mjs    also write docs/screenshots/key-*.png
//   node e2e/keys.e2e.mjs --only detail    flows whose name contains "detail"
import { chromium } from 'playwright-core'
import { spawn, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const repo = resolve(here, '..', '..')
const bin = process.env.KEYGATE_BIN || join(repo, 'bin', 'keygate')
const shots = join(repo, 'docs', 'screenshots')
const takeShots = process.argv.includes('--screenshots') || process.env.SCREENSHOTS === '1'
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : ''
const admin = { email: 'keys-admin@example.com', password: 'keys screens e2e password' }

const freePort = () => new Promise((ok, fail) => {
  const s = createServer()
  s.once('error', fail)
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)) })
})

function assert(cond, msg) {
  if (!cond) throw new Error(msg)
}

const dataDir = mkdtempSync(join(tmpdir(), 'keygate-keys-e2e-'))
const kg = (args, input) => execFileSync(bin, ['--data-dir', dataDir, ...args], { input, encoding: 'utf8', env: { ...process.env, KEYGATE_LANG: 'en' } })
const sql = (stmt) => execFileSync('sqlite3', [join(dataDir, 'keygate.db'), stmt], { encoding: 'utf8' })

async function startServer() {
  const [gw, con] = [await freePort(), await freePort()]
  const proc = spawn(bin, ['--data-dir', dataDir, 'serve', '--demo', '--listen', `127.0.0.1:${gw}`, '--console-listen', `127.0.0.1:${con}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KEYGATE_LANG: 'en' },
  })
  let out = ''
  proc.stdout.on('data', (d) => { out += d })
  proc.stderr.on('data', (d) => { out += d })
  const consoleURL = `http://127.0.0.1:${con}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`keygate serve exited: ${out}`)
    if (Date.now() > deadline) throw new Error(`keygate serve did not start: ${out}`)
    const up = await fetch(`${consoleURL}/readyz`).then((r) => r.ok, () => false)
    if (up) break
    await new Promise((r) => setTimeout(r, 150))
  }
  return {
    console: consoleURL,
    gateway: `http://127.0.0.1:${gw}`,
    log: () => out,
    async stop() {
      proc.kill('SIGTERM')
      await new Promise((r) => { if (proc.exitCode !== null) r(); else proc.once('exit', r) })
    },
  }
}

async function shot(page, name) {
  if (!takeShots) return
  mkdirSync(shots, { recursive: true })
  await page.waitForTimeout(350) // let animations settle
  await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 6000 }).catch(() => {})
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
}

async function throughGateway(srv, key, path = '/demo/pets') {
  const res = await fetch(`${srv.gateway}${path}`, { headers: key ? { 'x-api-key': key } : {} })
  const body = await res.text()
  let code = ''
  try { code = JSON.parse(body).code ?? '' } catch { /* upstream body */ }
  return { status: res.status, code, headers: res.headers }
}

async function signIn(page, srv) {
  await page.goto(`${srv.console}/login`)
  await page.getByLabel('Email').fill(admin.email)
  await page.getByLabel('Password', { exact: true }).fill(admin.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor({ timeout: 15_000 })
}

/** useLanguage switches the signed-in user's language on the preferences screen. */
async function useLanguage(page, srv, tag) {
  await page.goto(`${srv.console}/preferences`)
  await page.getByTestId('language-select').selectOption(tag)
  await page.waitForFunction((t) => document.documentElement.lang === t, tag)
}

/** fitsItsBox lists elements under root whose content spills out of them sideways: text cut off
 * or pushed over a neighbour is a screen that works but looks broken. */
async function overflowing(page, selector) {
  return page.evaluate((sel) => {
    const out = []
    for (const el of document.querySelectorAll(sel)) {
      const r = el.getBoundingClientRect()
      if (!r.width) continue
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName.toLowerCase()}.${el.className}: "${el.textContent.trim().slice(0, 60)}"`)
    }
    return out
  }, selector)
}

const flows = []
const flow = (name, fn) => flows.push({ name, fn })

flow('key detail screen shows the key, its usage from the gateway and its actions', async ({ browser, srv, state }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await ctx.newPage()
  await signIn(page, srv)
  for (let i = 0; i < 3; i++) {
    const r = await throughGateway(srv, state.detail.key)
    assert(r.status === 200, `detail key through the gateway: ${r.status} ${r.code}`)
  }
  await page.getByRole('link', { name: 'Detail key' }).click()
  await page.getByRole('heading', { level: 1, name: /Detail key/ }).waitFor()
  assert(page.url().endsWith(`/keys/${state.detail.id}`), `the detail screen's address is ${page.url()}`)
  await page.getByText(state.detail.id, { exact: true }).waitFor()
  await page.getByText(admin.email, { exact: true }).first().waitFor()
  // Usage is written in batches off the request path: reload until the three requests show.
  const deadline = Date.now() + 15_000
  for (;;) {
    const n = (await page.getByTestId('usage-count').textContent()).trim()
    if (n === '3') break
    assert(Date.now() < deadline, `usage count on the detail screen is ${n}, want 3`)
    await page.waitForTimeout(700)
    await page.reload()
    await page.getByTestId('usage-count').waitFor()
  }
  const lastUsed = await page.locator('dt', { hasText: 'Last used' }).locator('xpath=..').locator('dd').textContent()
  assert(!/Never used/.test(lastUsed), 'last used says "Never used" after three requests')
  for (const name of ['Edit', 'Roll', 'Revoke']) await page.getByRole('button', { name, exact: true }).waitFor()
  const spill = await overflowing(page, '.facts dd, .page-header, .btn')
  assert(spill.length === 0, `content spills out of its box on the detail screen: ${spill.join(' | ')}`)
  await shot(page, 'key-detail')
  await page.emulateMedia({ colorScheme: 'dark' })
  await shot(page, 'key-detail-dark')
  await page.emulateMedia({ colorScheme: 'light' })

  // Roll from the detail screen: the new secret is shown once and works through the gateway.
  await page.getByRole('button', { name: 'Roll', exact: true }).click()
  const roll = page.getByRole('dialog', { name: 'Roll “Detail key”?' })
  await roll.getByLabel('Old secret keeps working').selectOption('0')
  await roll.getByRole('button', { name: 'Roll key' }).click()
  const shown = page.getByRole('dialog', { name: 'New secret for “Detail key”' })
  const secret = (await shown.getByTestId('secret').textContent()).trim()
  await shown.getByRole('button', { name: 'Done' }).click()
  await shown.getByRole('button', { name: 'Close anyway' }).click()
  assert((await throughGateway(srv, secret)).status === 200, 'the rolled secret does not work')
  const old = await throughGateway(srv, state.detail.key)
  assert(old.status === 401, `the old secret still works after a roll without grace: ${old.status}`)

  await page.getByRole('link', { name: 'All API keys' }).click()
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor()
  await ctx.close()
})

flow('an expired key has no Roll action, in the list or on its detail screen', async ({ browser, srv, state }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await ctx.newPage()
  await signIn(page, srv)
  const gone = await throughGateway(srv, state.expired.key)
  assert(gone.status === 401 && gone.code === 'EXPIRED', `expired key through the gateway: ${gone.status} ${gone.code}`)
  const row = page.locator('tr', { hasText: 'Expired key' })
  await row.getByText('Expired', { exact: true }).waitFor()
  assert((await row.getByRole('button', { name: /^Roll key/ }).count()) === 0, 'the expired key’s row offers Roll')
  assert((await page.getByRole('button', { name: 'Roll key “Detail key”' }).count()) === 1, 'an active key’s row offers no Roll')
  await row.getByRole('link', { name: 'Expired key' }).click()
  await page.getByRole('heading', { level: 1, name: /Expired key/ }).waitFor()
  await page.getByText('An expired key cannot be rolled', { exact: false }).waitFor()
  assert((await page.getByRole('button', { name: 'Roll', exact: true }).count()) === 0, 'the expired key’s screen offers Roll')
  await page.getByRole('button', { name: 'Revoke', exact: true }).waitFor()
  await ctx.close()
})

flow('a revoked key shows why, and the detail screen reads right to left in Arabic', async ({ browser, srv, state }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await ctx.newPage()
  await signIn(page, srv)
  await page.goto(`${srv.console}/keys/${state.revoked.id}`)
  await page.getByText('Reason: leaked in a CI log (prod)').waitFor()
  assert((await page.getByRole('button', { name: 'Edit', exact: true }).count()) === 0, 'a revoked key offers Edit')
  await useLanguage(page, srv, 'ar')
  await page.goto(`${srv.console}/keys/${state.detail.id}`)
  await page.locator('h1', { hasText: 'Detail key' }).waitFor()
  assert(await page.evaluate(() => document.documentElement.dir) === 'rtl', 'Arabic is not right to left')
  const side = await page.locator('aside.sidebar').boundingBox()
  assert(side.x > 640, `ar: the sidebar is not on the right (x=${side.x})`)
  const back = await page.locator('.back-link').boundingBox()
  assert(back.x + back.width > 900, `ar: the back link is not at the start of the line (right): x=${back.x}`)
  const spill = await overflowing(page, '.facts dd, .page-header, .btn')
  assert(spill.length === 0, `ar: content spills out of its box: ${spill.join(' | ')}`)
  await shot(page, 'key-detail-ar')
  await useLanguage(page, srv, 'en')
  await ctx.close()
})

let srv, browser
let failed = 0
try {
  kg(['users', 'add', '--email', admin.email, '--role', 'admin'], admin.password + '\n')
  const create = (name, ...more) => JSON.parse(kg(['keys', 'create', '--name', name, ...more, '--json']))
  const state = {}
  state.expired = create('Expired key', '--expires', '7d')
  state.revoked = create('Revoked key')
  state.detail = create('Detail key')
  kg(['keys', 'revoke', state.revoked.id, '--reason', 'leaked in a CI log (prod)'])
  // A key cannot be created already expired: move this one's expiry into the past.
  sql(`UPDATE keys SET expires_at = ${Date.now() - 3_600_000} WHERE id = '${state.expired.id}'`)

  srv = await startServer()
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  })
  for (const f of flows) {
    if (only && !f.name.includes(only)) continue
    const t0 = Date.now()
    try {
      await f.fn({ browser, srv, state })
      console.log(`PASS  ${f.name} (${Date.now() - t0} ms)`)
    } catch (e) {
      failed++
      const dir = join(here, '..', 'test-results')
      mkdirSync(dir, { recursive: true })
      let i = 0
      for (const c of browser.contexts()) {
        for (const p of c.pages()) await p.screenshot({ path: join(dir, `keys-${f.name.replace(/\W+/g, '-')}-${i++}.png`) }).catch(() => {})
        await c.close().catch(() => {})
      }
      console.log(`FAIL  ${f.name} (${Date.now() - t0} ms)\n      ${String(e?.message ?? e).split('\n').slice(0, 8).join('\n      ')}`)
    }
  }
} catch (e) {
  failed++
  console.error(e)
  if (srv) console.error(srv.log())
} finally {
  await browser?.close()
  await srv?.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
if (failed && process.env.E2E_DEBUG && srv) console.log(srv.log())
console.log(failed ? `\n${failed} keys flow(s) failed` : '\nall keys flows passed')
process.exit(failed ? 1 : 0)
