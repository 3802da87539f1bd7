/** Messages are a catalog's messages: plural forms as the server sends them, or plain text as a
 * catalog file parsed in the browser (the mock, tests) may hold them. */
export type Messages = Record<string, string | Record<string, string>>
export type Data = Record<string, string | number | undefined | null>

const placeholder = /\{\{\s*\.(\w+)\s*\}\}/g

/** FSI and PDI (U+2068, U+2069) isolate a value: it is laid out on its own, its direction taken
 * from its first strong character, and the text around it sees one neutral character. */
export const FSI = '\u2068'
export const PDI = '\u2069'

// A strong right-to-left character (Hebrew, Arabic, Syriac, Thaana, N'Ko, …, their
// presentation forms) or a directional formatting character.
const rtlOrControl = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFC\u200E\u200F\u202A-\u202E\u2066-\u2069\u{10800}-\u{10FFF}\u{1E800}-\u{1EFFF}]/u

/** isolate returns s ready to sit inside text of direction dir, as the Go side does
 * (i18n.Isolate): in right-to-left text always wrapped in FSI … PDI, so "/api" and
 * "Billing (prod)" keep their order; in left-to-right text only when s holds right-to-left
 * text or direction controls. An empty or already isolated s comes back unchanged. */
export function isolate(dir: 'ltr' | 'rtl', s: string): string {
  if (s === '' || (s.startsWith(FSI) && s.endsWith(PDI))) return s
  if (dir !== 'rtl' && !rtlOrControl.test(s)) return s
  return FSI + s + PDI
}

/** interpolate fills go-i18n {{.Name}} placeholders; numbers are formatted for the language,
 * text values are isolated for the direction of the message (see isolate). */
export function interpolate(text: string, data: Data | undefined, lang: string, dir: 'ltr' | 'rtl' = 'ltr'): string {
  if (!data) return text
  return text.replace(placeholder, (m, name: string) => {
    const v = data[name]
    if (v === undefined || v === null) return m
    return typeof v === 'number' ? new Intl.NumberFormat(lang).format(v) : isolate(dir, String(v))
  })
}

/** pluralForm picks go-i18n's form (zero, one, two, few, many, other) for count with Intl.PluralRules. */
export function pluralForm(forms: Record<string, string>, count: number, lang: string): string {
  let rule = 'other'
  try {
    rule = new Intl.PluralRules(lang).select(count)
  } catch {
    // unknown language tag: "other" is always present
  }
  return forms[rule] ?? forms.other ?? Object.values(forms)[0] ?? ''
}

/** translate looks id up in messages; a missing id shows itself so it is noticed, never blank.
 * dir is the direction of the catalog's language: values are isolated for it. */
export function translate(messages: Messages, lang: string, id: string, data?: Data, dir: 'ltr' | 'rtl' = 'ltr'): string {
  const m = messages[id]
  if (m === undefined) return id
  if (typeof m === 'string') return interpolate(m, data, lang, dir)
  const count = data?.Count ?? data?.count
  if (count === undefined || count === null) return interpolate(m.other ?? Object.values(m)[0] ?? id, data, lang, dir)
  return interpolate(pluralForm(m, Number(count), lang), data, lang, dir)
}

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
]

/** relativeTime says when t was, from now, in lang ("3 days ago", "in 2 hours"). */
export function relativeTime(t: Date, lang: string, now: Date = new Date()): string {
  const secs = Math.round((t.getTime() - now.getTime()) / 1000)
  const abs = Math.abs(secs)
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' })
  for (const [unit, size] of units) {
    if (abs >= size || unit === 'second') {
      return rtf.format(Math.round(secs / size), unit)
    }
  }
  return rtf.format(0, 'second')
}

/** exactTime is the full date and time in lang, with the time zone. */
export function exactTime(t: Date, lang: string): string {
  return new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeStyle: 'long' }).format(t)
}

export function shortDate(t: Date, lang: string): string {
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium' }).format(t)
}

export function formatNumber(n: number, lang: string, opts?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(lang, opts).format(n)
}
