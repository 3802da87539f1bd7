import { describe, expect, it } from 'vitest'
import { scalarConfig, scalarLocale } from './config'
import he from './scalar-locales/he.json'
import ja from './scalar-locales/ja.json'
import ko from './scalar-locales/ko.json'
// Scalar's own English texts, read from the installed packages (their package exports hide
// them): a Scalar upgrade that adds a text fails this test until ja, ko and he have it.
import { localeTranslations } from '../../node_modules/@scalar/api-reference/dist/features/localization/translations.js'
import { en as clientEnglish } from '../../node_modules/@scalar/api-client/dist/v2/features/localization/translations.js'

type Tree = { [k: string]: string | Tree }

function flatten(t: object, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [k, v] of Object.entries(t)) {
    if (typeof v === 'string') out[prefix + k] = v
    else flatten(v as Tree, `${prefix}${k}.`, out)
  }
  return out
}

// Parts of Scalar that the viewer's configuration turns off (showDeveloperTools: 'never', no
// agent, no MCP, no hosted-product pages): their texts are never shown.
const unreachable = ['developerTools.', 'gettingStarted.', 'exploreScalar.', 'agent.', 'mcp.', 'sdk.']

const english = Object.fromEntries(
  Object.entries({ ...flatten(localeTranslations.en), ...flatten(clientEnglish, 'apiClient.') })
    .filter(([k]) => !unreachable.some((u) => k.startsWith(u))),
)

// Words that are the same in the translation and in English on purpose: product and protocol
// names, not English labels.
const kept = /^(HTTP|OAuth|OpenAPI|AsyncAPI|Markdown|PKCE|TLS|URL|Cookie|Webhook|Bearer|Basic|Ctrl|Command|Fetch API|Scalar)/

const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort()

describe.each([['ja', ja], ['ko', ko], ['he', he]])('Scalar texts in %s', (lang, catalog) => {
  const got = flatten(catalog)
  it('has every text Scalar can show, and nothing Scalar does not know', () => {
    expect(Object.keys(english).filter((k) => !(k in got))).toEqual([])
    expect(Object.keys(got).filter((k) => !(k in english))).toEqual([])
  })
  it('translates them, with the same placeholders', () => {
    const untranslated = Object.entries(got).filter(([k, v]) => v === english[k] && !kept.test(v)).map(([k]) => k)
    expect(untranslated).toEqual([])
    const wrong = Object.entries(got).filter(([k, v]) => placeholders(v).join() !== placeholders(english[k]).join())
    expect(wrong).toEqual([])
    expect(Object.values(got).filter((v) => !/[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af\u0590-\u05ff]/.test(v))).toEqual([])
  })
  it('is handed to Scalar for the console language', () => {
    expect(scalarLocale(lang)).toBe(lang)
    const c = scalarConfig({ api: 'console', document: {}, lang, dir: lang === 'he' ? 'rtl' : 'ltr', theme: 'light', apiKey: '', gatewayUrl: '' })
    const l = c.localization as { locale: string; translations: Tree }
    expect(l.locale).toBe(lang)
    expect((l.translations.search as Tree).label).toBe((catalog.search as Tree).label)
  })
})

describe('Scalar locales', () => {
  it('uses Scalar\'s own translations where it has them', () => {
    for (const [lang, locale] of [['de', 'de'], ['fr', 'fr'], ['es', 'es'], ['pt-BR', 'pt'], ['zh-Hans', 'zh-CN'], ['ar', 'ar']]) {
      expect(scalarLocale(lang)).toBe(locale)
      expect(localeTranslations).toHaveProperty(locale)
      const c = scalarConfig({ api: 'console', document: {}, lang, dir: 'ltr', theme: 'light', apiKey: '', gatewayUrl: '' })
      expect(c.localization).toEqual({ locale, direction: 'ltr' })
    }
  })
  it('isolates Hebrew placeholders so values keep their order', () => {
    const c = scalarConfig({ api: 'console', document: {}, lang: 'he', dir: 'rtl', theme: 'light', apiKey: '', gatewayUrl: '' })
    const t = (c.localization as { translations: { navigation: Tree } }).translations.navigation
    expect(t.endpoints).toBe('נקודות הקצה של \u2068{name}\u2069')
  })
})
