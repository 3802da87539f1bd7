import { describe, expect, it } from 'vitest'
import { checkForm, createInput, emptyForm, formOf, ipsOf, updateInput, validScope, type KeyFacts } from './keyForm'

const t = (id: string, data?: Record<string, unknown>) => (data ? `${id} ${JSON.stringify(data)}` : id)

const stored: KeyFacts = {
  name: 'Billing', expiresAt: '2027-01-01T00:00:00Z', scopes: ['orders:read', 'users:*'],
  metadata: { team: 'payments', tier: 'gold' }, allowIps: ['10.0.0.0/8', '2001:db8::/32'],
  rateLimit: 100, rateWindowSeconds: 60, quotaRemaining: 250, refillAmount: 1000, refillIntervalSeconds: 86400,
}

describe('key form', () => {
  it('knows a scope', () => {
    for (const s of ['*', 'orders', 'orders:read', 'orders:*', 'v1/orders.items:read_all']) expect(validScope(s), s).toBe(true)
    for (const s of ['', ':read', 'orders:', 'orders:read:x', 'or ders', 'orders:*x', '*:read', 'x'.repeat(129)]) expect(validScope(s), s).toBe(false)
  })

  it('splits the allowlist on lines, commas and spaces', () => {
    expect(ipsOf(' 10.0.0.0/8\n\n2001:db8::/32 , 192.0.2.1 ')).toEqual(['10.0.0.0/8', '2001:db8::/32', '192.0.2.1'])
  })

  it('refuses what the server would refuse, naming the field', () => {
    const f = { ...emptyForm(), name: '  ', scopes: ['orders:read', 'bad scope'], rateLimit: '1.5', quota: '-3', refillAmount: '10' }
    f.metadata = [{ name: 'team', value: 'a' }, { name: 'team', value: 'b' }, { name: 'no spaces', value: '' }, { name: '', value: '' }]
    const { errors, metaErrors } = checkForm(f, t)
    expect(errors.name).toBe('validation.key.name.empty')
    expect(errors.scopes).toContain('bad scope')
    expect(errors.rateLimit).toBe('keys.form.number.invalid')
    expect(errors.quota).toBe('keys.form.number.invalid')
    expect(metaErrors).toEqual(['', 'keys.form.meta.duplicate', 'keys.form.meta.name_invalid', ''])
    expect(checkForm({ ...emptyForm(), name: 'x', refillAmount: '5' }, t).errors.refill).toBe('keys.form.refill.needs_quota')
    expect(checkForm({ ...emptyForm(), name: 'x', expiry: 'custom' }, t).errors.expires).toBeTruthy()
    const ok = checkForm({ ...emptyForm(), name: 'x', scopes: ['*'], quota: '10', refillAmount: '10', rateLimit: '5' }, t)
    expect(ok.errors).toEqual({})
  })

  it('creates with only what was filled in', () => {
    expect(createInput({ ...emptyForm(), name: ' CI ' })).toEqual({ name: 'CI', expires: 'never' })
    const f = { ...emptyForm(), name: 'CI', expiry: '30d' as const, scopes: ['orders:read'], allowIps: '10.0.0.0/8',
      metadata: [{ name: 'team', value: 'ops' }, { name: '', value: '' }], rateLimit: '100', rateWindow: 3600, quota: '500', refillAmount: '500', refillInterval: 604800 }
    expect(createInput(f)).toEqual({
      name: 'CI', expires: '30d', scopes: ['orders:read'], allowIps: ['10.0.0.0/8'], metadata: { team: 'ops' },
      rateLimit: 100, rateWindowSeconds: 3600, quota: 500, refillAmount: 500, refillIntervalSeconds: 604800,
    })
  })

  it('sends nothing when nothing changed, so the counted-down quota is kept', () => {
    expect(updateInput(formOf(stored), stored)).toEqual({})
    expect(formOf(stored).metadata).toEqual([{ name: 'team', value: 'payments' }, { name: 'tier', value: 'gold' }])
  })

  it('sends each changed field, and clears what was emptied', () => {
    const f = formOf(stored)
    f.name = 'Billing v2'
    f.expiry = 'never'
    f.scopes = ['orders:read']
    f.metadata = [{ name: 'team', value: 'payments' }]
    f.allowIps = ''
    f.rateLimit = ''
    expect(updateInput(f, stored)).toEqual({ name: 'Billing v2', expires: 'never', scopes: ['orders:read'], metadata: { team: 'payments' }, allowIps: [], rateLimit: 0, rateWindowSeconds: 60 })
    const q = formOf(stored)
    q.quota = ''
    expect(updateInput(q, stored)).toEqual({ removeQuota: true })
    const r = formOf(stored)
    r.refillAmount = ''
    expect(updateInput(r, stored)).toEqual({ refillAmount: 0, refillIntervalSeconds: 0 })
    const w = formOf(stored)
    w.refillInterval = 3600
    w.quota = '10'
    expect(updateInput(w, stored)).toEqual({ quota: 10, refillAmount: 1000, refillIntervalSeconds: 3600 })
  })

  it('keeps no expiry as it is, and sets a custom date', () => {
    const never = { ...stored, expiresAt: null }
    expect(formOf(never).expiry).toBe('never')
    expect(updateInput(formOf(never), never)).toEqual({})
    const f = formOf(stored)
    f.expiry = 'custom'
    f.date = '2030-05-01'
    expect(updateInput(f, stored)).toEqual({ expires: '2030-05-01' })
  })
})
