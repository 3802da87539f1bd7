// Exports of what a screen shows, as CSV (RFC 4180) or NDJSON (one JSON object a line).

export type ExportFormat = 'csv' | 'ndjson'

/** Column is one exported field: its header name and how a row gives its value. */
export interface Column<T> {
  name: string
  value: (row: T) => string | number | boolean | null | undefined | object
}

/**
 * csvCell quotes a value when it must be, and defuses text a spreadsheet would run as a
 * formula (a cell starting with =, +, -, @, tab or carriage return gets a leading apostrophe,
 * as OWASP's CSV injection advice says).
 */
export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = "'" + s
  return /[",\r\n]/.test(s) || s !== s.trim() ? '"' + s.replace(/"/g, '""') + '"' : s
}

/** toCSV writes a header line and one line per row, CRLF-terminated. */
export function toCSV<T>(rows: readonly T[], cols: readonly Column<T>[]): string {
  const lines = [cols.map((c) => csvCell(c.name)).join(',')]
  for (const r of rows) lines.push(cols.map((c) => csvCell(c.value(r))).join(','))
  return lines.join('\r\n') + '\r\n'
}

/** toNDJSON writes one JSON object per row, with the columns' names and values. */
export function toNDJSON<T>(rows: readonly T[], cols: readonly Column<T>[]): string {
  return rows.map((r) => JSON.stringify(Object.fromEntries(cols.map((c) => [c.name, c.value(r) ?? null])))).join('\n') + (rows.length ? '\n' : '')
}

export function encode<T>(format: ExportFormat, rows: readonly T[], cols: readonly Column<T>[]): string {
  return format === 'csv' ? toCSV(rows, cols) : toNDJSON(rows, cols)
}

export const mimeOf: Record<ExportFormat, string> = { csv: 'text/csv;charset=utf-8', ndjson: 'application/x-ndjson' }

/** exportName is e.g. keygate-requests-20260130-154501.csv (local time). */
export function exportName(what: string, format: ExportFormat | 'json', now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`
  return `keygate-${what}-${stamp}.${format}`
}

type SaveExport = (name: string, content: string) => Promise<string>

/**
 * saveText saves text under name: through the native "save as" dialog in the desktop window
 * (the bound SaveExport; resolves to the path, or '' when cancelled), as a download in the
 * browser (resolves to the name).
 */
export async function saveText(name: string, mime: string, text: string, win: Window = window): Promise<string> {
  const save = (win.go?.main?.App as Record<string, unknown> | undefined)?.SaveExport as SaveExport | undefined
  if (save) return save(name, text)
  const url = URL.createObjectURL(new Blob([text], { type: mime }))
  try {
    const a = win.document.createElement('a')
    a.href = url
    a.download = name
    a.style.display = 'none'
    win.document.body.appendChild(a)
    a.click()
    a.remove()
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  }
  return name
}
