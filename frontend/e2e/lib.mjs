// Shared pieces of the e2e scripts: serve() is the one way they start `keygate serve`; start()
// adds a fresh data dir, one signed-in admin and a browser on top of it.
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = fileURLToPath(new URL('.', import.meta.url))
export const repo = resolve(here, '..', '..')
export const bin = process.env.KEYGATE_BIN || join(repo, 'bin', 'keygate')
export const shots = join(repo, 'docs', 'screenshots')

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)) })
    s.on('error', rej)
  })
}

export function check(cond, msg) {
  if (!cond) throw new Error(msg)
  console.log(`ok - ${msg}`)
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * serve runs `keygate serve` on dataDir (which the caller owns: it may restart a server on it,
 * or prepare it with the CLI or sqlite3 first) and resolves once GET /readyz on the console
 * answers 200. The ports are free loopback ports passed as --listen/--console-listen, or given
 * ones; portFlags: false leaves the flags out (the ports are stored settings). The server gets
 * KEYGATE_LANG=en unless env says otherwise. Its stdout and stderr are kept for log();
 * showStderr also copies stderr to this process's stderr as it comes. If the server exits or is
 * not ready within timeout ms, serve rejects with what it printed.
 */
export async function serve(dataDir, {
  demo = true, args = [], env = {}, showStderr = false,
  gatewayPort, consolePort, portFlags = true, timeout = 30_000,
} = {}) {
  if (!existsSync(bin)) throw new Error(`${bin} not found: run "make build" (or npm run build && go build -o bin/keygate .) first`)
  const gw = gatewayPort ?? await freePort()
  const con = consolePort ?? await freePort()
  const listen = portFlags ? ['--listen', `127.0.0.1:${gw}`, '--console-listen', `127.0.0.1:${con}`] : []
  const argv = ['--data-dir', dataDir, 'serve', ...(demo ? ['--demo'] : []), ...listen, ...args]
  const proc = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KEYGATE_LANG: 'en', ...env } })
  let out = ''
  proc.stdout.on('data', (d) => { out += d })
  proc.stderr.on('data', (d) => { out += d; if (showStderr) process.stderr.write(d) })
  let exited = null // why the server is gone, once it is
  const gone = new Promise((r) => {
    proc.once('error', (e) => { exited = `could not be started (${e.message})`; r() })
    proc.once('exit', (code, signal) => { exited ??= `exited with ${signal ?? code}`; r() })
  })
  const what = `keygate ${argv.join(' ')}`
  const consoleURL = `http://127.0.0.1:${con}`
  const deadline = Date.now() + timeout
  for (;;) {
    if (exited) throw new Error(`${what} ${exited} before it was ready:\n${out}`)
    if (Date.now() > deadline) {
      proc.kill('SIGKILL')
      await gone
      throw new Error(`${what} was not ready within ${timeout / 1000} s:\n${out}`)
    }
    const ready = await fetch(`${consoleURL}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)
    if (ready) break
    await sleep(150)
  }
  return {
    console: consoleURL,
    gateway: `http://127.0.0.1:${gw}`,
    /** log is everything the server has printed so far, stdout and stderr. */
    log: () => out,
    /** waitForLog resolves with the first match of re in what the server printed. */
    async waitForLog(re, ms = 10_000) {
      const end = Date.now() + ms
      for (;;) {
        const m = out.match(re)
        if (m) return m
        if (exited) throw new Error(`${what} ${exited} before printing ${re}:\n${out}`)
        if (Date.now() > end) throw new Error(`${what} did not print ${re} within ${ms / 1000} s:\n${out}`)
        await sleep(100)
      }
    },
    /** stop sends SIGTERM and resolves when the server has exited (it is killed after 20 s). */
    async stop() {
      if (!exited) proc.kill('SIGTERM')
      const late = setTimeout(() => { process.stderr.write(`${what} still running 20 s after SIGTERM: killed\n`); proc.kill('SIGKILL') }, 20_000)
      await gone
      clearTimeout(late)
    },
  }
}

/** launch starts headless Chromium ($CHROMIUM or /usr/bin/chromium) with nothing of its own on the network. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  })
}

/**
 * start runs `keygate serve --demo` on free ports with a fresh data dir and one admin. With
 * portSettings the ports are stored settings (`keygate gateway ports set`) instead of
 * --listen/--console-listen, so that the console may change them.
 */
