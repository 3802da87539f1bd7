// End-to-end flows of the keys screens against the real `keygate serve --demo`: the key detail
// screen, no Roll on an expired key, and (with SCREENSHOTS=1) the detail screen in light, dark
// and Arabic (right to left). Keys are prepared with the CLI on the same data directory, the
// gateway is called over its socket, and what the screen shows is checked against it.
//
//   node e2e/keys.e2e.mjs                  all flows
//   SCREENSHOTS=1 node e2e/keys.e2e.mjs    also write docs/screenshots/key-*.png
//   node e2e/keys.e2e.mjs --only detail    flows whose name contains "detail"
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bin, launch, overflowing, serve, shot, signIn, throughGateway, useLanguage } from './lib.mjs'

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : ''
const here = fileURLToPath(new URL('.', import.meta.url))
const admin = { email: 'keys-admin@example.com', password: 'keys screens e2e password' }

function assert(cond, msg) {
  if (!cond) throw new Error(msg)
}

const dataDir = mkdtempSync(join(tmpdir(), 'keygate-keys-e2e-'))
const kg = (args, input) => execFileSync(bin, ['--data-dir', dataDir, ...args], { input, encoding: 'utf8', env: { ...process.env, KEYGATE_LANG: 'en' } })
const sql = (stmt) => execFileSync('sqlite3', [join(dataDir, 'keygate.db'), stmt], { encoding: 'utf8' })

const flows = []
const flow = (name, fn) => flows.push({ name, fn })

flow('key detail screen shows the key, its usage from the gateway and its actions', async ({ browser, srv, state }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await ctx.newPage()
  await signIn(page, srv, admin)
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
  await signIn(page, srv, admin)
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
  // The server refuses it too, whatever the screen shows.
  const res = await api(page, 'POST', `/api/v1/keys/${state.expired.id}/roll`, {})
  assert(res.status === 409, `rolling an expired key over the API: ${res.status} ${JSON.stringify(res.body)}`)
  await ctx.close()
})

flow('a revoked key shows why, and the detail screen reads right to left in Arabic', async ({ browser, srv, state }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await ctx.newPage()
  await signIn(page, srv, admin)
  await page.goto(`${srv.console}/keys/${state.revoked.id}`)
  await page.getByText('Reason: leaked in a CI log (prod)').waitFor()
  assert((await page.getByRole('button', { name: 'Edit', exact: true }).count()) === 0, 'a revoked key offers Edit')
  await useLanguage(page, srv.console, 'ar')
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
  await useLanguage(page, srv.console, 'en')
  await ctx.close()
})

/** api calls a console operation from the signed-in page, with the session's CSRF token. */
async function api(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const me = await (await fetch('/api/v1/me')).json()
    const r = await fetch(p, { method: m, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken }, body: b ? JSON.stringify(b) : undefined })
    const text = await r.text()
    return { status: r.status, body: text ? JSON.parse(text) : null }
  }, [method, path, body])
}

