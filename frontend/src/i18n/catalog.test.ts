// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ESLint } from 'eslint'
import { parseCatalogToml } from './toml'

const root = resolve(__dirname, '..', '..')
const src = join(root, 'src')
const en = parseCatalogToml(readFileSync(join(root, '..', 'locales', 'active.en.toml'), 'utf8'))

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) return f === 'docs' && dir === src ? [] : files(p)
    return /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f) && !p.includes(`${join('src', 'test')}`) && !p.endsWith('mock.ts') ? [p] : []
  })
}

describe('messages used by the console', () => {
  it('exist in the English catalog (static ids)', () => {
    const missing = new Set<string>()
    for (const f of files(src)) {
      const text = readFileSync(f, 'utf8')
      for (const m of text.matchAll(/\bt\(\s*'([a-z0-9_.]+)'/gi)) if (!(m[1] in en)) missing.add(m[1])
      for (const m of text.matchAll(/label: '([a-z]+\.[a-z0-9_.]+)'/g)) if (!(m[1] in en)) missing.add(m[1])
    }
    expect([...missing]).toEqual([])
  })

  it('exist in the English catalog (ids built from values)', () => {
    const built = [
      ...['active', 'expired', 'revoked'].map((s) => `status.${s}`),
      ...['running', 'stopped'].map((s) => `gateway.${s}`),
      ...['admin', 'developer', 'member'].flatMap((r) => [`role.${r}`, `members.role.${r}.hint`]),
      ...['never', '7d', '30d', '60d', '90d', '1y', 'custom'].map((p) => `keys.expiry.${p}`),
      ...['all', 'active', 'expired', 'revoked'].map((f) => `keys.filter.${f}`),
      ...[0, 3600, 86400, 604800].map((g) => `keys.roll.grace.${g}`),
      ...['curl', 'env'].map((k) => `keys.created.snippet.${k}`),
      ...['light', 'dark', 'system'].map((x) => `prefs.theme.${x}`),
    ]
    expect(built.filter((id) => !(id in en))).toEqual([])
  })
})

describe('no user-visible string bypasses t()', () => {
  const eslint = new ESLint({ cwd: root })
  const i18nRules = new Set(['i18next/no-literal-string', 'no-restricted-syntax'])

  it('the lint rule catches literal text, literal labels and literal children', async () => {
    const bad = [
      'export const A = () => <p>Create key</p>',
      'export function A2() { return <div><span>Revoke</span></div> }',
      'export const B = () => <button aria-label="Close dialog" />',
      'export const C = () => <input placeholder="Search keys" />',
      "export const D = () => <span>{'Revoked'}</span>",
    ]
    for (const code of bad) {
      const [r] = await eslint.lintText(code, { filePath: join(src, 'Probe.tsx') })
      expect(r.messages.some((m) => m.ruleId && i18nRules.has(m.ruleId)), code).toBe(true)
    }
    const [ok] = await eslint.lintText("const t = (s: string) => s\nexport const E = () => <p title={t('x')}>{t('keys.title')} · 42</p>", { filePath: join(src, 'Probe.tsx') })
    expect(ok.messages.filter((m) => m.ruleId && i18nRules.has(m.ruleId))).toEqual([])
  }, 60_000) // the first lint loads ESLint and its plugins: seconds on a busy machine

  it('the console source has no literal user-visible strings', async () => {
    const results = await eslint.lintFiles(['src/**/*.tsx'])
    const found = results.flatMap((r) => r.messages.filter((m) => m.ruleId && i18nRules.has(m.ruleId)).map((m) => `${r.filePath}:${m.line} ${m.message}`))
    expect(found).toEqual([])
  }, 60_000)
})
