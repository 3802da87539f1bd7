// Scalar configuration for Keygate's docs viewer: bundled, offline, no telemetry, no proxy.

export type ApiName = 'console' | 'gateway'

/** scalarLocale maps a console language to one Scalar ships; others fall back to English. */
export function scalarLocale(lang: string): string {
  const l = lang.toLowerCase()
  if (l.startsWith('zh')) return l.includes('tw') || l.includes('hant') ? 'zh-TW' : 'zh-CN'
  const base = l.split('-')[0]
  return ['en', 'de', 'fr', 'es', 'pt', 'ru', 'ar'].includes(base) ? base : 'en'
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
    localization: { locale: scalarLocale(s.lang), direction: s.dir },
    customFetch: viewerFetch(s),
    authentication: gateway
      ? {
          preferredSecurityScheme: s.apiKey ? 'ApiKeyHeader' : 'SessionCookie',
          securitySchemes: s.apiKey ? { ApiKeyHeader: { value: s.apiKey } } : {},
        }
      : { preferredSecurityScheme: 'SessionCookie' },
  }
  if (gateway && s.gatewayUrl) config.servers = [{ url: s.gatewayUrl, description: 'Keygate gateway' }]
  return config
}