/** eventually retries check (an async function returning true when done) for up to ms. */
async function eventually(what, check, ms = 5000) {
  const deadline = Date.now() + ms
  let last
  for (;;) {
    last = await check()
    if (last === true) return
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(last)}`)
    await new Promise((r) => setTimeout(r, 150))
  }
}

async function closeShown(page, name) {
  const shown = page.getByRole('dialog', { name: `Key “${name}” created` })
  const secret = (await shown.getByTestId('secret').textContent()).trim()
  await shown.getByRole('button', { name: 'Done' }).click()
  await shown.getByRole('button', { name: 'Close anyway' }).click()
  await shown.waitFor({ state: 'detached' })
  return secret
}

flow('scopes: the dialog offers the routes’ scopes, and the gateway enforces what the key holds', async ({ browser, srv }) => {
  kg(['routes', 'update', '/demo', '--scope', 'pets:read'])
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await ctx.newPage()
    await signIn(page, srv, admin)
    // A key made in the dialog with the offered scope.
    await page.getByRole('button', { name: 'Create key' }).first().click()
    const d = page.getByRole('dialog', { name: 'Create an API key' })
    await d.getByLabel('Name').fill('Scoped key')
    await d.getByRole('button', { name: 'Add scope pets:read' }).click()
    await d.getByRole('button', { name: 'Remove scope pets:read' }).waitFor()
    // A typed scope that is not one is refused before anything is sent.
    await d.getByLabel('New scope').fill('pets read')
    await d.getByLabel('New scope').press('Enter')
    await d.getByText('“pets read” is not a scope', { exact: false }).waitFor()
    await d.getByLabel('New scope').fill('')
    await shot(page, 'key-create-scopes')
    await d.getByRole('button', { name: 'Create key' }).click()
    const scoped = await closeShown(page, 'Scoped key')
    // And one without scopes.
    await page.getByRole('button', { name: 'Create key' }).first().click()
    await d.getByLabel('Name').fill('Unscoped key')
    await d.getByRole('button', { name: 'Create key' }).click()
    const unscoped = await closeShown(page, 'Unscoped key')
    const held = await api(page, 'GET', `/api/v1/keys?search=${encodeURIComponent('Scoped key')}`)
    const heldScopes = held.body?.keys?.find((k) => k.name === 'Scoped key')?.scopes
    assert(JSON.stringify(heldScopes) === '["pets:read"]', `the created key's scopes: ${JSON.stringify(heldScopes)}`)
    const ok = await throughGateway(srv, scoped)
    assert(ok.status === 200, `the scoped key: ${ok.status} ${ok.code}`)
    // The route's new scope reaches the running gateway through the change feed.
    await eventually('the key without pets:read is refused', async () => {
      const r = await throughGateway(srv, unscoped)
      return r.status === 403 && r.code === 'INSUFFICIENT_SCOPE' ? true : r
    })
    // Edit gives the unscoped key the scope: its next request passes.
    await page.getByRole('button', { name: 'Edit key “Unscoped key”' }).click()
    const e = page.getByRole('dialog', { name: 'Edit “Unscoped key”' })
    await e.getByRole('button', { name: 'Add scope pets:read' }).click()
    await e.getByRole('button', { name: 'Save changes' }).click()
    await e.waitFor({ state: 'detached' })
    const next = await throughGateway(srv, unscoped)
    assert(next.status === 200, `after the edit the key's next request: ${next.status} ${next.code}`)
    await page.getByRole('link', { name: 'Unscoped key' }).click()
    await page.getByTestId('key-scopes').getByText('pets:read').waitFor()
    await ctx.close()
  } finally {
    kg(['routes', 'update', '/demo', '--scope', ''])
  }
})

flow('disable and enable: the gateway refuses a disabled key and takes it back when enabled', async ({ browser, srv, state }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await ctx.newPage()
  await signIn(page, srv, admin)
  const key = state.toggle.key
  assert((await throughGateway(srv, key)).status === 200, 'the toggle key does not work before disabling')
  const row = page.locator('tr', { hasText: 'Toggle key' })
  await row.getByRole('button', { name: 'Disable key “Toggle key”' }).click()
  const d = page.getByRole('dialog', { name: 'Disable “Toggle key”?' })
  await d.getByText('until you enable it again', { exact: false }).waitFor()
  await shot(page, 'key-disable')
  await d.getByRole('button', { name: 'Disable key' }).click()
  await row.getByText('Disabled', { exact: true }).waitFor()
  const off = await throughGateway(srv, key)
  assert(off.status === 403 && off.code === 'DISABLED', `a disabled key: ${off.status} ${off.code}`)
  await page.getByRole('checkbox', { name: 'Expiring within 7 days' }).waitFor()
  await page.getByRole('radio', { name: 'Disabled' }).click()
  await page.getByRole('link', { name: 'Toggle key' }).waitFor()
  assert((await page.getByRole('link', { name: 'Detail key' }).count()) === 0, 'the Disabled filter shows an active key')
  await page.getByRole('link', { name: 'Toggle key' }).click()
  await page.getByText('the gateway refuses it until it is enabled again', { exact: false }).waitFor()
  await page.getByText(admin.email, { exact: true }).first().waitFor()
  await shot(page, 'key-detail-disabled')
  await page.getByRole('button', { name: 'Enable', exact: true }).click()
  await page.getByRole('button', { name: 'Disable', exact: true }).waitFor()
  const on = await throughGateway(srv, key)
  assert(on.status === 200, `an enabled key: ${on.status} ${on.code}`)
  const audit = await api(page, 'GET', `/api/v1/audit?org=${state.toggle.orgId}`)
  const actions = (audit.body?.entries ?? []).filter((a) => a.target === state.toggle.id).map((a) => a.action)
  assert(actions.includes('key.disable') && actions.includes('key.enable'), `audit entries of the toggle key: ${actions}`)
  await ctx.close()
})

