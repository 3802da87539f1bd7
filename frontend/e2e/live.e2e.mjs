// End-to-end: the live request log and the exports against a real `keygate serve --demo`.
// A request through the gateway shows on the open Requests screen within a second, without a
// reload; Pause holds the list and Resume fills in what came meanwhile; a lost connection
// resumes without a gap or a repeat; the CSV and NDJSON exports parse and hold neither the key
// nor a withheld header value.
//
//   node e2e/live.e2e.mjs            (SCREENSHOTS=1 also writes docs/screenshots/requests-live.png …)
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, launch, repo, serve } from './lib.mjs'

const shots = process.env.SCREENSHOTS === '1' ? join(repo, 'docs', 'screenshots') : process.env.LIVE_SHOTS
const email = 'live-admin@example.com'
const password = 'live log e2e password'
const withheld = 'e2e-withheld-value-7731' // sent in a header whose value the log must not keep

function check(cond, msg) {
  if (!cond) throw new Error(`FAIL: ${msg}`)
  console.log(`ok - ${msg}`)
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** parseCSV is a strict RFC 4180 reader: it throws on a stray quote. */
function parseCSV(text) {
  const rows = []
  let row = [], cell = '', quoted = false, i = 0
  for (; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++ } else if (c === '"') { quoted = false; if (![',', '\r', undefined].includes(text[i + 1])) throw new Error(`stray quote at ${i}`) } else cell += c
    } else if (c === '"') { if (cell !== '') throw new Error(`quote inside a cell at ${i}`); quoted = true }
    else if (c === ',') { row.push(cell); cell = '' }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++ }
    else cell += c
  }
  if (quoted || cell !== '' || row.length) throw new Error('CSV does not end with a complete line')
  return rows
}

async function shot(page, name) {
  if (!shots) return
  mkdirSync(shots, { recursive: true })
  await page.waitForTimeout(300)
  await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 6000 }).catch(() => {})
  await page.screenshot({ path: join(shots, `${name}.png`) })
}

