import type { FieldError, Problem } from './types'

/** ApiError is a failed console call: the problem's stable code, localized detail and field errors. */
export class ApiError extends Error {
  readonly code: string
  readonly status: number
  readonly detail: string
  readonly fields: FieldError[]

  constructor(p: Problem) {
    super(p.detail || p.title || p.code)
    this.name = 'ApiError'
    this.code = p.code || 'INTERNAL'
    this.status = p.status ?? 0
    this.detail = p.detail || p.title || ''
    this.fields = p.fields ?? []
  }

  /** fieldError returns the localized message for one input field, if the server named it. */
  fieldError(field: string): string | undefined {
    return this.fields.find((f) => f.field === field)?.detail
  }
}

/** toProblem reads a problem out of anything a transport may have thrown or returned. */
export function toProblem(v: unknown, status = 0): Problem {
  if (v && typeof v === 'object' && 'code' in v && typeof (v as Problem).code === 'string') {
    const p = v as Problem
    return { ...p, status: p.status ?? status }
  }
  if (typeof v === 'string') {
    try {
      return toProblem(JSON.parse(v), status)
    } catch {
      return { code: status === 0 ? 'INTERNAL' : `HTTP_${status}`, status, detail: v }
    }
  }
  if (v instanceof Error) return { code: 'NETWORK', status, detail: v.message }
  return { code: 'INTERNAL', status }
}
