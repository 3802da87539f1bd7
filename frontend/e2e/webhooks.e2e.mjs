// End-to-end: the Webhooks screen against the real `keygate serve` and a real local receiver
// that verifies every delivery as a Standard Webhooks receiver does (HMAC-SHA256 over
// "id.timestamp.body" with the whsec_ secret the screen showed once). Covers: adding an
// endpoint in the UI, a key change made by the CLI beside the server reaching the receiver
// signed, the deliveries table showing its status, a refused delivery (410) shown as failed and
// sent again from the UI, key.quota_exhausted when a key's last request passes the gateway,
// and removing the endpoint.
import { execFileSync } from 'node:child_process'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer as createHTTPServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, freePort, launch, serve, shots as screenshots } from './lib.mjs'

const shots = process.env.SCREENSHOTS ? screenshots : ''
const email = 'hooks-admin@example.com'
const password = 'webhooks e2e password'

function check(cond, msg) {
  if (!cond) throw new Error(`FAIL: ${msg}`)
  console.log(`ok - ${msg}`)
}
const until = async (what, fn, ms = 15000) => {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`FAIL: timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

// verify is a receiver's check, written from the specification (not Keygate's code).
function verify(secret, headers, body) {
  const id = headers['webhook-id'], ts = headers['webhook-timestamp'], sigs = headers['webhook-signature']
  if (!id || !ts || !sigs) return 'missing headers'
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return 'timestamp out of tolerance'
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const want = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest()
  for (const s of sigs.split(' ')) {
    const [v, sig] = s.split(',')
    const got = Buffer.from(sig ?? '', 'base64')
    if (v === 'v1' && got.length === want.length && timingSafeEqual(got, want)) return ''
  }
  return 'no signature matches'
}

const received = []
const quotaReceived = []
let secret = ''
let quotaSecret = ''
let answer = 204
const receiver = createHTTPServer((req, res) => {
  let body = ''
  req.on('data', (d) => { body += d })
  req.on('end', () => {
    if (req.url === '/quota') {
      quotaReceived.push({ problem: verify(quotaSecret, req.headers, body), json: JSON.parse(body) })
      return res.writeHead(204).end()
    }
    received.push({ headers: req.headers, body, problem: verify(secret, req.headers, body), json: JSON.parse(body) })
    res.writeHead(answer).end()
  })
})

const dataDir = mkdtempSync(join(tmpdir(), 'keygate-webhooks-e2e-'))
const kg = (args, input) => execFileSync(bin, ['--data-dir', dataDir, ...args], { input, encoding: 'utf8' })
let server, browser
try {
  const rcPort = await freePort()
  await new Promise((r) => receiver.listen(rcPort, '127.0.0.1', r))
  const hookURL = `http://127.0.0.1:${rcPort}/keygate`
  kg(['users', 'add', '--email', email, '--role', 'admin'], password + '\n')
  server = await serve(dataDir, { showStderr: true })
  const consoleURL = server.console

  browser = await launch()
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: consoleURL })
  const page = await ctx.newPage()
  const login = await page.request.post(`${consoleURL}/api/v1/session`, { data: { email, password }, headers: { Origin: consoleURL } })
  check(login.ok(), `signed in (${login.status()})`)
  await page.goto(`${consoleURL}/keys`)
  await page.getByRole('link', { name: 'Webhooks' }).click()
  await page.getByText('No endpoints yet').waitFor()
  check(true, 'the Webhooks screen is in the navigation and starts empty')

  // A bad URL is refused with the field's message, and nothing is added.
  await page.getByRole('button', { name: 'Add endpoint' }).first().click()
  const dialog = page.getByRole('dialog')
  await dialog.getByLabel('URL').fill('ftp://example.com/hook')
  await dialog.getByRole('button', { name: 'Add endpoint' }).click()
  await dialog.getByText('Enter an absolute http:// or https:// URL with a host name.').waitFor()
  check(true, 'a bad URL is refused in the dialog')
  await dialog.getByLabel('URL').fill(hookURL)
  await dialog.getByRole('checkbox', { name: 'key.created' }).check()
  await dialog.getByRole('checkbox', { name: 'key.revoked' }).check()
  await dialog.getByRole('button', { name: 'Add endpoint' }).click()
  const shown = await page.getByTestId('webhook-secret').textContent({ timeout: 10000 })
  check(/^whsec_[A-Za-z0-9+/]{43}=$/.test(shown), 'the signing secret is shown once')
  secret = shown
  if (shots) { mkdirSync(shots, { recursive: true }); await page.screenshot({ path: join(shots, 'webhook-secret.png') }) }
  await page.getByRole('button', { name: 'Done' }).click()
  const endpoints = page.getByTestId('webhook-endpoints')
  await endpoints.getByText(hookURL).waitFor()
  check((await endpoints.textContent()).includes('key.created, key.revoked'), 'the endpoint is listed with its events')
  check(!(await page.content()).includes(secret.slice(6)), 'the page no longer holds the secret')

  // A key change made by the CLI beside the server: queued in its transaction, delivered by the
  // server's worker, signed with the secret the screen showed.
  const key = JSON.parse(kg(['keys', 'create', '--name', 'hooked', '--json']))
  await until('key.created at the receiver', () => received.length >= 1)
  const first = received[0]
  check(first.problem === '', `the delivery verifies (${first.problem || 'signature, timestamp'})`)
  check(first.json.type === 'key.created' && first.json.data.key.id === key.id && first.json.data.actor === 'cli', 'it is key.created for that key, made by the CLI')
  check(!first.body.includes(key.key), 'the delivery does not hold the key\'s secret')
  kg(['keys', 'rename', key.id, 'renamed']) // key.updated: not wanted by this endpoint
  const deliveries = page.getByTestId('webhook-deliveries')
  await deliveries.locator('tr[data-event="key.created"][data-status="delivered"]').waitFor({ timeout: 10000 })
  check(true, 'the deliveries table shows key.created as delivered')

  // The receiver refuses the next one for good (410): failed at once; then it is sent again.
  answer = 410
  kg(['keys', 'revoke', key.id, '--reason', 'e2e'])
  await until('key.revoked at the receiver', () => received.some((r) => r.json.type === 'key.revoked'))
  const failedRow = deliveries.locator('tr[data-event="key.revoked"][data-status="failed"]')
  await failedRow.waitFor({ timeout: 10000 })
  check((await failedRow.textContent()).includes('410'), 'a 410 answer fails the delivery and shows the status')
  if (shots) await page.screenshot({ path: join(shots, 'webhooks.png'), fullPage: true })
  answer = 200
  await failedRow.getByRole('button', { name: 'Send the key.revoked delivery again' }).click()
  await deliveries.locator('tr[data-event="key.revoked"][data-status="delivered"]').waitFor({ timeout: 10000 })
  const revoked = received.filter((r) => r.json.type === 'key.revoked')
  check(revoked.length === 2 && revoked[0].headers['webhook-id'] === revoked[1].headers['webhook-id'] && revoked[1].problem === '', 'sent again with the same webhook-id, verified')
  check(received.every((r) => r.json.type !== 'key.updated'), 'an event the endpoint did not ask for is not sent')

  // key.quota_exhausted through the gateway: the request that uses a key's last allowed request
  // queues the event (keys' seam), delivered to an endpoint the CLI added for it.
  const quotaHook = JSON.parse(kg(['webhooks', 'add', `http://127.0.0.1:${rcPort}/quota`, '--event', 'key.quota_exhausted', '--json']))
  quotaSecret = quotaHook.secret
  const metered = JSON.parse(kg(['keys', 'create', '--name', 'metered', '--quota', '1', '--json']))
  const gw = (k) => fetch(`${server.gateway}/demo/pets`, { headers: { 'x-api-key': k } })
  check((await gw(metered.key)).status === 200, 'the metered key makes its one request through the gateway')
  check((await gw(metered.key)).status === 429, 'the next one is refused: QUOTA_EXCEEDED')
  await until('key.quota_exhausted at the receiver', () => quotaReceived.length >= 1)
  check(quotaReceived.length === 1 && quotaReceived[0].problem === '' && quotaReceived[0].json.type === 'key.quota_exhausted' &&
    quotaReceived[0].json.data.key.id === metered.id, 'key.quota_exhausted arrives once, verified, for that key')
  kg(['webhooks', 'remove', quotaHook.id])

  // Removing the endpoint: nothing more is sent.
  await endpoints.getByRole('button', { name: `Remove endpoint ${hookURL}` }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Remove endpoint' }).click()
  await page.getByText('No endpoints yet').waitFor()
  const before = received.length
  kg(['keys', 'create', '--name', 'after removal'])
  await new Promise((r) => setTimeout(r, 2500))
  check(received.length === before, 'a removed endpoint gets nothing more')
  const audit = JSON.parse(kg(['audit', 'list', '--json'])).entries.map((e) => e.action)
  check(audit.includes('webhook.add') && audit.includes('webhook.retry') && audit.includes('webhook.remove'), 'adding, resending and removing are audited')
  console.log('webhooks e2e: all checks passed')
} finally {
  await browser?.close()
  await server?.stop()
  receiver.close()
  rmSync(dataDir, { recursive: true, force: true })
}
