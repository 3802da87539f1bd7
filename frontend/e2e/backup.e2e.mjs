// End-to-end: "Download a backup" on the Gateway screen against the real `keygate serve --demo`.
// A key is created first; the download (throttled so that it takes a moment) shows a
// determinate progress bar, then the done state with the file's size; the file starts with
// the SQLite magic, and `keygate restore` of it into a fresh data dir followed by
// `keygate keys list` shows the key. The card passes axe.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { axeViolations, bin, check, shot, start } from './lib.mjs'

const srv = await start()
const fresh = mkdtempSync(join(tmpdir(), 'keygate-e2e-restore-'))
let failed = false
try {
  const key = JSON.parse(srv.kg(['keys', 'create', '--name', 'made before the backup', '--json']))
  check(!!key.id, `a key to find in the backup (${key.id})`)

  const ctx = await srv.context({ acceptDownloads: true })
  const page = await ctx.newPage()
  await page.goto(`${srv.console}/gateway`)
  await page.getByRole('heading', { level: 1, name: 'Gateway' }).waitFor()
  const card = page.locator('section.card', { has: page.getByRole('heading', { name: 'Backup' }) })
  await card.scrollIntoViewIfNeeded()
  check((await card.innerText()).includes('keygate restore FILE'), 'the card names the restore command')
  let axe = await axeViolations(page)
  check(axe.length === 0, `axe: no serious or critical violation on the Gateway screen with the card ${axe.join('; ')}`)

  // A slow link, so that the progress can be seen: 64 KiB/s.
  const cdp = await ctx.newCDPSession(page)
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 64 * 1024, uploadThroughput: -1 })

  const downloaded = page.waitForEvent('download', { timeout: 120_000 })
  await card.getByRole('button', { name: 'Download a backup' }).click()
  const bar = card.getByRole('progressbar', { name: 'Downloading the backup' })
  await bar.waitFor({ timeout: 30_000 })
  await page.waitForFunction(() => {
    const b = document.querySelector('[role=progressbar][aria-label="Downloading the backup"]')
    const v = Number(b?.getAttribute('aria-valuenow'))
    return v > 0 && v < 100
  }, null, { timeout: 30_000 })
  const now = Number(await bar.getAttribute('aria-valuenow'))
  check(now > 0 && now < 100, `a determinate progress bar shows the download (${now} %)`)
  check(/ of /.test(await card.innerText()), 'the bytes received are shown against the total')
  await card.scrollIntoViewIfNeeded()
  await shot(page, 'backup-progress', { fullPage: false })
  axe = await axeViolations(page)
  check(axe.length === 0, `axe: no serious or critical violation during the download ${axe.join('; ')}`)
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })

  const download = await downloaded
  const done = card.getByTestId('backup-done')
  await done.waitFor({ timeout: 60_000 })
  const doneText = await done.innerText()
  const name = download.suggestedFilename()
  check(/^keygate-backup-\d{8}-\d{6}\.db$/.test(name), `the file is named ${name}`)
  check(doneText.includes(`Downloaded ${name} (`) && /\d+(\.\d)? [kM]B\)/.test(doneText), `the done state names the file and its size: ${JSON.stringify(doneText)}`)
  await card.scrollIntoViewIfNeeded()
  await page.evaluate(() => document.querySelector('section.card:last-of-type')?.scrollIntoView({ block: 'center' }))
  await shot(page, 'backup', { fullPage: false })
  axe = await axeViolations(page)
  check(axe.length === 0, `axe: no serious or critical violation in the done state ${axe.join('; ')}`)

  const file = await download.path()
  const head = readFileSync(file).subarray(0, 16)
  check(head.equals(Buffer.from('SQLite format 3\0', 'latin1')), 'the file starts with the SQLite magic')
  check(statSync(file).size > 0, `the file has ${statSync(file).size} bytes`)

  // Restore into a fresh data dir with the CLI, then list the keys there.
  const kg = (args) => execFileSync(bin, ['--data-dir', fresh, ...args], { encoding: 'utf8', env: { ...process.env, KEYGATE_LANG: 'en' } })
  kg(['restore', file])
  const list = JSON.parse(kg(['keys', 'list', '--json']))
  check(list.keys.some((k) => k.id === key.id && k.name === 'made before the backup'), 'keygate restore of the file, then keygate keys list, shows the key made before')
  await ctx.close()
} catch (e) {
  failed = true
  console.error('not ok -', e.message)
} finally {
  await srv.stop()
  rmSync(fresh, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
