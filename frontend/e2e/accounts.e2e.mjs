// End-to-end: accounts against the real `keygate serve`. A member changes their own password on
// the Preferences screen (their other session ends, this one stays); an admin issues a one-time
// reset link on the Members screen, the member sets a new password through it (every session of
// the account ends); everything is in the audit log.
//
//   node e2e/accounts.e2e.mjs          (SCREENSHOTS=1 also writes docs/screenshots/*.png)
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, launch, serve, shots } from './lib.mjs'

const takeShots = process.env.SCREENSHOTS === '1'
const admin = { email: 'ada@example.com', password: 'accounts admin password' }
const member = { email: 'grace@example.com', password: 'accounts member password' }
const changed = 'changed on the preferences screen'
const reset = 'set through the reset link'

function check(cond, msg) {
  if (!cond) throw new Error(`FAIL: ${msg}`)
  console.log(`ok - ${msg}`)
}
async function shot(page, name) {
  if (!takeShots) return
  mkdirSync(shots, { recursive: true })
  await page.waitForTimeout(350)
  await page.screenshot({ path: join(shots, `${name}.png`) })
}

const dataDir = mkdtempSync(join(tmpdir(), 'keygate-accounts-e2e-'))
const kg = (args, input) => execFileSync(bin, ['--data-dir', dataDir, ...args], { input, encoding: 'utf8', env: { ...process.env, KEYGATE_LANG: 'en' } })
let server, browser
try {
  kg(['users', 'add', '--email', admin.email, '--name', 'Ada Lovelace', '--role', 'admin'], admin.password + '\n')
  kg(['users', 'add', '--email', member.email, '--name', 'Grace Hopper', '--role', 'member'], member.password + '\n')
  server = await serve(dataDir, { demo: false, showStderr: true })
  const base = server.console
  browser = await launch()

  const signIn = async (page, who, password) => {
    await page.goto(`${base}/login`)
    await page.getByLabel('Email').fill(who.email)
    await page.getByLabel('Password', { exact: true }).fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
  }
  const me = async (ctx) => (await ctx.request.get(`${base}/api/v1/me`)).status()
  const apiLogin = async (ctx, who, password) => (await ctx.request.post(`${base}/api/v1/session`,
    { data: { email: who.email, password }, headers: { Origin: base } })).status()

  // 1. The member changes their own password; their other session ends, this one stays.
  const here = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const elsewhere = await browser.newContext()
  check(await apiLogin(elsewhere, member, member.password) === 200, 'the member is signed in elsewhere too')
  const page = await here.newPage()
  await signIn(page, member, member.password)
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor({ timeout: 15000 })
  await page.getByRole('navigation').getByRole('link', { name: 'Preferences' }).click()
  const form = page.getByTestId('change-password')
  await form.waitFor()
  await form.getByLabel('Current password').fill('not my password')
  await form.getByLabel('New password').fill(changed)
  await form.getByLabel('Confirm password').fill(changed)
  await form.getByRole('button', { name: 'Change password' }).click()
  await form.getByText('The current password is wrong.').waitFor()
  check(true, 'a wrong current password is refused at its field')
  check(await me(elsewhere) === 200, 'a refused change ends no session')
  await form.getByLabel('Current password').fill(member.password)
  await shot(page, 'change-password')
  await form.getByRole('button', { name: 'Change password' }).click()
  await page.getByText('Password changed. Your other sessions have ended.').waitFor()
  check(await form.getByLabel('Current password').inputValue() === '', 'the form is cleared')
  check(await me(elsewhere) === 401, 'the other session ended')
  await page.reload()
  await page.getByRole('heading', { level: 1, name: 'Preferences' }).waitFor()
  check(await me(here) === 200, 'this session stays signed in')
  const fresh = await browser.newContext()
  check(await apiLogin(fresh, member, member.password) === 401, 'the old password no longer signs in')
  check(await apiLogin(fresh, member, changed) === 200, 'the new password signs in')

  // 2. The admin issues a reset link; the member uses it; every session of the member ends.
  const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const ap = await adminCtx.newPage()
  await signIn(ap, admin, admin.password)
  await ap.getByRole('heading', { level: 1, name: 'API keys' }).waitFor({ timeout: 15000 })
  await ap.getByRole('navigation').getByRole('link', { name: 'Members' }).click()
  check(await ap.getByRole('button', { name: 'Password reset link for Ada Lovelace' }).count() === 0, 'no reset link for oneself')
  await ap.getByRole('button', { name: 'Password reset link for Grace Hopper' }).click()
  const dialog = ap.getByRole('dialog')
  await dialog.getByRole('button', { name: 'Create link' }).click()
  const link = (await dialog.getByTestId('reset-link').textContent()).trim()
  check(new RegExp(`^${base}/reset-password#token=\\w{20,}$`).test(link), `the link carries its token in the fragment: ${link.replace(/token=.*/, 'token=…')}`)
  await shot(ap, 'reset-link')
  await dialog.getByRole('button', { name: 'Done' }).click()

  const outside = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const rp = await outside.newPage()
  await rp.goto(link)
  await rp.getByRole('heading', { level: 1, name: 'Set a new password' }).waitFor()
  check(!rp.url().includes('token='), 'the token leaves the address bar')
  await rp.getByLabel('New password').fill(reset)
  await rp.getByLabel('Confirm password').fill(reset)
  await shot(rp, 'reset-password')
  await rp.getByRole('button', { name: 'Set password' }).click()
  await rp.getByText('Password set. Sign in with your new password.').waitFor()
  check(await me(here) === 401 && await me(fresh) === 401, 'every session of the member ended')
  await rp.getByRole('button', { name: 'Sign in' }).click()
  await rp.getByLabel('Email').fill(member.email)
  await rp.getByLabel('Password', { exact: true }).fill(reset)
  await rp.getByRole('button', { name: 'Sign in' }).click()
  await rp.getByRole('heading', { level: 1, name: 'API keys' }).waitFor({ timeout: 15000 })
  check(true, 'the member signs in with the password set through the link')

  // The link works once.
  const again = await browser.newContext()
  const ag = await again.newPage()
  await ag.goto(link)
  await ag.getByLabel('New password').fill('a third new password')
  await ag.getByLabel('Confirm password').fill('a third new password')
  await ag.getByRole('button', { name: 'Set password' }).click()
  await ag.getByText('This reset link is invalid, used or expired. Ask an admin for a new one.').waitFor()
  check(true, 'a used link is refused')

  const audit = JSON.parse(kg(['audit', 'list', '--json'])).entries.map((e) => e.action)
  for (const a of ['user.password.change.fail', 'user.password.change', 'user.password.reset_link', 'user.password.reset']) {
    check(audit.includes(a), `audited: ${a}`)
  }
  const log = kg(['audit', 'list', '--json'])
  check(!log.includes(changed) && !log.includes(reset) && !log.includes(link.split('token=')[1]), 'no password or token in the audit log')
  console.log('accounts e2e: all checks passed')
} finally {
  await browser?.close()
  await server?.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
