// End-to-end flow of the Gateway screen's route dialog against the real `keygate serve --demo`:
// a route made in the dialog with a scope and the signed identity on, shown so in the routes
// list, its scopes edited in the dialog, and then the gateway over its socket: a key without
// the route's scope gets 403 INSUFFICIENT_SCOPE, a key with it passes and the upstream (a
// server of this script) receives an X-Keygate-Jwt that verifies with the gateway's JWKS and
// names the key.
//
//   node e2e/routes.e2e.mjs                  the flow
//   SCREENSHOTS=1 node e2e/routes.e2e.mjs    also write docs/screenshots/route-dialog.png and gateway-routes-scopes.png
import { createServer } from 'node:http'
import { webcrypto } from 'node:crypto'
import { check, freePort, overflowing, shot, start, throughGateway } from './lib.mjs'

const srv = await start()
const seen = []
const upstream = createServer((req, res) => {
  seen.push(req.headers)
  res.writeHead(200, { 'content-type': 'text/plain' }).end('orders upstream')
})
const upPort = await freePort()
await new Promise((r) => upstream.listen(upPort, '127.0.0.1', r))

const b64 = (s) => Buffer.from(s, 'base64url')

/** verified checks token's ES256 signature with the gateway's JWKS and returns its claims. */
async function verified(token) {
  const [h, p, s] = token.split('.')
  const header = JSON.parse(b64(h))
  const { keys } = await (await fetch(`${srv.gateway}/.well-known/jwks.json`)).json()
  const jwk = keys.find((k) => k.kid === header.kid)
  check(header.alg === 'ES256' && jwk, `the token's key ${header.kid} is in the gateway's JWKS`)
  const key = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
  const ok = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, b64(s), Buffer.from(`${h}.${p}`))
  check(ok, 'the upstream’s X-Keygate-Jwt verifies with the gateway’s JWKS')
  return JSON.parse(b64(p))
}

/** eventually retries f until it returns true (it returns what it saw otherwise). */
async function eventually(what, f) {
  const deadline = Date.now() + 5000
  let last
  while (Date.now() < deadline) {
    last = await f()
    if (last === true) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`not within 5 s: ${what} (last: ${JSON.stringify(last)})`)
}

let failed = false
try {
  const created = (args) => JSON.parse(srv.kg(['keys', 'create', '--json', ...args]))
  const reader = created(['--name', 'Orders reader', '--scope', 'orders:read'])
  const writer = created(['--name', 'Orders writer', '--scope', 'orders:write'])

  const ctx = await srv.context()
  const page = await ctx.newPage()
  await page.goto(`${srv.console}/gateway`)
  await page.getByRole('button', { name: 'Add route' }).click()
  const d = page.getByRole('dialog', { name: 'Add a route' })
  await d.getByLabel('Path prefix').fill('/orders')
  await d.getByLabel('Upstream URL').fill(`http://127.0.0.1:${upPort}`)
  // A scope with a wildcard is the key's business, not the route's: refused in the dialog.
  await d.getByLabel('Scopes every request needs').fill('orders:*')
  await d.getByRole('button', { name: 'Save' }).click()
  await d.getByText('Not resource or resource:action', { exact: false }).waitFor()
  check(true, 'the dialog refuses a wildcard scope before anything is sent')
  await d.getByLabel('Scopes every request needs').fill('orders:read')
  check(await d.getByText('Not resource or resource:action', { exact: false }).count() === 0, 'the field’s message goes once the field is changed')
  await d.getByLabel(/Send the upstream a signed identity/).check()
  check((await overflowing(page, '[role=dialog] label, [role=dialog] .field-hint, [role=dialog] input')).length === 0, 'nothing in the dialog spills out of its box')
  await shot(page, 'route-dialog', { fullPage: false })
  await d.getByRole('button', { name: 'Save' }).click()
  await d.waitFor({ state: 'detached' })

  // The list shows the scope and the signed identity.
  const scopes = page.getByTestId('route-scopes-/orders')
  await scopes.getByText('orders:read', { exact: true }).waitFor()
  const row = page.getByRole('row').filter({ has: scopes })
  await row.getByText('Signed identity').waitFor()
  check(true, 'the routes list shows /orders with the scope orders:read and the signed identity')
  const listed = JSON.parse(srv.kg(['routes', 'list', '--json']))
  const stored = (listed.routes ?? listed).find((r) => r.prefix === '/orders')
  check(stored?.identityJwt === true && JSON.stringify(stored?.scopes) === '["orders:read"]', `the server holds the route as the dialog said: ${JSON.stringify(stored)}`)

  // Edit: the route now asks for orders:write.
  await page.getByRole('button', { name: 'Edit route /orders' }).click()
  const e = page.getByRole('dialog', { name: 'Edit route' })
  const field = e.getByLabel('Scopes every request needs')
  check(await field.inputValue() === 'orders:read', 'the edit dialog shows the route’s scope')
  check(await e.getByLabel(/Send the upstream a signed identity/).isChecked(), 'the edit dialog shows the signed identity on')
  await field.fill('orders:write')
  await e.getByRole('button', { name: 'Save' }).click()
  await e.waitFor({ state: 'detached' })
  await scopes.getByText('orders:write', { exact: true }).waitFor()
  check(await scopes.getByText('orders:read', { exact: true }).count() === 0, 'the list shows the edited scope in place of the old one')
  // The table scrolls sideways on narrow screens; the picture shows it from its start.
  await page.evaluate(() => document.querySelectorAll('.table-wrap').forEach((w) => { w.scrollLeft = 0 }))
  await page.getByRole('heading', { name: 'Routes' }).scrollIntoViewIfNeeded()
  await shot(page, 'gateway-routes-scopes', { fullPage: false })

  // The gateway enforces the edit: the reader is refused naming the scope, the writer passes.
  await eventually('the reader is refused', async () => {
    const r = await throughGateway(srv, reader.key, '/orders/1')
    return r.status === 403 && r.code === 'INSUFFICIENT_SCOPE' ? true : r
  })
  const refused = await fetch(`${srv.gateway}/orders/1`, { headers: { 'x-api-key': reader.key } })
  const problem = await refused.json()
  check(refused.headers.get('content-type').startsWith('application/problem+json') && problem.detail.includes('orders:write'),
    `a key without orders:write gets a problem naming it: ${problem.detail}`)
  const before = seen.length
  const ok = await throughGateway(srv, writer.key, '/orders/1')
  check(ok.status === 200 && seen.length === before + 1, `a key with orders:write passes: ${ok.status} ${ok.code}`)
  const got = seen.at(-1)
  check(!got['x-api-key'], 'the key does not reach the upstream')
  const claims = await verified(got['x-keygate-jwt'] ?? '')
  check(claims.sub === writer.id && [].concat(claims.aud).includes('/orders') && claims.iss === srv.gateway &&
    JSON.stringify(claims.scopes) === '["orders:write"]' && claims.exp - claims.iat === 120,
  `the upstream’s token names the key, the route and the key’s scopes: ${JSON.stringify(claims)}`)
  await ctx.close()
} catch (err) {
  failed = true
  console.error(`not ok - ${err.stack ?? err}`)
} finally {
  upstream.close()
  await srv.stop()
}
process.exit(failed ? 1 : 0)
