// The docs viewer in every language but English with no English label left (issue 15 names ja, ko, he
// and ar):
// Scalar's reference and its "try it" client, and the generated gateway document's own prose,
// against `keygate serve --demo` in headless Chromium with the network cut off. Upstream
// documents keep their own text (the demo's "List pets" stays English).
//
//   node e2e/docs-i18n.e2e.mjs        (uses ../bin/keygate, or $KEYGATE_BIN; make build first)
//   SCREENSHOTS=1 …                   also writes docs/screenshots/docs-{ja,ko,he,ar}.png
//   DOCS_LANGS=ja,he …                 only these (default: the nine languages other than English)
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { catalog, check, repo, shots, start, useLanguage } from './lib.mjs'

const scalar = join(repo, 'frontend', 'node_modules', '@scalar')
const { localeTranslations } = await import(join(scalar, 'api-reference/dist/features/localization/translations.js'))
const { en: clientEnglish } = await import(join(scalar, 'api-client/dist/v2/features/localization/translations.js'))
// Texts Scalar's shared components write without its localization options (screen-reader names
// of keys, the sidebar's group toggles, the copy button, code blocks, clamped descriptions).
const { HOTKEY_LABELS } = await import(join(scalar, 'components/dist/components/ScalarHotkey/constants.js'))
const hardCoded = [...Object.values(HOTKEY_LABELS), 'Open Group', 'Close Group', 'Copy', 'Copied', 'Code sample', 'More', 'Show Less']

const flatten = (t, out = []) => { for (const v of Object.values(t)) { if (typeof v === 'string') out.push(v); else flatten(v, out) } return out }
const pairs = (t, u, out = []) => { for (const [k, v] of Object.entries(t ?? {})) { if (typeof v === 'string') out.push([v, u?.[k]]); else pairs(v, u?.[k], out) } return out }
// Scalar's own translations (de, fr, es, pt, zh-CN, ar) keep some words as English writes them
// ("Status", "Cookies" in German): those are that language's words, not English left over.
const scalarLocales = { de: 'de', fr: 'fr', es: 'es', 'pt-BR': 'pt', 'zh-Hans': 'zh-cn', ar: 'ar' }
async function keptByScalar(lang) {
  const loc = scalarLocales[lang]
  if (!loc) return new Set()
  const ref = localeTranslations[loc === 'zh-cn' ? 'zh-CN' : loc]
  const client = Object.values(await import(join(scalar, `api-client/dist/v2/features/localization/locales/${loc}.js`)))[0]
  return new Set([...pairs(localeTranslations.en, ref), ...pairs(clientEnglish, client)].filter(([e, t]) => e === t).map(([e]) => e))
}
const langs = (process.env.DOCS_LANGS || 'ja,ko,he,ar,de,fr,es,pt-BR,zh-Hans').split(',')
// Protocol and product names are not English labels.
const kept = /^(HTTP|OAuth|OpenAPI|AsyncAPI|Markdown|PKCE|TLS|URL|Cookie|Webhook|Bearer|Basic|Ctrl|Command|Fetch API|Scalar|JSON|YAML)\b/

