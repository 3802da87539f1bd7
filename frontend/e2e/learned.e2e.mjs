// End-to-end: the Docs screen's Learned view against the real `keygate serve --demo`. The /demo
// route learns, traffic goes through the gateway, and the view shows the learned document, what
// is new, and adopts it as the route's document.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, launch, serve } from './lib.mjs'

const email = 'learned-admin@example.com'
const password = 'learned view e2e password'

function check(cond, msg) {
  if (!cond) throw new Error(`FAIL: ${msg}`)
  console.log(`ok - ${msg}`)
}

const dataDir = mkdtempSync(join(tmpdir(), 'keygate-learned-e2e-'))
const kg = (args, input) => execFileSync(bin, ['--data-dir', dataDir, ...args], { input, encoding: 'utf8' })
let server, browser
try {
  kg(['users', 'add', '--email', email, '--role', 'admin'], password + '\n')
  const key = JSON.parse(kg(['keys', 'create', '--name', 'learned e2e', '--json'])).key
  server = await serve(dataDir, { showStderr: true })
  const consoleURL = server.console
  const gatewayURL = server.gateway
  // The CLI beside the running server turns learning on; the gateway follows within a second.
  kg(['routes', 'update', '/demo', '--learn'])
  await new Promise((r) => setTimeout(r, 1500))
  const call = (method, path, body) => fetch(gatewayURL + path, { method, headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })
  for (let i = 0; i < 3; i++) {
    check((await call('GET', '/demo/pets')).ok, 'GET /demo/pets through the gateway')
    check((await call('GET', '/demo/whoami')).ok, 'GET /demo/whoami through the gateway')
  }
  await new Promise((r) => setTimeout(r, 2500)) // the learner writes once a second

  browser = await launch()
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
  const page = await ctx.newPage()
  const login = await page.request.post(`${consoleURL}/api/v1/session`, { data: { email, password }, headers: { Origin: consoleURL } })
  check(login.ok(), `signed in (${login.status()})`)
  await page.goto(`${consoleURL}/docs`)
  await page.getByTestId('docs-switch-learned').click()
  const view = page.getByTestId('learned-view')
  await view.getByTestId('learned-summary').waitFor({ timeout: 20000 })
  const summary = await view.getByTestId('learned-summary').textContent()
  check(/Operations: 2\b/.test(summary), `the summary counts the learned operations: ${summary}`)
  await view.getByTestId('learned-changes').waitFor()
  await view.getByTestId('learned-scalar').getByText('GET /pets').first().waitFor({ timeout: 30000 })
  check(true, 'the learned document is shown by the docs viewer')
  const href = await view.getByTestId('learned-export').getAttribute('href')
  check(href.startsWith('data:application/json') && decodeURIComponent(href).includes('"openapi":"3.0.3"'), 'export offers the learned document as JSON')
  check(!decodeURIComponent(href).includes(key), 'the learned document holds no key')

  await view.getByTestId('learned-adopt').click()
  await page.getByText('The route now uses the learned document.').waitFor({ timeout: 10000 })
  const routes = await (await page.request.get(`${consoleURL}/api/v1/routes`)).json()
  const demo = routes.routes.find((r) => r.prefix === '/demo')
  check(demo.openapiSource.endsWith('.learned.json'), `the route's document is now the learned one: ${demo.openapiSource}`)
  await view.getByText('Nothing new: the current document already describes everything learned.').waitFor({ timeout: 15000 })
  check(true, 'after adopting, nothing learned is new')
  console.log('learned e2e: all checks passed')
} finally {
  await browser?.close()
  await server?.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
