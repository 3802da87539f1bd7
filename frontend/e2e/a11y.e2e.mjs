// Accessibility (issue 15): axe-core (bundled from node_modules, no CDN) finds no serious or
// critical violation on any screen of the console, in the light and in the dark theme, in
// headless Chromium against `keygate serve --demo`.
//
// "Every screen" is read from the app, not listed here: the screens App.tsx routes to (its
// `case '/…'` paths), every link of the navigation, and — one level down — the in-app links
// those screens show (a key's detail screen, say), with the sign-in and first-admin screens and
// the dialogs the screens open from a button. A screen another change adds is checked without
// touching this file.
//
//   node e2e/a11y.e2e.mjs            (uses ../bin/keygate, or $KEYGATE_BIN; make build first)
//   A11Y_ONLY=/docs node e2e/a11y.e2e.mjs   one screen
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { check, repo, start } from './lib.mjs'

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
const only = process.env.A11Y_ONLY || ''

const app = readFileSync(join(repo, 'frontend', 'src', 'App.tsx'), 'utf8')
/** routedPaths are the literal paths App.tsx's screen switch routes to. */
const routedPaths = () => [...app.matchAll(/case\s+'(\/[a-z0-9/_-]*)'/gi)].map((m) => m[1])
/** routedPrefixes are the screens App.tsx routes by prefix (path.startsWith('/keys/'): a key's
 * detail screen); each must be reached through a link, or the check says so. */
const routedPrefixes = () => [...app.matchAll(/startsWith\('(\/[a-z0-9_-]+\/)'\)/gi)].map((m) => m[1])

/** audit runs axe on the page and returns its serious and critical violations. */
async function audit(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource })
  const r = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const res = await axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } })
    return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 4).map((n) => `${n.target.join(' ')}: ${(n.failureSummary || '').split('\n').slice(1, 2).join(' ').trim()}`),
      count: v.nodes.length,
    }))
  })
  return r
}

const report = (where, vs) => vs.map((v) => `${where}: ${v.impact} ${v.id} ×${v.count} (${v.help})\n      ${v.nodes.join('\n      ')}`)

const srv = await start()
const problems = []
let checked = 0
try {
  srv.kg(['keys', 'create', '--name', 'Accessibility key', '--json'])
  srv.kg(['keys', 'create', '--name', 'Weekly job', '--expires', '7d', '--json'])
  await fetch(`${srv.gateway}/demo/pets`) // something in the request log
  for (const scheme of ['light', 'dark']) {
    // Signed out: the sign-in screen.
    const anon = await srv.browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: scheme })
    const ap = await anon.newPage()
    await ap.goto(`${srv.console}/login`)
    await ap.getByRole('heading', { level: 1 }).waitFor()
    if (!only) { problems.push(...report(`${scheme} /login`, await audit(ap))); checked++ }
    await anon.close()

    const ctx = await srv.context({ colorScheme: scheme })
    const page = await ctx.newPage()
    await page.goto(`${srv.console}/keys`)
    await page.getByRole('navigation').first().waitFor()
    const nav = await page.locator('nav a[href^="/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')))
    const queue = [...new Set([...routedPaths(), ...nav])].filter((p) => !only || p === only)
    const seen = new Set()
    const pattern = (p) => p.replace(/\/[A-Za-z0-9_-]{12,}/g, '/:id')
    while (queue.length) {
      const path = queue.shift()
      if (seen.has(pattern(path))) continue
      seen.add(pattern(path))
      await page.goto(`${srv.console}${path}`)
      await page.getByRole('heading', { level: 1 }).first().waitFor({ timeout: 15000 })
      await page.waitForLoadState('networkidle').catch(() => {})
      if (path === '/docs') await page.locator('.docs-scalar .scalar-app, .docs-scalar [class*=scalar]').first().waitFor({ timeout: 30000 })
      await page.waitForTimeout(400)
      const theme = await page.evaluate(() => document.documentElement.dataset.theme)
      if (theme !== scheme) throw new Error(`${path}: the console shows the ${theme} theme, not ${scheme}`)
      problems.push(...report(`${scheme} ${path}`, await audit(page)))
      checked++
      if (path === '/docs') {
        // Scalar's "try it" client, and the console's own document.
        await page.locator('.show-api-client-button').first().click()
        await page.locator('.docs-scalar .scalar-app-layout').first().waitFor({ timeout: 15000 })
        await page.waitForTimeout(400)
        problems.push(...report(`${scheme} /docs (try-it client)`, await audit(page)))
        await page.keyboard.press('Escape')
        await page.getByTestId('docs-switch-console').click()
        await page.locator('.docs-scalar').getByText(/Keygate console API/).first().waitFor({ timeout: 30000 })
        await page.waitForTimeout(400)
        problems.push(...report(`${scheme} /docs (console document)`, await audit(page)))
        checked += 2
      }
      // In-app links one level down (a key's detail screen, …).
      if (!only && path.split('/').length === 2) {
        const links = await page.locator('main a[href^="/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')))
        for (const l of links) if (!l.startsWith('/openapi/') && !l.startsWith('/api/') && !seen.has(pattern(l))) queue.push(l)
      }
      // The dialogs a screen's header opens (create key, add route, add member, …).
      const openers = page.locator('main .page-header button, main header button')
      for (let i = 0; i < Math.min(await openers.count(), 3); i++) {
        const b = openers.nth(i)
        if (!(await b.isVisible()) || !(await b.isEnabled())) continue
        await b.click()
        const d = page.getByRole('dialog')
        if (await d.first().isVisible().catch(() => false) || await d.first().waitFor({ timeout: 1500 }).then(() => true, () => false)) {
          await page.waitForTimeout(300)
          const name = (await d.first().getAttribute('aria-labelledby').catch(() => '')) || `dialog ${i}`
          problems.push(...report(`${scheme} ${path} (${name})`, await audit(page)))
          checked++
          await page.keyboard.press('Escape')
          await d.first().waitFor({ state: 'detached', timeout: 3000 }).catch(() => {})
        }
      }
    }
    await ctx.close()
    if (!only) {
      const visited = [...seen]
      for (const prefix of routedPrefixes()) {
        check(visited.some((p) => p.startsWith(prefix)), `${scheme}: a screen below ${prefix} was reached (${visited.filter((p) => p.startsWith(prefix)).join(', ')})`)
      }
    }
  }
  if (!only) check(checked >= 14, `${checked} screens and dialogs checked in light and dark`)
  check(problems.length === 0, `no serious or critical axe violation${problems.length ? ':\n' + problems.join('\n') : ''}`)
  console.log('a11y e2e: all checks passed')
} catch (e) {
  console.error(`not ok - ${e.message}`)
  process.exitCode = 1
} finally {
  await srv.stop()
}