/** englishSet is every English text Scalar and Keygate's catalog can show (no placeholders). */
function englishSet(messages) {
  const set = new Set()
  const add = (s) => { s = s.trim(); if (s.length >= 3 && !/\{\{?\w/.test(s) && !kept.test(s)) set.add(s) }
  for (const s of flatten(localeTranslations.en)) add(s)
  for (const s of flatten(clientEnglish)) add(s)
  for (const s of hardCoded) add(s)
  for (const m of Object.values(messages)) for (const s of typeof m === 'string' ? [m] : Object.values(m)) add(s)
  return set
}

/** shownTexts lists the texts and labels (aria-label, title, placeholder, alt) inside root. */
async function shownTexts(page, selector) {
  return page.evaluate((sel) => {
    const out = []
    for (const root of document.querySelectorAll(sel)) {
      const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        const el = n.parentElement
        if (!el || el.closest('script,style,[aria-hidden="true"]')) continue
        const s = n.textContent.replace(/[\u2068\u2069\u200e\u200f]/g, '').trim()
        if (s) out.push(s)
      }
      for (const el of root.querySelectorAll('[aria-label],[title],[placeholder],[alt]')) {
        for (const a of ['aria-label', 'title', 'placeholder', 'alt']) {
          const v = el.getAttribute(a)
          if (v) out.push(v.replace(/[\u2068\u2069\u200e\u200f]/g, '').trim())
        }
      }
    }
    return out
  }, selector)
}

const srv = await start()
let failed = false
try {
  const ctx = await srv.context()
  const page = await ctx.newPage()
  const enMessages = await catalog(srv.console, 'en')
  const english = englishSet(enMessages)

  // The check itself: in English it finds Scalar's labels and the generated prose.
  await useLanguage(page, srv.console, 'en')
  await page.goto(`${srv.console}/docs`)
  const viewer = page.locator('[data-testid=docs-viewer]')
  await viewer.getByText('List pets').first().waitFor({ timeout: 30000 })
  const inEnglish = (await shownTexts(page, '.docs-scalar')).filter((s) => english.has(s))
  check(inEnglish.length >= 10 && inEnglish.includes('Introduction') && inEnglish.includes('Keygate gateway'),
    `in English the check finds ${new Set(inEnglish).size} English labels (${[...new Set(inEnglish)].slice(0, 8).join(' | ')} …)`)

  for (const lang of langs) {
    await useLanguage(page, srv.console, lang)
    const target = await catalog(srv.console, lang)
    // Texts the language writes as English does (a product name) are not English left over.
    const same = new Set([...Object.entries(target).flatMap(([id, m]) => {
      const e = enMessages[id]
      return JSON.stringify(e) === JSON.stringify(m) ? flatten(typeof m === 'string' ? [m] : m) : []
    }), ...await keptByScalar(lang)])
    await page.goto(`${srv.console}/docs`)
    await viewer.getByText('List pets').first().waitFor({ timeout: 30000 })
    await page.waitForTimeout(500)
    const dir = await page.locator('.docs-scalar').getAttribute('dir')
    check(dir === (lang === 'he' || lang === 'ar' ? 'rtl' : 'ltr'), `${lang}: the viewer is ${dir}`)
    const left = [...new Set((await shownTexts(page, '.docs-scalar')).filter((s) => english.has(s) && !same.has(s)))]
    check(left.length === 0, `${lang}: no English label in the reference${left.length ? ': ' + left.join(' | ') : ''}`)
    if (process.env.SCREENSHOTS === '1') {
      mkdirSync(shots, { recursive: true })
      await page.screenshot({ path: join(shots, `docs-${lang}.png`) })
    }

    // Scalar's "try it" client, opened on List pets.
    await page.locator('.show-api-client-button').first().click()
    const client = page.locator('.scalar-client, [role=dialog]').last()
    await client.waitFor({ timeout: 15000 })
    await page.waitForTimeout(500)
    if (process.env.E2E_DEBUG) console.log(await page.evaluate(() => [...document.querySelectorAll('.scalar-client, [role=dialog]')].map((e) => `${e.tagName}.${e.className} in docs-scalar: ${!!e.closest('.docs-scalar')}`).join('\n')))
    const inClient = [...new Set((await shownTexts(page, '.scalar-client, [role=dialog]')).filter((s) => english.has(s) && !same.has(s)))]
    check(inClient.length === 0, `${lang}: no English label in the try-it client${inClient.length ? ': ' + inClient.join(' | ') : ''}`)
    if (process.env.SCREENSHOTS === '1' && lang === 'ja') await page.screenshot({ path: join(shots, `docs-client-${lang}.png`) })
    await page.keyboard.press('Escape')
  }
  await useLanguage(page, srv.console, 'en')
  console.log('docs i18n e2e: all checks passed')
} catch (e) {
  failed = true
  console.error(`not ok - ${e.message}`)
} finally {
  await srv.stop()
}
process.exit(failed ? 1 : 0)
