import type { I18n } from '../../i18n/i18n'
import type { ExpiryPreset } from './expiry'

/** MetaPair is one row of the metadata editor. */
export interface MetaPair { name: string; value: string }

/** KeyForm is what the create/edit dialog holds while the user types: text as typed, numbers
 * as strings (an empty field means "none"). */
export interface KeyForm {
  name: string
  expiry: ExpiryPreset | 'keep'
  date: string
  scopes: string[]
  metadata: MetaPair[]
  allowIps: string
  rateLimit: string
  rateWindow: number
  quota: string
  refillAmount: string
  refillInterval: number
}

/** KeyFacts are the fields of a stored key the dialog edits. */
export interface KeyFacts {
  name: string
  expiresAt: string | null
  scopes?: string[] | null
  metadata?: Record<string, string> | null
  allowIps?: string[] | null
  rateLimit: number
  rateWindowSeconds?: number
  quotaRemaining?: number | null
  refillAmount?: number
  refillIntervalSeconds?: number
}

/** Bounds, as the server checks them (backend/keys): the dialog says so before sending. */
export const maxScopes = 64
export const maxMetadata = 16
const scopePart = /^[A-Za-z0-9._/-]+$/
const metaName = /^[A-Za-z0-9._-]{1,40}$/

/** rateWindows and refillIntervals are the choices offered, in seconds. */
export const rateWindows = [1, 60, 3600, 86400]
export const refillIntervals = [3600, 86400, 604800, 2592000]

/** validScope says whether s is `*`, `resource`, `resource:action` or `resource:*`. */
export function validScope(s: string): boolean {
  if (s === '*') return true
  if (!s || s.length > 128) return false
  const i = s.indexOf(':')
  if (i < 0) return scopePart.test(s)
  const res = s.slice(0, i)
  const action = s.slice(i + 1)
  return scopePart.test(res) && (action === '*' || scopePart.test(action))
}

export function emptyForm(): KeyForm {
  return {
    name: '', expiry: 'never', date: '', scopes: [], metadata: [], allowIps: '',
    rateLimit: '', rateWindow: 60, quota: '', refillAmount: '', refillInterval: 86400,
  }
}

/** formOf fills the form from a stored key, for editing. */
export function formOf(k: KeyFacts): KeyForm {
  return {
    name: k.name,
    expiry: k.expiresAt ? 'keep' : 'never',
    date: '',
    scopes: [...(k.scopes ?? [])],
    metadata: Object.entries(k.metadata ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => ({ name, value })),
    allowIps: (k.allowIps ?? []).join('\n'),
    rateLimit: k.rateLimit ? String(k.rateLimit) : '',
    rateWindow: k.rateWindowSeconds || 60,
    quota: k.quotaRemaining === null || k.quotaRemaining === undefined ? '' : String(k.quotaRemaining),
    refillAmount: k.refillAmount ? String(k.refillAmount) : '',
    refillInterval: k.refillIntervalSeconds || 86400,
  }
}

export type FormErrors = Partial<Record<'name' | 'expires' | 'scopes' | 'metadata' | 'allowIps' | 'rateLimit' | 'quota' | 'refill', string>>

const wholeNumber = (s: string) => /^\d+$/.test(s.trim())

/** checkForm finds what the server would refuse, before sending; metaErrors are per row. */
export function checkForm(f: KeyForm, t: I18n['t']): { errors: FormErrors; metaErrors: string[] } {
  const errors: FormErrors = {}
  if (!f.name.trim()) errors.name = t('validation.key.name.empty')
  if (f.expiry === 'custom' && !f.date) errors.expires = t('keys.create.expiry.custom.required')
  const bad = f.scopes.find((s) => !validScope(s))
  if (bad !== undefined) errors.scopes = t('keys.form.scopes.invalid', { Scope: bad })
  if (f.rateLimit.trim() && !wholeNumber(f.rateLimit)) errors.rateLimit = t('keys.form.number.invalid')
  if (f.quota.trim() && !wholeNumber(f.quota)) errors.quota = t('keys.form.number.invalid')
  if (f.refillAmount.trim()) {
    if (!wholeNumber(f.refillAmount)) errors.refill = t('keys.form.number.invalid')
    else if (!f.quota.trim()) errors.refill = t('keys.form.refill.needs_quota')
  }
  const seen = new Map<string, number>()
  const metaErrors = f.metadata.map((p, i) => {
    const n = p.name.trim()
    if (!n && !p.value) return ''
    if (!metaName.test(n)) return t('keys.form.meta.name_invalid')
    if (seen.has(n)) return t('keys.form.meta.duplicate')
    seen.set(n, i)
    return ''
  })
  return { errors, metaErrors }
}