export async function start({ email = 'e2e-admin@example.com', password = 'e2e admin password', portSettings = false } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-e2e-'))
  const kg = (args, input) => execFileSync(bin, ['--data-dir', dataDir, ...args], { input, encoding: 'utf8', env: { ...process.env, KEYGATE_LANG: 'en' } })
  kg(['users', 'add', '--email', email, '--role', 'admin'], password + '\n')
  const [gatewayPort, consolePort] = [await freePort(), await freePort()]
  if (portSettings) kg(['gateway', 'ports', 'set', '--gateway-port', String(gatewayPort), '--console-port', String(consolePort)])
  const server = await serve(dataDir, { gatewayPort, consolePort, portFlags: !portSettings })
  const browser = await launch()
  const consoleURL = server.console
  return {
    console: consoleURL,
    gateway: server.gateway,
    browser,
    kg,
    log: server.log,
    /** context opens a browser context signed in as the admin, with the network cut off. */
    async context(opts = {}) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...opts })
      await ctx.route('**/*', (route) => {
        const host = new URL(route.request().url()).hostname
        return host === '127.0.0.1' || host === 'localhost' ? route.continue() : route.abort()
      })
      const r = await ctx.request.post(`${consoleURL}/api/v1/session`, { data: { email, password }, headers: { Origin: consoleURL } })
      if (!r.ok()) throw new Error(`sign in: ${r.status()}`)
      return ctx
    },
    async stop() {
      await browser.close().catch(() => {})
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** useLanguage saves the signed-in user's language on the preferences screen. */
export async function useLanguage(page, consoleURL, tag) {
  await page.goto(`${consoleURL}/preferences`)
  await page.getByTestId('language-select').selectOption(tag)
  await page.waitForFunction((t) => document.documentElement.lang === t, tag)
}

/** catalog returns a language's console messages. */
export async function catalog(consoleURL, tag) {
  return (await (await fetch(`${consoleURL}/api/v1/i18n/${tag}`)).json()).messages
}

/** takeShots: write screenshots to docs/screenshots (--screenshots or SCREENSHOTS=1). */
export const takeShots = process.argv.includes('--screenshots') || process.env.SCREENSHOTS === '1'

/** shot writes a full-page screenshot when takeShots, after animations and toasts are gone;
 * { fullPage: false } takes the viewport as scrolled (an open dialog covers only the viewport). */
export async function shot(page, name, { fullPage = true } = {}) {
  if (!takeShots) return
  mkdirSync(shots, { recursive: true })
  await page.waitForTimeout(350) // let animations settle
  await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 6000 }).catch(() => {})
  // From the top: a full-page picture of a scrolled page shifts the sticky sidebar. A viewport
  // picture shows where the flow has scrolled to.
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage })
}

/** throughGateway calls the gateway with key (none when empty) and returns status, problem code and headers. */
export async function throughGateway(srv, key, path = '/demo/pets') {
  const res = await fetch(`${srv.gateway}${path}`, { headers: key ? { 'x-api-key': key } : {} })
  const body = await res.text()
  let code = ''
  try { code = JSON.parse(body).code ?? '' } catch { /* upstream body */ }
  return { status: res.status, code, headers: res.headers }
}

/** signIn signs who ({email, password}) in on the console's login screen. */
export async function signIn(page, srv, who) {
  await page.goto(`${srv.console}/login`)
  await page.getByLabel('Email').fill(who.email)
  await page.getByLabel('Password', { exact: true }).fill(who.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor({ timeout: 15_000 })
}

/** overflowing lists elements matching selector whose content spills out of them sideways: text
 * cut off or pushed over a neighbour is a screen that works but looks broken. */
export async function overflowing(page, selector) {
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

/** axeViolations runs axe-core (from node_modules) on the page and returns its serious and
 * critical violations as lines (WCAG 2.x A/AA and best practices, as a11y.e2e.mjs checks). */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) {
    await page.addScriptTag({ content: readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8') })
  }
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const res = await axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } })
    return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id} ×${v.nodes.length} (${v.help}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`)
  })
}
