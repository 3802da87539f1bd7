// End-to-end flows of the usage charts against the real `keygate serve --demo`: traffic sent
// through the gateway over its socket shows on the Requests screen, the key detail screen and the
// Gateway screen, and what the charts show (their text summaries and data-table views) is what
// GetUsage and GetUsageTop answer. With SCREENSHOTS=1 it writes docs/screenshots/usage-*.png in
// light, dark and Arabic (right to left).
//
//   node e2e/usage.e2e.mjs                  all flows
//   SCREENSHOTS=1 node e2e/usage.e2e.mjs    also write docs/screenshots/usage-*.png
//   node e2e/usage.e2e.mjs --only gateway   flows whose name contains "gateway"
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bin, launch, overflowing, serve, shot, signIn, throughGateway, useLanguage } from './lib.mjs'

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : ''
const here = fileURLToPath(new URL('.', import.meta.url))
const admin = { email: 'usage-admin@example.com', password: 'usage charts e2e password' }

function assert(cond, msg) {
  if (!cond) throw new Error(msg)
}

const dataDir = mkdtempSync(join(tmpdir(), 'keygate-usage-e2e-'))
const kg = (args, input) => execFileSync(bin, ['--data-dir', dataDir, ...args], { input, encoding: 'utf8', env: { ...process.env, KEYGATE_LANG: 'en' } })

const flows = []
const flow = (name, fn) => flows.push({ name, fn })

/** watchUsage keeps the latest GetUsage and GetUsageTop answers the page received, by query. */
function watchUsage(page) {
  const seen = { series: [], top: [] }
  page.on('response', async (r) => {
    const u = new URL(r.url())
    if (!u.pathname.startsWith('/api/v1/usage') || r.status() !== 200) return
    const body = await r.json().catch(() => null)
    if (!body) return
    const entry = { params: Object.fromEntries(u.searchParams), body, at: Date.now() }
    if (u.pathname === '/api/v1/usage/top') seen.top.push(entry)
    else seen.series.push(entry)
  })
  return seen
}

