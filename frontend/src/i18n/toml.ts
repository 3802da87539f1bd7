import type { Messages } from './format'

// parseCatalogToml reads the one-message-per-line go-i18n catalog format of locales/*.toml:
//   "id" = "text"            or   "id" = { one = "…", other = "…" }
// It is used by the mock transport and by tests; the backend serves the real catalog.
export function parseCatalogToml(src: string): Messages {
  const out: Messages = {}
  const str = String.raw`"((?:[^"\\]|\\.)*)"`
  const simple = new RegExp(String.raw`^\s*${str}\s*=\s*${str}\s*$`)
  const table = new RegExp(String.raw`^\s*${str}\s*=\s*\{(.*)\}\s*$`)
  const form = new RegExp(String.raw`(\w+)\s*=\s*${str}`, 'g')
  const unescape = (s: string) => JSON.parse(`"${s}"`) as string
  for (const line of src.split(/\r?\n/)) {
    if (/^\s*(#|$)/.test(line)) continue
    let m = simple.exec(line)
    if (m) {
      out[unescape(m[1])] = unescape(m[2])
      continue
    }
    m = table.exec(line)
    if (m) {
      const forms: Record<string, string> = {}
      for (const f of m[2].matchAll(form)) forms[f[1]] = unescape(f[2])
      out[unescape(m[1])] = forms
    }
  }
  return out
}