flow('edit: name, expiry, metadata, IP allowlist, rate limit and quota apply to the next request', async ({ browser, srv, state }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await ctx.newPage()
  await signIn(page, srv, admin)
  const key = state.edit.key
  await page.goto(`${srv.console}/keys/${state.edit.id}`)
  await page.getByRole('heading', { level: 1, name: /Edit key/ }).waitFor()
  const edit = async () => {
    await page.getByRole('button', { name: 'Edit', exact: true }).click()
    const d = page.getByRole('dialog', { name: /^Edit “/ })
    await d.waitFor()
    return d
  }
  let d = await edit()
  await d.getByLabel('Name').fill('Edited key')
  await d.getByLabel('Expires').selectOption('custom')
  await d.getByLabel('Expiry date').fill('2031-06-30')
  await d.getByRole('button', { name: 'Add pair' }).click()
  await d.getByLabel('Name of pair 1').fill('team')
  await d.getByLabel('Value of pair 1').fill('billing (EU)')
  // The server's refusal shows under the field and changes nothing.
  await d.getByLabel('IP allowlist').fill('not-an-ip')
  await d.getByRole('button', { name: 'Save changes' }).click()
  await d.locator('.field.has-error', { hasText: 'IP allowlist' }).waitFor()
  assert((await throughGateway(srv, key)).status === 200, 'a refused edit changed the key')
  await d.getByLabel('IP allowlist').fill('203.0.113.0/24\n2001:db8::/32')
  await shot(page, 'key-edit')
  await d.getByRole('button', { name: 'Save changes' }).click()
  await d.waitFor({ state: 'detached' })
  await page.getByRole('heading', { level: 1, name: /Edited key/ }).waitFor()
  await page.getByTestId('key-metadata').getByText('billing (EU)').waitFor()
  await page.getByTestId('key-allow-ips').getByText('203.0.113.0/24').waitFor()
  const ip = await throughGateway(srv, key)
  assert(ip.status === 403 && ip.code === 'IP_NOT_ALLOWED', `from 127.0.0.1 outside the allowlist: ${ip.status} ${ip.code}`)

  // Allow loopback, and give the key a quota of 2.
  d = await edit()
  await d.getByLabel('IP allowlist').fill('127.0.0.0/8')
  await d.getByLabel('Requests left').fill('2')
  await d.getByRole('button', { name: 'Save changes' }).click()
  await d.waitFor({ state: 'detached' })
  await page.getByTestId('key-quota').getByText('2', { exact: true }).waitFor()
  const first = await throughGateway(srv, key)
  assert(first.status === 200, `first request within the quota: ${first.status} ${first.code}`)
  const remaining = first.headers.get('x-keygate-quota-remaining')
  assert(remaining === '1', `quota header after the first request: ${remaining}`)
  assert((await throughGateway(srv, key)).status === 200, 'second request within the quota')
  const over = await throughGateway(srv, key)
  assert(over.status === 429 && over.code === 'QUOTA_EXCEEDED', `over the quota: ${over.status} ${over.code}`)
  await eventually('the detail screen shows 0 requests left', async () => {
    await page.reload()
    await page.getByTestId('key-quota').waitFor()
    const v = (await page.getByTestId('key-quota').textContent()).trim()
    return v === '0' ? true : v
  }, 10_000)

  // No quota, 2 requests per minute: the third is rate limited.
  d = await edit()
  await d.getByLabel('Requests left').fill('')
  await d.getByLabel('Rate limit').fill('2')
  await d.getByLabel('Window').selectOption('60')
  await d.getByRole('button', { name: 'Save changes' }).click()
  await d.waitFor({ state: 'detached' })
  await page.getByTestId('key-rate').getByText('2 per 1 minute').waitFor()
  await page.getByTestId('key-quota').getByText('No quota').waitFor()
  const codes = []
  for (let i = 0; i < 3; i++) codes.push((await throughGateway(srv, key)).status)
  assert(codes.join() === '200,200,429', `2 per minute: ${codes}`)
  await shot(page, 'key-detail-edited')
  await page.getByRole('link', { name: 'All API keys' }).click()
  await page.getByRole('link', { name: 'Edited key' }).waitFor()
  await ctx.close()
})