/** api calls the console API with the page's session (GET needs no CSRF token). */
async function api(page, path, params) {
  return page.evaluate(async ([p, q]) => {
    const r = await fetch(`${p}?${new window.URLSearchParams(q)}`, { credentials: 'same-origin' })
    if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`)
    return r.json()
  }, [path, params])
}

/** untilCaption reloads until the chart's text summary contains want (rollups are written every 5 s). */
async function untilCaption(page, testId, want) {
  const deadline = Date.now() + 30_000
  for (;;) {
    const fig = page.getByTestId(testId)
    await fig.waitFor({ timeout: 15_000 })
    const text = (await fig.locator('figcaption').textContent()).trim()
    if (text.includes(want)) return text
    assert(Date.now() < deadline, `${testId} says "${text}", want "${want}"`)
    await page.waitForTimeout(1500)
    await page.reload()
  }
}

/** tableMatches opens the chart's table view and checks every row against the GetUsage buckets. */
async function tableMatches(page, testId, series) {
  const fig = page.getByTestId(testId)
  await fig.getByRole('button', { name: 'Show as table' }).click()
  const rows = fig.locator('tbody tr')
  await rows.first().waitFor()
  const shown = await rows.evaluateAll((trs) => trs.map((tr) => ({
    start: tr.getAttribute('data-start'),
    cells: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [td.getAttribute('data-col'), td.textContent.trim()])),
  })))
  assert(shown.length === series.buckets.length, `${testId}: ${shown.length} rows, GetUsage has ${series.buckets.length} buckets`)
  let nonEmpty = 0
  for (const [i, b] of series.buckets.entries()) {
    const row = shown[i]
    assert(row.start === b.start, `${testId} row ${i} starts ${row.start}, bucket ${b.start}`)
    for (const k of ['total', 'ok', 'clientErrors', 'serverErrors', 'rejected']) {
      assert(row.cells[k] === String(b[k] ?? 0), `${testId} ${b.start} ${k}: table ${row.cells[k]}, GetUsage ${b[k]}`)
    }
    if (b.total) nonEmpty++
  }
  assert(nonEmpty > 0, `${testId}: no bucket with requests`)
  await fig.getByRole('button', { name: 'Show as chart' }).click()
  await fig.locator('.recharts-surface').first().waitFor()
}

/** barsSide says where the drawn bars are in the plot: their mean x as a share of its width. */
async function barsSide(page, testId) {
  return page.getByTestId(testId).evaluate((fig) => {
    const plot = fig.querySelector('.chart-plot').getBoundingClientRect()
    const xs = [...fig.querySelectorAll('.recharts-bar-rectangle')].map((r) => r.getBoundingClientRect()).filter((r) => r.height > 0)
    if (!xs.length) return null
    return (xs.reduce((a, r) => a + r.x + r.width / 2, 0) / xs.length - plot.x) / plot.width
  })
}

/** latest is the newest answer the page got for a query matching want. */
function latest(list, want) {
  const match = list.filter((e) => Object.entries(want).every(([k, v]) => (e.params[k] ?? '') === v))
  assert(match.length > 0, `the page asked for no ${JSON.stringify(want)} (asked: ${JSON.stringify(list.map((e) => e.params))})`)
  return match[match.length - 1]
}

flow('Requests screen charts the traffic sent through the gateway, as GetUsage counts it', async ({ browser, srv, state }) => {
  for (let i = 0; i < 6; i++) {
    const r = await throughGateway(srv, state.key.key)
    assert(r.status === 200, `valid key: ${r.status} ${r.code}`)
  }
  for (let i = 0; i < 3; i++) {
    const r = await throughGateway(srv, '')
    assert(r.status === 401 && r.code === 'MISSING_CREDENTIAL', `no key: ${r.status} ${r.code}`)
  }
  for (let i = 0; i < 2; i++) {
    const r = await throughGateway(srv, state.key.key, '/nowhere')
    assert(r.status === 404 && r.code === 'NO_ROUTE', `no route: ${r.status} ${r.code}`)
  }
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
  const page = await ctx.newPage()
  const seen = watchUsage(page)
  await signIn(page, srv, admin)
  await page.goto(`${srv.console}/requests`)
  const caption = await untilCaption(page, 'traffic-chart', 'Requests: 11.')
  const mine = latest(seen.series, { keyId: '', route: '' }).body
  const s = mine.summary
  assert(s.total === 11 && s.ok === 6 && s.clientErrors === 5 && (s.serverErrors ?? 0) === 0 && s.rejected === 5,
    `GetUsage summary ${JSON.stringify(s)}`)
  assert(s.rejectedByCode.MISSING_CREDENTIAL === 3 && s.rejectedByCode.NO_ROUTE === 2, `refusals by code ${JSON.stringify(s.rejectedByCode)}`)
  assert(caption.includes('Errors: 5 (45%)') && caption.includes('Refused by the gateway: 5.'), `summary: ${caption}`)
  const label = await page.getByTestId('traffic-chart').locator('[role="img"]').getAttribute('aria-labelledby')
  assert((await page.locator(`[id="${label}"]`).textContent()).trim() === caption, 'the chart is not labelled by its summary')
  // The same question asked again answers the same (the rollups are the one source).
  const again = await api(page, '/api/v1/usage', { from: mine.from, to: mine.to, bucket: mine.bucket })
  assert(JSON.stringify(again.buckets) === JSON.stringify(mine.buckets), 'GetUsage answered differently for the same range')
  await tableMatches(page, 'traffic-chart', mine)
  state.ltrSide = await barsSide(page, 'traffic-chart')
  assert(state.ltrSide !== null && state.ltrSide > 0.5, `the newest bucket is drawn at ${state.ltrSide} of the width, want the right`)
  await shot(page, 'usage-requests')
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.waitForTimeout(300)
  await shot(page, 'usage-requests-dark')
  // Filtering the Requests screen by key narrows the chart to the key's traffic.
  await page.emulateMedia({ colorScheme: 'light' })
  await page.locator('label.filter', { hasText: 'Key' }).locator('select').selectOption({ label: 'Usage key' })
  await page.getByTestId('traffic-chart').locator('figcaption', { hasText: 'Requests: 6.' }).waitFor()
  await ctx.close()
})

flow('Requests screen: one time range drives the chart and the log', async ({ browser, srv }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
  const page = await ctx.newPage()
  const seen = watchUsage(page)
  await signIn(page, srv, admin)
  await page.goto(`${srv.console}/requests`)
  await untilCaption(page, 'traffic-chart', 'Requests: 11.')
  const logRows = () => page.locator('tbody tr.clickable').count()
  assert(await page.getByTestId('time-range').inputValue() === '24h', 'the Requests screen starts on the last 24 hours')
  assert(latest(seen.series, { keyId: '', route: '' }).params.bucket === '1h', 'the chart starts by hour')
  await page.locator('tbody tr.clickable').first().waitFor()
  assert(await logRows() === 11, `the log lists the 11 requests: ${await logRows()}`)
  assert(await page.getByRole('radio', { name: 'Custom' }).count() === 0, 'the chart has no range picker of its own')
  // The last 15 minutes: the chart by minute, the log bounded the same way.
  await page.getByTestId('time-range').selectOption('15m')
  for (const t0 = Date.now(); !seen.series.some((e) => e.params.bucket === '1m'); await page.waitForTimeout(100)) {
    assert(Date.now() - t0 < 10_000, 'choosing the last 15 minutes did not ask GetUsage by minute')
  }
  await page.getByTestId('traffic-chart').locator('figcaption', { hasText: 'Requests: 11.' }).waitFor()
  const q15 = latest(seen.series, { bucket: '1m' })
  assert(q15.body.summary.total === 11, `GetUsage for the last 15 minutes: ${JSON.stringify(q15.body.summary)}`)
  assert(new Date(q15.params.to) - new Date(q15.params.from) === 15 * 60_000, `15 minutes asked: ${JSON.stringify(q15.params)}`)
  await page.waitForFunction(() => document.querySelectorAll('tbody tr.clickable').length === 11, null, { timeout: 10_000 })
    .catch(async () => assert(false, `the log lists ${await logRows()} requests of the last 15 minutes, want 11`))
  await shot(page, 'requests-one-range')
  // A custom range in the past that holds none: the chart and the log are empty together.
  await page.getByTestId('time-range').selectOption('custom')
  const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19)
  const t = Math.floor(Date.now() / 1000) * 1000
  await page.getByTestId('time-range-from').fill(local(new Date(t - 3 * 3600_000)))
  await page.getByTestId('time-range-to').fill(local(new Date(t - 2 * 3600_000)))
  await page.getByText('No requests yet').waitFor()
  await page.getByTestId('traffic-chart').locator('figcaption', { hasText: 'no requests' }).waitFor()
  const past = latest(seen.series, { bucket: '' })
  assert(new Date(past.params.to) - new Date(past.params.from) === 3600_000, `the chart asks for the custom hour: ${JSON.stringify(past.params)}`)
  await ctx.close()
})

flow('key detail screen charts the key\'s own traffic', async ({ browser, srv, state }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
  const page = await ctx.newPage()
  const seen = watchUsage(page)
  await signIn(page, srv, admin)
  await page.goto(`${srv.console}/keys/${state.key.id}`)
  await page.getByRole('heading', { level: 1, name: /Usage key/ }).waitFor()
  // The key's requests: the six it made; its two to no route never got as far as its verification.
  await untilCaption(page, 'key-usage-chart', 'Requests: 6.')
  const mine = latest(seen.series, { keyId: state.key.id }).body
  assert(mine.summary.total === 6 && mine.summary.ok === 6 && mine.summary.rejected === 0, `key usage ${JSON.stringify(mine.summary)}`)
  assert(mine.bucket === '1h', `the key screen starts on the last day by hour, got ${mine.bucket}`)
  await tableMatches(page, 'key-usage-chart', mine)
  await page.getByTestId('key-usage-chart').scrollIntoViewIfNeeded()
  await shot(page, 'usage-key')
  await ctx.close()
})

flow('Gateway screen shows the error rate and the busiest keys and routes, as GetUsageTop counts them', async ({ browser, srv, state }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1100 } })
  const page = await ctx.newPage()
  const seen = watchUsage(page)
  await signIn(page, srv, admin)
  await page.goto(`${srv.console}/gateway`)
  const stats = page.getByTestId('usage-stats')
  await stats.waitFor({ timeout: 15_000 })
  const deadline = Date.now() + 30_000
  while ((await stats.locator('[data-stat="total"]').textContent()).trim() !== '11') {
    assert(Date.now() < deadline, `requests on the Gateway screen: ${await stats.locator('[data-stat="total"]').textContent()}`)
    await page.waitForTimeout(1500)
    await page.reload()
    await stats.waitFor()
  }
  assert((await stats.locator('[data-stat="errorRate"]').textContent()).trim() === '45%', 'error rate is not 5 of 11')
  assert((await stats.locator('[data-stat="rejected"]').textContent()).trim() === '5', 'refusals are not 5')
  const keysTop = latest(seen.top, { by: 'key' }).body.items
  const routesTop = latest(seen.top, { by: 'route' }).body.items
  assert(keysTop.length === 2 && keysTop[0].keyId === state.key.id && keysTop[0].keyName === 'Usage key' && keysTop[0].total === 6 &&
    keysTop[1].keyId === '' && keysTop[1].total === 5, `top keys ${JSON.stringify(keysTop)}`)
  assert(routesTop.length === 2 && routesTop[0].route === '/demo' && routesTop[0].total === 9 && routesTop[1].route === '' &&
    routesTop[1].total === 2, `top routes ${JSON.stringify(routesTop)}`)
  for (const [id, items, names] of [['top-keys', keysTop, ['Usage key', 'No API key']], ['top-routes', routesTop, ['/demo', 'No route']]]) {
    const fig = page.getByTestId(id)
    const text = (await fig.locator('p.sr-only').textContent()).trim()
    for (const [i, it] of items.entries()) assert(text.includes(`${names[i]} (${it.total})`), `${id} summary "${text}" lacks ${names[i]} (${it.total})`)
    await fig.getByRole('button', { name: 'Show as table' }).click()
    const totals = await fig.locator('tbody td[data-col="total"]').allTextContents()
    assert(JSON.stringify(totals) === JSON.stringify(items.map((it) => String(it.total))), `${id} table ${totals}`)
    await fig.getByRole('button', { name: 'Show as chart' }).click()
  }
  await page.getByTestId('error-rate-chart').scrollIntoViewIfNeeded()
  await shot(page, 'usage-gateway')
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.waitForTimeout(300)
  await shot(page, 'usage-gateway-dark')
  await ctx.close()
})

flow('right to left: in Arabic time runs from right to left and the summary is Arabic', async ({ browser, srv }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
  const page = await ctx.newPage()
  await signIn(page, srv, admin)
  await useLanguage(page, srv.console, 'ar')
  await page.goto(`${srv.console}/requests`)
  const fig = page.getByTestId('traffic-chart')
  await fig.locator('.recharts-bar-rectangle').first().waitFor({ timeout: 15_000 })
  const text = (await fig.locator('figcaption').textContent()).trim()
  assert(!/Requests|Errors/.test(text) && /الطلبات/.test(text), `Arabic summary: ${text}`)
  const side = await barsSide(page, 'traffic-chart')
  assert(side !== null && side < 0.5, `in Arabic the newest bucket is drawn at ${side} of the width, want the left`)
  const spill = await overflowing(page, '.chart-summary, .time-range, .btn')
  assert(spill.length === 0, `ar: content spills out of its box: ${spill.join(' | ')}`)
  await shot(page, 'usage-requests-ar')
  await useLanguage(page, srv.console, 'en')
  await ctx.close()
})

let srv, browser
let failed = 0
try {
  kg(['users', 'add', '--email', admin.email, '--role', 'admin'], admin.password + '\n')
  const state = { key: JSON.parse(kg(['keys', 'create', '--name', 'Usage key', '--json'])) }
  srv = await serve(dataDir)
  browser = await launch()
  for (const f of flows) {
    if (only && !f.name.includes(only) && !f.name.startsWith('Requests screen')) continue
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
        for (const p of c.pages()) await p.screenshot({ path: join(dir, `usage-${f.name.replace(/\W+/g, '-')}-${i++}.png`) }).catch(() => {})
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
console.log(failed ? `\n${failed} usage flow(s) failed` : '\nall usage flows passed')
process.exit(failed ? 1 : 0)
