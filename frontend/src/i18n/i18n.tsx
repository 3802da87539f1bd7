import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import type { Api } from '../api/client'
import type { Catalog } from '../api/types'
import { exactTime, formatNumber, isolate, relativeTime, shortDate, translate, type Data } from './format'

export interface I18n {
  lang: string
  dir: 'ltr' | 'rtl'
  t: (id: string, data?: Data) => string
  /** bidi isolates a value shown in text the markup cannot wrap in <bdi> (an <option>, an
   * attribute): in Arabic and Hebrew "/api" and "Billing (prod)" keep their order. */
  bidi: (value: string) => string
  /** setLanguage loads another catalog and applies it at once; "" means the detected language. */
  setLanguage: (lang: string) => Promise<void>
  relative: (iso: string | Date) => string
  exact: (iso: string | Date) => string
  date: (iso: string | Date) => string
  number: (n: number, opts?: Intl.NumberFormatOptions) => string
}

const Ctx = createContext<I18n | null>(null)

export function useI18n(): I18n {
  const v = useContext(Ctx)
  if (!v) throw new Error('useI18n outside I18nProvider')
  return v
}

/** useT is the usual way in: const t = useT(); t('keys.title'). */
export function useT(): I18n['t'] {
  return useI18n().t
}

const toDate = (v: string | Date) => (v instanceof Date ? v : new Date(v))

/** makeI18n builds the formatting functions for one loaded catalog. */
export function makeI18n(c: Catalog, setLanguage: I18n['setLanguage']): I18n {
  const lang = c.lang || 'en'
  const dir = c.dir === 'rtl' ? 'rtl' : 'ltr'
  return {
    lang,
    dir,
    t: (id, data) => translate(c.messages, lang, id, data, dir),
    bidi: (value) => isolate(dir, value),
    setLanguage,
    relative: (v) => relativeTime(toDate(v), lang),
    exact: (v) => exactTime(toDate(v), lang),
    date: (v) => shortDate(toDate(v), lang),
    number: (n, opts) => formatNumber(n, lang, opts),
  }
}

async function loadCatalog(api: Api, wanted: string, nav: readonly string[] = navigatorLanguages()): Promise<Catalog> {
  // "auto" asks the backend to choose (saved preference, OS locale or Accept-Language, else
  // English). A desktop app started from a menu often gets no locale variables, so the backend
  // can only answer English: should the system's languages as the web view reports them
  // (navigator.languages, most preferred first) put another language before English, ask for
  // each in turn; the backend matches it to a shipped one, or answers English.
  const tries = wanted ? [wanted] : ['auto', ...nav, 'en']
  const prefersOther = nav.length > 0 && !isEnglish(nav[0])
  let last: unknown
  let english: Catalog | null = null
  for (const lang of tries) {
    if (!lang) continue
    try {
      const c = await api.call('GetCatalog', { lang })
      if (!c || !c.messages) continue
      if (!wanted && c.lang === 'en' && prefersOther && (lang === 'auto' || !isEnglish(lang))) {
        english ??= c
        continue
      }
      return c
    } catch (e) {
      last = e
    }
  }
  if (english) return english
  throw last
}

const isEnglish = (tag: string) => /^en(\b|[-_])/i.test(tag)

/** navigatorLanguages are the user's languages as the browser or web view reports them. */
function navigatorLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return []
  const list = navigator.languages?.length ? navigator.languages : [navigator.language]
  return list.filter(Boolean)
}

export { loadCatalog }

interface Props {
  api: Api
  initial?: string
  children: ReactNode
  /** fallback renders while the first catalog loads or when it cannot be loaded. */
  fallback?: (error: unknown, retry: () => void) => ReactNode
}

/** I18nProvider loads the catalog from GetCatalog and keeps <html lang dir> in step with it. */
export function I18nProvider({ api, initial = '', children, fallback }: Props) {
  const [catalog, setCatalog] = useState<Catalog | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [attempt, setAttempt] = useState(0)
  const seq = useRef(0)

  const setLanguage = useCallback(async (lang: string) => {
    const n = ++seq.current
    const c = await loadCatalog(api, lang)
    if (n === seq.current) setCatalog(c)
  }, [api])

  useEffect(() => {
    setError(null)
    setLanguage(initial).catch((e) => setError(e))
  }, [setLanguage, initial, attempt])

  const value = useMemo(() => (catalog ? makeI18n(catalog, setLanguage) : null), [catalog, setLanguage])

  useEffect(() => {
    if (!value) return
    document.documentElement.lang = value.lang
    document.documentElement.dir = value.dir
  }, [value])

  if (!value) return <>{fallback?.(error, () => setAttempt((a) => a + 1)) ?? null}</>
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>
}

/** I18nTestProvider provides fixed messages, for tests. */
export function StaticI18n({ catalog, children }: { catalog: Catalog; children: ReactNode }) {
  const value = useMemo(() => makeI18n(catalog, async () => {}), [catalog])
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>
}