/** ipsOf splits the allowlist text into entries: one per line (commas and spaces also split). */
export function ipsOf(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)
}

/** metadataOf turns the editor's rows into the key's map; empty rows are dropped. */
export function metadataOf(rows: MetaPair[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const r of rows) {
    const n = r.name.trim()
    if (n) out[n] = r.value
  }
  return out
}

const num = (s: string) => (s.trim() ? Number(s.trim()) : 0)
const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i])
const sameMap = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v)

/** KeyChanges is the body of a create, or of an edit: only what the user changed, so saving an
 * unrelated field never resets the quota the gateway has been counting down meanwhile. */
export interface KeyChanges {
  name?: string
  expires?: string
  scopes?: string[]
  metadata?: Record<string, string>
  allowIps?: string[]
  rateLimit?: number
  rateWindowSeconds?: number
  quota?: number
  removeQuota?: boolean
  refillAmount?: number
  refillIntervalSeconds?: number
}

/** createInput is the CreateKey body for a new key. */
export function createInput(f: KeyForm): KeyChanges {
  const out: KeyChanges = {
    name: f.name.trim(),
    expires: f.expiry === 'custom' ? f.date : f.expiry === 'keep' ? 'never' : f.expiry,
  }
  if (f.scopes.length) out.scopes = f.scopes
  const meta = metadataOf(f.metadata)
  if (Object.keys(meta).length) out.metadata = meta
  const ips = ipsOf(f.allowIps)
  if (ips.length) out.allowIps = ips
  if (num(f.rateLimit)) { out.rateLimit = num(f.rateLimit); out.rateWindowSeconds = f.rateWindow }
  if (f.quota.trim()) out.quota = num(f.quota)
  if (f.quota.trim() && num(f.refillAmount)) { out.refillAmount = num(f.refillAmount); out.refillIntervalSeconds = f.refillInterval }
  return out
}

/** updateInput is the UpdateKey body: the fields that differ from the stored key. */
export function updateInput(f: KeyForm, k: KeyFacts): KeyChanges {
  const was = formOf(k)
  const out: KeyChanges = {}
  if (f.name.trim() !== k.name) out.name = f.name.trim()
  if (f.expiry !== 'keep' && !(f.expiry === 'never' && !k.expiresAt)) out.expires = f.expiry === 'custom' ? f.date : f.expiry
  if (!sameList(f.scopes, was.scopes)) out.scopes = f.scopes
  const meta = metadataOf(f.metadata)
  if (!sameMap(meta, k.metadata ?? {})) out.metadata = meta
  const ips = ipsOf(f.allowIps)
  if (!sameList(ips, k.allowIps ?? [])) out.allowIps = ips
  if (num(f.rateLimit) !== k.rateLimit || (num(f.rateLimit) && f.rateWindow !== was.rateWindow)) {
    out.rateLimit = num(f.rateLimit)
    out.rateWindowSeconds = f.rateWindow
  }
  if (f.quota.trim() !== was.quota) {
    if (f.quota.trim()) out.quota = num(f.quota)
    else out.removeQuota = true
  }
  const refill = f.quota.trim() ? num(f.refillAmount) : 0
  const wasRefill = k.refillAmount ?? 0
  if (refill !== wasRefill || (refill && f.refillInterval !== was.refillInterval)) {
    if (!out.removeQuota) {
      out.refillAmount = refill
      out.refillIntervalSeconds = refill ? f.refillInterval : 0
    }
  }
  return out
}
