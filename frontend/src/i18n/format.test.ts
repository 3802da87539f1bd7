import { describe, expect, it } from 'vitest'
import { FSI, PDI, interpolate, isolate, pluralForm, relativeTime, translate } from './format'
import { parseCatalogToml } from './toml'

describe('messages', () => {
  it('fills go-i18n placeholders and formats numbers for the language', () => {
    expect(interpolate('Revoke “{{.Name}}”?', { Name: 'CI' }, 'en')).toBe('Revoke “CI”?')
    expect(interpolate('{{ .Count }} keys', { Count: 1234 }, 'de')).toBe('1.234 keys')
    expect(interpolate('{{.Missing}} stays', {}, 'en')).toBe('{{.Missing}} stays')
  })

  it('isolates text values in right-to-left messages, and right-to-left values anywhere', () => {
    expect(interpolate('הסרת המסלול {{.Prefix}}', { Prefix: '/api' }, 'he', 'rtl')).toBe(`הסרת המסלול ${FSI}/api${PDI}`)
    expect(interpolate('لا يمكن {{.Name}}', { Name: 'Billing (prod)' }, 'ar', 'rtl')).toBe(`لا يمكن ${FSI}Billing (prod)${PDI}`)
    expect(interpolate('{{.Count}} מפתחות', { Count: 3 }, 'he', 'rtl')).toBe('3 מפתחות') // numbers as they are
    expect(interpolate('Revoke “{{.Name}}”?', { Name: 'חיוב (prod)' }, 'en')).toBe(`Revoke “${FSI}חיוב (prod)${PDI}”?`)
    expect(interpolate('Revoke “{{.Name}}”?', { Name: 'evil\u202Etxt' }, 'en')).toBe(`Revoke “${FSI}evil\u202Etxt${PDI}”?`)
    expect(isolate('rtl', '')).toBe('')
    expect(isolate('rtl', `${FSI}/api${PDI}`)).toBe(`${FSI}/api${PDI}`)
    expect(translate({ x: { one: 'מפתח {{.Name}}', other: '{{.Count}} מפתחות של {{.Name}}' } }, 'he', 'x', { Count: 2, Name: '/api' }, 'rtl')).toBe(`2 מפתחות של ${FSI}/api${PDI}`)
  })

  it('chooses plural forms with Intl.PluralRules', () => {
    const forms = { zero: 'z', one: 'o', two: 't', few: 'f', many: 'm', other: 'x' }
    expect(pluralForm(forms, 1, 'en')).toBe('o')
    expect(pluralForm(forms, 5, 'en')).toBe('x')
    expect(pluralForm(forms, 0, 'ar')).toBe('z')
    expect(pluralForm(forms, 2, 'ar')).toBe('t')
    expect(pluralForm(forms, 3, 'ar')).toBe('f')
    expect(pluralForm(forms, 11, 'ar')).toBe('m')
    expect(pluralForm({ other: 'x' }, 1, 'ja')).toBe('x')
  })

  it('translates ids, plural maps and shows a missing id', () => {
    const m = { 'keys.count': { one: '{{.Count}} key', other: '{{.Count}} keys' }, 'a.b': { other: 'Hello {{.Name}}' }, plain: 'Plain' }
    expect(translate(m, 'en', 'keys.count', { Count: 1 })).toBe('1 key')
    expect(translate(m, 'en', 'keys.count', { Count: 3 })).toBe('3 keys')
    expect(translate(m, 'en', 'a.b', { Name: 'Ada' })).toBe('Hello Ada')
    expect(translate(m, 'en', 'plain')).toBe('Plain')
    expect(translate(m, 'en', 'nope')).toBe('nope')
  })

  it('says relative times in the language', () => {
    const now = new Date('2026-01-10T12:00:00Z')
    expect(relativeTime(new Date('2026-01-10T11:58:00Z'), 'en', now)).toBe('2 minutes ago')
    expect(relativeTime(new Date('2026-01-13T12:00:00Z'), 'en', now)).toBe('in 3 days')
    expect(relativeTime(new Date('2026-01-09T12:00:00Z'), 'de', now)).toBe('gestern')
  })

  it('reads the catalog format of locales/*.toml', () => {
    const m = parseCatalogToml('# c\n"a.b" = "x \\"y\\""\n"c" = { one = "1 {{.Count}}", other = "n {{.Count}}" }\n')
    expect(m).toEqual({ 'a.b': 'x "y"', c: { one: '1 {{.Count}}', other: 'n {{.Count}}' } })
  })
})
