// End-to-end: the gateway's port is a setting changed on the Gateway screen of a real
// `keygate serve --demo` started without --listen (its ports stored by `keygate gateway ports
// set`). A taken port is refused on its field and the gateway stays where it was; a free one
// moves the running gateway at once: the old port refuses connections and a request with a
// key through the new port reaches the upstream. With SCREENSHOTS=1 it writes
// docs/screenshots/gateway-ports*.png (English, the refused port, Arabic and Hebrew).
//
//   node e2e/ports.e2e.mjs
import { createServer } from 'node:net'
import { join } from 'node:path'
import { check, freePort, shots, signIn, start, takeShots, throughGateway, useLanguage } from './lib.mjs'

const admin = { email: 'ports-admin@example.com', password: 'ports e2e admin password' }

/** refused is true when nothing accepts connections on the gateway URL any more. */
async function refused(url) {
  try {
    await fetch(`${url}/demo/pets`, { signal: globalThis.AbortSignal.timeout(5000) })
    return false
  } catch (e) {
    return e.cause?.code === 'ECONNREFUSED'
  }
}

async function cardShot(page, name) {
  if (!takeShots) return
  await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 6000 }).catch(() => {})
  const card = page.locator('section.card', { has: page.getByRole('heading', { name: /^(Ports|المنافذ|יציאות)$/ }) })
  await card.scrollIntoViewIfNeeded()
  await page.waitForTimeout(300)
  await card.screenshot({ path: join(shots, `${name}.png`) })
}

const srv = await start({ ...admin, portSettings: true })
const busy = createServer()
try {
  const key = JSON.parse(srv.kg(['keys', 'create', '--name', 'Ports e2e', '--json'])).key
  check((await throughGateway(srv, key)).status === 200, 'a request with a key through the gateway on its stored port')

  const ctx = await srv.browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await ctx.newPage()
  await signIn(page, srv, admin)
  await page.goto(`${srv.console}/gateway`)
  const gatewayPort = page.getByLabel('Gateway port')
  await gatewayPort.waitFor()
  check(await gatewayPort.inputValue() === new URL(srv.gateway).port, 'the Gateway screen shows the port the gateway listens on')
  check(await page.getByLabel('Console port').inputValue() === new URL(srv.console).port, 'and the console\'s')
  const save = page.locator('form', { has: gatewayPort }).getByRole('button', { name: 'Save' })
  await cardShot(page, 'gateway-ports')

  // A taken port: refused on the field, the gateway stays.
  await new Promise((res) => busy.listen(0, '127.0.0.1', res))
  const taken = busy.address().port
  await gatewayPort.fill(String(taken))
  await save.click()
  await page.getByText(`Port ${taken} is in use by another program. Choose another port.`).waitFor()
  check(await gatewayPort.getAttribute('aria-invalid') === 'true', 'a taken port is refused on its field')
  check((await throughGateway(srv, key)).status === 200, 'and the gateway still answers on its port')
  await cardShot(page, 'gateway-ports-taken')

  // A free port: the running gateway moves.
  const next = await freePort()
  const old = srv.gateway
  await gatewayPort.fill(String(next))
  await save.click()
  await page.getByText(`The gateway now listens on 127.0.0.1:${next}.`).waitFor()
  srv.gateway = `http://127.0.0.1:${next}`
  check(await refused(old), 'the old port refuses connections')
  const r = await throughGateway(srv, key)
  check(r.status === 200, `a request with a key through the new port reaches the upstream (${r.status} ${r.code})`)
  check((await throughGateway(srv, '')).code === 'MISSING_CREDENTIAL', 'and the new port still wants a key')
  await page.reload()
  await gatewayPort.waitFor()
  check(await gatewayPort.inputValue() === String(next), 'the new port is kept')

  for (const lang of ['ar', 'he']) {
    await useLanguage(page, srv.console, lang)
    await page.goto(`${srv.console}/gateway`)
    await page.locator('input[type="number"][max="65535"]').first().waitFor()
    check(await page.evaluate(() => document.documentElement.dir) === 'rtl', `${lang}: the Gateway screen is right to left`)
    await cardShot(page, `gateway-ports-${lang}`)
  }
  await ctx.close()
  console.log('ports e2e: all checks passed')
} finally {
  busy.close()
  await srv.stop()
}
