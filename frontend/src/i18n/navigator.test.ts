import { describe, expect, it } from 'vitest'
import type { Api } from '../api/client'
import { loadCatalog } from './i18n'

const shipped = ['en', 'de', 'fr', 'es', 'pt-BR', 'ja', 'zh-Hans', 'ko', 'ar', 'he']

/** fakeApi answers GetCatalog like the backend: "auto" is osLang (English without one), any
 * other tag is matched by its base language, else English. */
function fakeApi(osLang: string, asked: string[]): Api {
  return {
    kind: 'http',
    async call(name: string, input: { lang: string }) {
      if (name !== 'GetCatalog') throw new Error(name)
      asked.push(input.lang)
      const want = input.lang === 'auto' ? osLang || 'en' : input.lang
      const lang = shipped.find((l) => l.toLowerCase() === want.toLowerCase()) ??
        shipped.find((l) => l.split('-')[0] === want.toLowerCase().split(/[-_]/)[0]) ?? 'en'
      return { lang, dir: 'ltr', messages: { hello: lang } }
    },
  } as unknown as Api
}

describe('the first catalog', () => {
  it('follows the OS locale the backend found', async () => {
    const asked: string[] = []
    expect((await loadCatalog(fakeApi('ko', asked), '', ['de-DE'])).lang).toBe('ko')
    expect(asked).toEqual(['auto'])
  })
  it('falls back to navigator.languages, in order, when the backend found no locale', async () => {
    const asked: string[] = []
    expect((await loadCatalog(fakeApi('', asked), '', ['it-IT', 'ja-JP', 'en-US'])).lang).toBe('ja')
    expect(asked).toEqual(['auto', 'it-IT', 'ja-JP'])
  })
  it('keeps English when the system prefers English before any shipped language', async () => {
    const asked: string[] = []
    expect((await loadCatalog(fakeApi('', asked), '', ['it', 'en-GB', 'de'])).lang).toBe('en')
    expect((await loadCatalog(fakeApi('', []), '', ['en-US', 'de'])).lang).toBe('en')
    expect((await loadCatalog(fakeApi('', []), '', [])).lang).toBe('en')
  })
  it('asks only for a language the user chose', async () => {
    const asked: string[] = []
    expect((await loadCatalog(fakeApi('', asked), 'he', ['de'])).lang).toBe('he')
    expect(asked).toEqual(['he'])
  })
})