const dataDir = mkdtempSync(join(tmpdir(), 'keygate-live-e2e-'))
const kg = (args, input) => execFileSync(bin, ['--data-dir', dataDir, ...args], { input, encoding: 'utf8' })
let server, browser
try {
  kg(['users', 'add', '--email', email, '--role', 'admin'], password + '\n')
  const key = JSON.parse(kg(['keys', 'create', '--name', 'Live e2e', '--json'])).key
  server = await serve(dataDir, { showStderr: true })
  const consoleURL = server.console
  const gatewayURL = server.gateway
  const call = (path) => fetch(gatewayURL + path, { headers: { 'x-api-key': key, 'x-private-note': withheld } })
  check((await call('/demo/pets')).ok, 'a request through the gateway before the screen opens')

  browser = await launch()
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })
  const page = await ctx.newPage()
  const login = await page.request.post(`${consoleURL}/api/v1/session`, { data: { email, password }, headers: { Origin: consoleURL } })
  check(login.ok(), `signed in (${login.status()})`)
  const streams = []
  page.on('request', (r) => { if (r.url().includes('/api/v1/requests/stream')) streams.push(r.url()) })
  await page.goto(`${consoleURL}/requests`)
  await page.getByTestId('live-state').getByText('Live').waitFor({ timeout: 10000 })
  await page.locator('tbody tr', { hasText: '/demo/pets' }).first().waitFor({ timeout: 5000 })
  check(true, 'the screen streams (server-sent events) and shows the earlier request')
  await page.evaluate(() => { window.__noReload = true })

  // A request through the gateway shows within a second, without a reload.
  const tag = (n) => `/demo/pets/live-${n}-${Date.now().toString(36)}`
  const p1 = tag(1)
  const sent = Date.now()
  await call(p1)
  await page.locator('tbody tr', { hasText: p1 }).waitFor({ timeout: 3000 })
  const took = Date.now() - sent
  check(took <= 1000, `a request through the gateway appears within 1 s (${took} ms)`)
  check(await page.evaluate(() => window.__noReload === true), 'the page was not reloaded')
  check(!streams.some((u) => u.includes('/api/v1/requests?')), 'the screen does not poll ListRequests')
  await shot(page, 'requests-live')

  // Pause holds the list; Resume fills in what came meanwhile, once.
  await page.getByRole('button', { name: 'Pause' }).click()
  await page.getByTestId('live-state').getByText('Paused').waitFor()
  const p2 = tag(2)
  await call(p2)
  await sleep(1500)
  check(await page.locator('tbody tr', { hasText: p2 }).count() === 0, 'paused: a new request is not added')
  await page.getByRole('button', { name: 'Resume' }).click()
  await page.locator('tbody tr', { hasText: p2 }).waitFor({ timeout: 3000 })
  check(true, 'resumed: the request made while paused is filled in')
  check(streams.at(-1).includes('after='), `resuming asks for the entries after the last one (${streams.at(-1)})`)

  // A lost connection: the browser goes offline, a request is made, it comes back.
  await ctx.setOffline(true)
  await sleep(300)
  const p3 = tag(3)
  await call(p3)
  await sleep(500)
  await ctx.setOffline(false)
  await page.locator('tbody tr', { hasText: p3 }).waitFor({ timeout: 8000 })
  check(true, 'after a lost connection the request made meanwhile arrives')
  for (const p of [p1, p2, p3]) check(await page.locator('tbody tr', { hasText: p }).count() === 1, `${p} is shown once`)

  // Exports: what is shown, parseable, without the key or a withheld header value.
  const shown = await page.locator('tbody tr').count()
  const save = async (name) => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(name).click()])
    return { file: dl.suggestedFilename(), text: readFileSync(await dl.path(), 'utf8') }
  }
  const csv = await save('export-requests-csv')
  check(/^keygate-requests-\d{8}-\d{6}\.csv$/.test(csv.file), `CSV file name ${csv.file}`)
  const rows = parseCSV(csv.text)
  check(rows[0].join(',') === 'id,time,requestId,method,path,status,latencyMs,route,keyId,keyName,userId,orgId,errorCode,clientAddr,headers', `CSV header: ${rows[0]}`)
  check(rows.length - 1 === shown, `CSV has the ${shown} rows shown (${rows.length - 1})`)
  check(rows.slice(1).every((r) => r.length === rows[0].length), 'every CSV row has every column')
  check([p1, p2, p3].every((p) => rows.some((r) => r[4] === p)), 'the CSV holds the live requests')
  check(rows.slice(1).every((r) => JSON.parse(r[14]) && typeof JSON.parse(r[14]) === 'object'), 'the headers column is JSON')
  check(!csv.text.includes(key) && !csv.text.includes(withheld), 'the CSV holds neither the key nor the withheld header value')
  check(rows.some((r) => r[14].includes('"X-Private-Note":["[redacted]"]')), 'the withheld header shows as [redacted]')
  const nd = await save('export-requests-ndjson')
  const lines = nd.text.trimEnd().split('\n').map((l) => JSON.parse(l))
  check(lines.length === shown && lines.every((e) => e.id && e.path && e.time && typeof e.status === 'number'), `NDJSON: ${lines.length} objects, each an entry`)
  check(!nd.text.includes(key) && !nd.text.includes(withheld), 'the NDJSON holds neither the key nor the withheld header value')
  check(lines.find((e) => e.path === p1).keyName === 'Live e2e', 'the NDJSON names the key, not its secret')

  // Time range: a custom range that has ended lists once, without Live.
  await page.getByTestId('time-range').selectOption('custom')
  const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19)
  await page.getByTestId('time-range-from').fill(local(new Date(Date.now() - 3600_000)))
  await page.getByTestId('time-range-to').fill(local(new Date(Date.now() + 60_000)))
  await page.getByTestId('live-state').getByText('Fixed time range').waitFor()
  await page.locator('tbody tr', { hasText: p3 }).waitFor()
  check(true, 'a custom range lists the requests within it')
  await page.getByTestId('time-range-from').fill(local(new Date(Date.now() + 3600_000)))
  await page.getByText('The end must be after the start.').waitFor()
  check(true, 'a range that ends before it starts is refused with a message')
  await page.getByTestId('time-range-to').fill(local(new Date(Date.now() + 7200_000)))
  await page.getByText('No requests yet').waitFor()
  check(true, 'a range with no requests shows the empty state')
  await page.getByTestId('time-range').selectOption('15m')
  await page.getByTestId('live-state').getByText('Live').waitFor()
  await page.locator('tbody tr', { hasText: p1 }).waitFor()
  const p4 = tag(4)
  await call(p4)
  await page.locator('tbody tr', { hasText: p4 }).waitFor({ timeout: 3000 })
  check(true, 'the last 15 minutes stream live')
  await shot(page, 'requests-range')

  // Audit log: filter by action and actor, export what is shown.
  await page.goto(`${consoleURL}/audit`)
  await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor()
  await page.getByTestId('audit-action').selectOption('key.create')
  await page.locator('tbody tr').first().waitFor()
  check(await page.locator('tbody tr', { hasText: 'Signed in' }).count() === 0, 'filtered by action: no sign-ins listed')
  check(await page.locator('tbody tr', { hasText: 'Key created' }).count() === 1, 'filtered by action: the key creation is listed')
  await page.getByTestId('audit-actor').fill('nobody@example.com')
  await page.getByText('Nothing recorded yet').waitFor()
  check(true, 'filtered by an actor with no entries: empty')
  await page.getByTestId('audit-actor').fill('cli')
  await page.locator('tbody tr', { hasText: 'Key created' }).waitFor()
  const audit = await save('export-audit-csv')
  const arows = parseCSV(audit.text)
  check(arows[0].join(',') === 'id,at,actor,actorEmail,orgId,action,target,detail,clientAddr' && arows.length === 2 && arows[1][5] === 'key.create' && arows[1][2] === 'cli',
    `the audit CSV holds what is shown: ${JSON.stringify(arows)}`)
  const andj = await save('export-audit-ndjson')
  check(andj.text.trimEnd().split('\n').map((l) => JSON.parse(l)).every((e) => e.action === 'key.create'), 'the audit NDJSON holds what is shown')
  check(!audit.text.includes(key) && !andj.text.includes(key) && !audit.text.includes(password), 'the audit exports hold no secret')
  await shot(page, 'audit-filter')

  // Audit paging: past the first 200 entries "Load more" reaches the oldest.
  const made = await page.evaluate(async () => {
    const me = await (await fetch('/api/v1/me')).json()
    const org = me.orgs[0].id
    let n = 0
    for (let i = 0; i < 205; i++) {
      const r = await fetch('/api/v1/keys', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken },
        body: JSON.stringify({ org, name: `audit page ${i}` }) })
      if (r.ok) n++
    }
    return n
  })
  check(made === 205, `205 keys created through the console API (${made})`)
  await page.goto(`${consoleURL}/audit`)
  await page.getByTestId('audit-action').selectOption('key.create')
  const auditRows = () => page.locator('tbody tr').count()
  await page.getByTestId('audit-more').waitFor()
  check(await auditRows() === 200, `the first page shows 200 entries (${await auditRows()})`)
  await page.getByTestId('audit-more').scrollIntoViewIfNeeded()
  await shot(page, 'audit-more')
  await page.getByTestId('audit-more').click()
  // The CLI's key is the oldest entry. (A loose 'cli' would also match a row whose random key
  // id holds those letters in any case, as one did in a test run.)
  await page.locator('tbody tr').filter({ has: page.getByRole('cell', { name: 'cli', exact: true }) })
    .filter({ hasText: '"Live e2e"' }).waitFor()
  check(await auditRows() === 206, `"Load more" shows the rest, down to the CLI's first key (${await auditRows()})`)
  check(await page.getByTestId('audit-more').count() === 0, 'no "Load more" once the oldest entry is shown')
  console.log('live e2e: all checks passed')
} finally {
  await browser?.close()
  await server?.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
