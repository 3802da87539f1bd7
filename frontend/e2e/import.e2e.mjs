// End-to-end: importing keys on the Keys screen against the real `keygate serve --demo`. A file
// with a bad row shows the row and field the server refused and imports nothing; Better Auth's
// apikey rows (the three of backend/keys/keyfile/testdata, hashed by the plugin's own
// defaultKeyHasher, plus 20,000 more so the import takes long enough to watch) are checked,
// show their count, import with the progress bar, and the original secret then passes the
// gateway; Export keys downloads Keygate's file with every key and no secret.
import { readFileSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { axeViolations, check, overflowing, repo, shot, start, throughGateway, useLanguage } from './lib.mjs'

const fixture = JSON.parse(readFileSync(join(repo, 'backend', 'keys', 'keyfile', 'testdata', 'betterauth.json'), 'utf8'))
const secretA = 'ba_' + 'A'.repeat(64) // row 0 of the fixture (see betterauth-gen.mjs)
const extra = 20_000
const rows = [...fixture]
for (let i = 0; i < extra; i++) {
  const key = 'ba_' + randomBytes(24).toString('base64url')
  rows.push({ name: `service ${i}`, start: key.slice(0, 6), prefix: 'ba_', key: createHash('sha256').update(key).digest('base64url'),
    referenceId: `user_${i % 50}`, enabled: true, rateLimitEnabled: false, remaining: null, createdAt: '2025-06-01T00:00:00.000Z',
    permissions: JSON.stringify({ files: ['read'] }), metadata: null })
}
const good = Buffer.from(JSON.stringify(rows))
const bad = Buffer.from(JSON.stringify([fixture[0], { ...fixture[1], key: 'not-a-hash' }]))

const srv = await start()
let failed = false
try {
  const ctx = await srv.context({ acceptDownloads: true })
  const page = await ctx.newPage()
  await page.goto(`${srv.console}/keys`)
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor()

  // A bad row: named, nothing imported, the Import button stays off.
  await page.getByRole('button', { name: 'Import keys' }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByLabel('File').setInputFiles({ name: 'apikey-bad.json', mimeType: 'application/json', buffer: bad })
  const refusal = dialog.getByTestId('import-error')
  await refusal.waitFor()
  const text = await refusal.innerText()
  check(text.includes('index 1') && text.includes('rows[1].key') && text.includes('43 base64url characters'), `a bad row is named: ${JSON.stringify(text)}`)
  check(await dialog.getByRole('button', { name: 'Import', exact: true }).isDisabled(), 'the Import button is off for a refused file')
  await shot(page, 'import-keys-error', { fullPage: false })
  let axe = await axeViolations(page)
  check(axe.length === 0, `axe: no serious or critical violation in the dialog with a refusal ${axe.join('; ')}`)
  check(JSON.parse(srv.kg(['keys', 'list', '--json'])).total === 0, 'the refused file imported nothing')

  // The good file: the server's dry run as the preview, then the import with its progress.
  await dialog.getByLabel('File').setInputFiles({ name: 'apikey.json', mimeType: 'application/json', buffer: good })
  const preview = dialog.getByTestId('import-preview')
  await preview.waitFor({ timeout: 60_000 })
  const count = (fixture.length + extra).toLocaleString('en')
  check((await preview.innerText()).includes(`${count} keys can be imported.`), `the preview counts ${count} keys`)
  await shot(page, 'import-keys-preview', { fullPage: false })
  axe = await axeViolations(page)
  check(axe.length === 0, `axe: no serious or critical violation in the dialog with the preview ${axe.join('; ')}`)
  await dialog.getByRole('button', { name: 'Import', exact: true }).click()
  const bar = dialog.getByRole('progressbar')
  await bar.waitFor({ timeout: 5000 })
  const label = await bar.getAttribute('aria-label')
  check(label === 'Sending the file' || label === 'Importing keys', `a progress bar shows the import (${label})`)
  await dialog.getByRole('progressbar', { name: 'Importing keys' }).waitFor({ timeout: 30_000 })
  await shot(page, 'import-keys-progress', { fullPage: false })
  await page.getByText(`${count} keys imported.`).waitFor({ timeout: 120_000 })
  check(true, 'the import finished with its count')
  await page.getByRole('searchbox').fill('billing')
  await page.getByRole('cell', { name: 'billing service' }).first().waitFor()
  check(true, 'the imported keys are listed (searched by name)')

  const a = await throughGateway(srv, secretA)
  check(a.status === 200, `the imported Better Auth secret passes the gateway (${a.status} ${a.code})`)
  const r = await throughGateway(srv, 'ba_' + 'Z'.repeat(64))
  check(r.status === 401, `an unknown string is still refused (${r.status} ${r.code})`)

  // Export: Keygate's file, every key, hashes only.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export keys' }).click()])
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'))
  check(exported.format === 'keygate-keys' && exported.keys.length === fixture.length + extra, `Export keys downloads ${exported.keys.length} keys in Keygate's format`)
  check(!JSON.stringify(exported).includes(secretA), 'the export holds no secret')
  check(/^keygate-keys-\d{8}-\d{6}\.json$/.test(download.suggestedFilename()), `the file is named ${download.suggestedFilename()}`)

  // German (long words) and Arabic (right to left): the header's three actions and the dialog fit.
  for (const lang of ['de', 'ar']) {
    await useLanguage(page, srv.console, lang)
    await page.goto(`${srv.console}/keys`)
    await page.locator('.page-header .btn').nth(2).waitFor()
    await page.locator('.page-header .btn').nth(1).click()
    await page.getByRole('dialog').locator('input[type=file]').setInputFiles({ name: 'apikey-bad.json', mimeType: 'application/json', buffer: bad })
    await page.getByTestId('import-error').waitFor()
    const spill = await overflowing(page, '.page-header, .btn, [role=dialog] label, [role=dialog] .field-hint, [role=dialog] p')
    check(spill.length === 0, `${lang}: nothing spills out of the header or the dialog ${JSON.stringify(spill)}`)
    if (lang === 'ar') await shot(page, 'import-keys-ar', { fullPage: false })
  }
  await ctx.close()
} catch (e) {
  failed = true
  console.error(e)
} finally {
  await srv.stop()
}
process.exit(failed ? 1 : 0)
