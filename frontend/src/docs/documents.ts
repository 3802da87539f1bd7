import type { ApiName } from './config'

interface WailsApp { GenerateOpenAPI?: (api: string, format: string, lang: string) => Promise<unknown> }
type WailsWindow = Window & { go?: { main?: { App?: WailsApp } } }

/**
 * loadDocument fetches a generated OpenAPI document with Keygate's own texts in lang (the
 * upstream documents' texts stay as written): from the bound GenerateOpenAPI method in the
 * desktop window, else from the console's /openapi/ endpoint.
 */
export async function loadDocument(api: ApiName, lang: string, win: Window = window): Promise<object> {
  const bound = (win as WailsWindow).go?.main?.App?.GenerateOpenAPI
  if (bound) return parse(await bound(api, 'json', lang))
  const res = await fetch(`/openapi/${api}.json?lang=${encodeURIComponent(lang)}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
  if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`)
  return (await res.json()) as object
}

function parse(v: unknown): object {
  if (typeof v === 'object' && v !== null) return v
  if (typeof v !== 'string') throw new Error('GenerateOpenAPI returned nothing')
  const text = v.trimStart().startsWith('{') ? v : atob(v) // []byte arrives base64-encoded
  return JSON.parse(text) as object
}
