// Scalar configuration for Keygate's docs viewer: bundled, offline, no telemetry, no proxy.
import he from './scalar-locales/he.json'
import ja from './scalar-locales/ja.json'
import ko from './scalar-locales/ko.json'

export type ApiName = 'console' | 'gateway'

/** builtIn are the languages Scalar (@scalar/api-reference and its API client) translates itself. */
const builtIn = ['en', 'de', 'fr', 'es', 'pt', 'ru', 'ar']

/**
 * supplied are Scalar's interface texts in the console languages Scalar does not ship (its
 * reference and, under apiClient, its "try it" client), given through localization.translations.
 * Every text Scalar can show with this configuration is there (a test compares them with
 * Scalar's English); the developer tools, the hosted-product pages and the AI agent are turned
 * off below and are left out.
 */
const supplied: Record<string, object> = { ja, ko, he: isolatePlaceholders(he) }

/** scalarLocale maps a console language to the Scalar locale it uses. */
export function scalarLocale(lang: string): string {
  const l = lang.toLowerCase()
  if (l.startsWith('zh')) return l.includes('tw') || l.includes('hant') ? 'zh-TW' : 'zh-CN'
  const base = l.split('-')[0]
  if (builtIn.includes(base) || base in supplied) return base
  return 'en'
}

/** scalarTranslations are the translations Keygate supplies for a Scalar locale, if any. */
export function scalarTranslations(locale: string): object | undefined {
  return supplied[locale]
}

/**
 * isolatePlaceholders wraps every {placeholder} of a right-to-left catalog in U+2068/U+2069, as
 * the console's own catalogs do: a value such as "/pets" or "GET" keeps its order in a Hebrew
 * sentence.
 */
function isolatePlaceholders<T>(v: T): T {
  if (typeof v === 'string') return v.replace(/\{(\w+)\}/g, '\u2068{$1}\u2069') as T
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isolatePlaceholders(x)])) as T
  }
  return v
}

export interface ViewerSettings {
  api: ApiName
  document: object
  lang: string
  dir: 'ltr' | 'rtl'
  theme: 'light' | 'dark'
  /** apiKey prefills the gateway's ApiKeyHeader scheme; '' uses the console session. */
  apiKey: string
  /** gatewayUrl, when known, is where "try it" sends gateway requests. */
  gatewayUrl: string
  /** gatewayName describes gatewayUrl in the server list, in the viewer's language. */
  gatewayName?: string
}

/**
 * viewerFetch is the fetch Scalar uses for this viewer's own "try it" requests (nothing else
 * is patched). Gateway requests carry the console session cookie only when no key is chosen.
 */
export function viewerFetch(s: Pick<ViewerSettings, 'api' | 'apiKey'>, base: typeof fetch = fetch): typeof fetch {
  const credentials: RequestCredentials = s.api === 'gateway' && s.apiKey === '' ? 'include' : 'same-origin'
  return (input, init) => base(new Request(input, init), { credentials })
}

/** scalarConfig is the whole Scalar configuration for one document. */
export function scalarConfig(s: ViewerSettings): Record<string, unknown> {
  const gateway = s.api === 'gateway'
  const config: Record<string, unknown> = {
    content: s.document,
    // Offline and private: fonts come from the console's own CSS, no proxy, no telemetry,
    // no hosted features.
    withDefaultFonts: false,
    telemetry: false,
    agent: { disabled: true },
    mcp: { disabled: true },
    showDeveloperTools: 'never',
    showToolbar: 'never',
    hideClientButton: true,
    documentDownloadType: 'both',
    persistAuth: false,
    forceDarkModeState: s.theme,
    hideDarkModeToggle: true,
    layout: 'modern',
    defaultOpenAllTags: true,
    localization: localization(s.lang, s.dir),
    customFetch: viewerFetch(s),
    authentication: gateway
      ? {
          preferredSecurityScheme: s.apiKey ? 'ApiKeyHeader' : 'SessionCookie',
          securitySchemes: s.apiKey ? { ApiKeyHeader: { value: s.apiKey } } : {},
        }
      : { preferredSecurityScheme: 'SessionCookie' },
  }
  if (gateway && s.gatewayUrl) config.servers = [{ url: s.gatewayUrl, description: s.gatewayName ?? 'Keygate gateway' }]
  return config
}

function localization(lang: string, direction: 'ltr' | 'rtl') {
  const locale = scalarLocale(lang)
  const translations = scalarTranslations(locale)
  return translations ? { locale, direction, translations } : { locale, direction }
}