flow('list: search by name, expiring within 7 days, sort and pages', async ({ browser, srv }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await ctx.newPage()
  await signIn(page, srv, admin)
  for (let i = 0; i < 30; i++) {
    const r = await api(page, 'POST', '/api/v1/keys', { name: `Bulk ${String(i).padStart(2, '0')}`, expires: i < 3 ? '7d' : '30d' })
    assert(r.status === 201 || r.status === 200, `create Bulk ${i}: ${r.status} ${JSON.stringify(r.body)}`)
  }
  await page.reload()
  await page.getByRole('searchbox', { name: 'Search by name' }).fill('bulk 1')
  await eventually('searching "bulk 1" shows Bulk 10–19 only', async () => {
    const names = await page.locator('tbody tr td:first-child').allTextContents()
    return names.length === 10 && names.every((n) => /^Bulk 1\d$/.test(n)) ? true : names
  })
  assert(page.url().includes('q=bulk+1'), `the search is not in the address: ${page.url()}`)
  await page.getByRole('searchbox', { name: 'Search by name' }).fill('')
  await page.getByRole('checkbox', { name: 'Expiring within 7 days' }).check()
  await eventually('expiring within 7 days lists the three 7-day keys', async () => {
    const names = (await page.locator('tbody tr td:first-child').allTextContents()).sort()
    return names.join() === 'Bulk 00,Bulk 01,Bulk 02' ? true : names
  })
  await shot(page, 'keys-expiring')
  await page.getByRole('checkbox', { name: 'Expiring within 7 days' }).uncheck()
  await page.getByLabel('Sort').selectOption('name:asc')
  await page.getByLabel('Per page').selectOption('25')
  await page.getByText(/^1–25 of \d+$/).waitFor()
  const total = Number((await page.getByText(/^1–25 of \d+$/).textContent()).match(/of (\d+)/)[1])
  assert(total >= 30, `total keys: ${total}`)
  const names = await page.locator('tbody tr td:first-child').allTextContents()
  assert(names.join('|') === [...names].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })).join('|'), `not sorted by name: ${names}`)
  await page.getByRole('button', { name: 'Next page' }).click()
  await page.getByText(`26–${Math.min(50, total)} of ${total}`).waitFor()
  const second = await page.locator('tbody tr td:first-child').allTextContents()
  assert(!second.some((n) => names.includes(n)), 'the second page repeats keys of the first')
  await shot(page, 'keys-list')
  await page.emulateMedia({ colorScheme: 'dark' })
  await shot(page, 'keys-list-dark')
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
  state.toggle = create('Toggle key')
  state.edit = create('Edit key')
  kg(['keys', 'revoke', state.revoked.id, '--reason', 'leaked in a CI log (prod)'])
  // A key cannot be created already expired: move this one's expiry into the past.
  sql(`UPDATE keys SET expires_at = ${Date.now() - 3_600_000} WHERE id = '${state.expired.id}'`)

  srv = await serve(dataDir)
  browser = await launch()
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
