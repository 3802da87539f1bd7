// The mock transport: an in-memory console for `npm run dev` without a backend (?mock in the
// URL) and for component tests. Its handlers are typed by the generated operation map
// (operations.ts), so it cannot drift from the Go types; its behaviour follows docs/api.md closely
// enough to exercise every screen.
import { ApiError } from './error'
import type { Transport } from './client'
import type { In, OpName, Out } from './operations'
import type { AuditEntry, Catalog, GatewaySettings, Key, Member, Org, RequestEntry, Role, Route, Theme, User, WebhookDelivery, WebhookEndpoint } from './types'
import { parseCatalogToml } from '../i18n/toml'
import { languages } from '../i18n/languages'

const catalogs = import.meta.glob('../../../locales/active.*.toml', { query: '?raw', import: 'default' })

export interface MockOptions {
  role?: Role
  signedIn?: boolean
  setupNeeded?: boolean
  orgs?: number
  keys?: number
  /** auditEntries adds that many older key.update entries to the audit log (for paging). */
  auditEntries?: number
  desktop?: boolean
  latency?: number
  fail?: Partial<Record<OpName, { code: string; detail: string; status?: number }>>
}

let seq = 1000
const id = (p: string) => `${p}_${(seq++).toString(36)}${Math.random().toString(36).slice(2, 8)}`
const now = () => new Date().toISOString()
const ago = (ms: number) => new Date(Date.now() - ms).toISOString()
const DAY = 86400_000

function secret(prefix: string) {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  let s = ''
  for (let i = 0; i < 38; i++) s += chars[Math.floor(Math.random() * chars.length)]
  return `${prefix}_${s}`
}

export function mockTransport(o: MockOptions = {}): Transport & { state: ReturnType<typeof seed> } {
  const state = seed(o)
  const t = {
    kind: (o.desktop ? 'desktop' : 'http') as Transport['kind'],
    state,
    async call(name: OpName, input: object): Promise<unknown> {
      if (o.latency) await new Promise((r) => setTimeout(r, o.latency))
      const f = o.fail?.[name]
      if (f) throw new ApiError({ code: f.code, detail: f.detail, status: f.status ?? 400 })
      // A copy, as a real transport gives: screens never share objects with the mock's state.
      const out = await handle(state, o, name, input)
      return out === undefined ? out : structuredClone(out)
    },
    /** download answers a file operation with a small SQLite-looking file, in four steps. */
    async download(name: OpName, input: object, onReceived: (received: number, total: number) => void) {
      await t.call(name, input)
      const bytes = new Uint8Array(4096)
      bytes.set(new TextEncoder().encode('SQLite format 3\0'))
      for (let i = 1; i <= 4; i++) {
        if (o.latency) await new Promise((r) => setTimeout(r, o.latency))
        onReceived((bytes.length / 4) * i, bytes.length)
      }
      const fileName = 'keygate-backup-20260115-120000.db'
      return o.desktop ? { name: fileName, size: bytes.length, path: '/home/ada/' + fileName } : { name: fileName, size: bytes.length, blob: new Blob([bytes]) }
    },
  }
  return t
}

function seed(o: MockOptions) {
  const orgs: (Org & { role: Role })[] = []
  const n = o.orgs ?? 2
  const names = ['Acme Corp', 'Globex', 'Initech']
  for (let i = 0; i < n; i++) {
    orgs.push({ id: `org_${i + 1}mock${'abcdef'[i]}`, name: names[i] ?? `Org ${i + 1}`, keyPrefix: 'kg', createdAt: ago((30 - i) * DAY), role: o.role ?? 'admin' })
  }
  const keys: Key[] = []
  const keyNames = ['Production backend', 'Staging', 'CI pipeline', 'Mobile app', 'Partner: Initech', 'Old integration']
  for (let i = 0; i < (o.keys ?? 5); i++) {
    const org = orgs[i % Math.max(1, Math.min(orgs.length, 1))] ?? orgs[0]
    const status = i === 4 ? 'revoked' : i === 5 ? 'expired' : 'active'
    keys.push({
      id: id('key'), orgId: org?.id ?? 'org_x', name: keyNames[i % keyNames.length], prefix: 'kg',
      start: `kg_${'a1B2c3D4e5F6'.slice(i, i + 4)}`, status, createdAt: ago((i + 1) * 3 * DAY), createdBy: 'ada@example.com',
      expiresAt: i % 2 ? ago(-(i + 1) * 20 * DAY) : null, revokedAt: status === 'revoked' ? ago(DAY) : null,
      lastUsedAt: i < 3 ? ago(i * 3600_000 + 120_000) : null, usageCount: 1000 - i * 100,
      ...v2(i === 0 ? { scopes: ['pets:read'], metadata: { team: 'payments' }, rateLimit: 100, quotaRemaining: 250, refillAmount: 1000, refillIntervalSeconds: 86400 } : {}),
    })
  }
  if (orgs[1]) {
    keys.push({ id: id('key'), orgId: orgs[1].id, name: 'Globex only key', prefix: 'kg', start: 'kg_Zz9y', status: 'active', createdAt: ago(DAY), createdBy: 'ada@example.com', expiresAt: null, revokedAt: null, lastUsedAt: null, usageCount: 0, ...v2() })
  }
  const routes: Route[] = [
    route({ id: 'rt_demo', prefix: '/demo', upstream: 'http://127.0.0.1:9801', stripPrefix: true, openapiSource: 'http://127.0.0.1:9801/openapi.json', maxBodyBytes: 1048576, scopes: ['pets:read', 'pets:write'] }),
  ]
  const members: (Member & { orgId: string })[] = orgs.flatMap((org) => [
    { orgId: org.id, userId: 'usr_ada', email: 'ada@example.com', name: 'Ada Lovelace', role: 'admin' as Role, createdAt: ago(30 * DAY) },
    { orgId: org.id, userId: 'usr_grace', email: 'grace@example.com', name: 'Grace Hopper', role: 'developer' as Role, createdAt: ago(10 * DAY) },
  ])
  const audit: AuditEntry[] = [
    { id: 1, at: ago(3600_000), actor: 'usr_ada', actorEmail: 'ada@example.com', orgId: orgs[0]?.id ?? '', action: 'key.create', target: keys[0]?.id ?? '', detail: '', clientAddr: '127.0.0.1' },
    { id: 2, at: ago(7200_000), actor: 'usr_ada', actorEmail: 'ada@example.com', orgId: orgs[0]?.id ?? '', action: 'login', target: '', detail: '', clientAddr: '127.0.0.1' },
  ]
  for (let i = 0; i < (o.auditEntries ?? 0); i++) {
    audit.push({ id: -i - 1, at: ago(3 * 3600_000 + i * 60_000), actor: 'usr_grace', actorEmail: 'grace@example.com', orgId: orgs[0]?.id ?? '',
      action: 'key.update', target: `key_old${i}`, detail: `change ${i + 1}`, clientAddr: '127.0.0.1' })
  }
  const requests: RequestEntry[] = [200, 200, 401, 404, 200, 429, 502].map((status, i) => ({
    id: i + 1, time: ago(i * 45_000 + 5000), requestId: `req_${i}abc`, method: i % 3 ? 'GET' : 'POST', path: `/demo/pets${i % 2 ? '/' + i : ''}`,
    status, latencyUs: 800 + i * 1337, keyId: status === 401 ? '' : keys[0]?.id ?? '', keyName: status === 401 ? '' : keys[0]?.name ?? '',
    userId: '', orgId: orgs[0]?.id ?? '', route: '/demo', errorCode: status === 401 ? 'MISSING_CREDENTIAL' : status === 429 ? 'RATE_LIMITED' : status === 502 ? 'UPSTREAM_UNAVAILABLE' : '',
    clientAddr: '127.0.0.1', headers: { 'User-Agent': ['curl/8.5.0'], Accept: ['*/*'], 'X-Api-Key': ['[masked]'] },
  }))
  return {
    orgs, keys, routes, members, audit, requests,
    webhooks: [] as WebhookEndpoint[],
    deliveries: [] as WebhookDelivery[],
    settings: { allowedOrigins: ['http://localhost:5173'], upstreamTimeoutSeconds: 30, logRetentionDays: 90, logRetentionRows: 100000, usageRetentionDays: 90 } as GatewaySettings,
    status: { running: true, url: 'http://127.0.0.1:8787', listen: '127.0.0.1:8787', startedAt: ago(3600_000) as string | null, canControl: !!o.desktop },
    nodes: [{ id: 'node_mock1', name: 'gw-1', version: 'v1.4.0', address: 'http://127.0.0.1:8787', startedAt: ago(3600_000), lastSeenAt: ago(2000), requestsPerSecond: 37, live: true }],
    prefs: { language: '', theme: 'system' as Theme },
    ports: { gateway: 8787, console: 8788 },
    signedIn: o.signedIn ?? true,
    setupNeeded: o.setupNeeded ?? false,
  }
}

type State = ReturnType<typeof seed>

/** ports answers GetPorts from the mock state: the desktop has no console listener. */
function ports(s: State, o: MockOptions): Out<'GetPorts'> {
  return {
    gateway: { port: s.ports.gateway, listen: s.status.listen, fixedBy: '', pending: false },
    console: o.desktop ? { port: s.ports.console, listen: '', fixedBy: '', pending: false }
      : { port: s.ports.console, listen: '127.0.0.1:8788', fixedBy: '', pending: s.ports.console !== 8788 },
  }
}

function org(s: State, orgId: string | undefined) {
  const o = orgId ? s.orgs.find((x) => x.id === orgId) : s.orgs[0]
  if (!o) throw new ApiError({ code: 'FORBIDDEN', status: 403, detail: 'You are not a member of this organization.' })
  return o
}

function need(s: State, orgId: string | undefined, role: Role) {
  const o = org(s, orgId)
  const rank = { member: 0, developer: 1, admin: 2 }
  if (rank[o.role] < rank[role]) throw new ApiError({ code: 'FORBIDDEN', status: 403, detail: 'You do not have permission to do this.' })
  return o
}

function keyName(name: unknown) {
  const n = String(name ?? '').trim()
  if (!n) throw new ApiError({ code: 'VALIDATION', status: 400, detail: 'Some fields are not valid.', fields: [{ field: 'name', code: 'required', detail: 'Enter a name for the key.' }] })
  return n
}

function expiry(e: string): string | null {
  const d: Record<string, number> = { '7d': 7, '30d': 30, '60d': 60, '90d': 90, '1y': 365 }
  if (!e || e === 'never') return null
  if (d[e]) return new Date(Date.now() + d[e] * DAY).toISOString()
  const t = new Date(`${e}T23:59:59Z`)
  if (isNaN(t.getTime())) throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'expires', code: 'invalid', detail: 'Invalid date.' }] })
  return t.toISOString()
}

type Handlers = { [N in OpName]: (s: State, o: MockOptions, input: In<N>) => Out<N> | Promise<Out<N>> }

const publicOps: OpName[] = ['GetCatalog', 'GetSetup', 'CompleteSetup', 'Login', 'ResetPassword']

function handle(s: State, o: MockOptions, name: OpName, input: object): Promise<unknown> | unknown {
  if (!s.signedIn && !publicOps.includes(name)) throw new ApiError({ code: 'UNAUTHENTICATED', status: 401, detail: 'Sign in to continue.' })
  const h = handlers[name] as (s: State, o: MockOptions, input: object) => unknown
  return h(s, o, input)
}

const user = (s: State): User => ({ id: 'usr_ada', email: 'ada@example.com', name: 'Ada Lovelace', createdAt: ago(30 * DAY), ...s.prefs })

// handlers is typed by the generated operation map: a missing operation, or an input or answer
// that does not match the Go types, fails the type check.
/** usageSeries rolls request-log entries up as GetUsage would (one bucket per minute of the last hour by default). */
function usageSeries(rs: RequestEntry[], inp: { from?: string; to?: string; bucket?: string }): Out<'GetUsage'> {
  const to = inp.to ? new Date(inp.to).getTime() : Date.now()
  const from = Math.floor((inp.from ? new Date(inp.from).getTime() : to - 3600_000) / 60_000) * 60_000
  const unit = { m: 60_000, h: 3600_000, d: 86_400_000 } as Record<string, number>
  // Without a bucket GetUsage picks the smallest usual width giving at most 60 buckets (usage.autoBucket).
  const auto = [1, 5, 15, 60, 180, 360, 1440, 10080].map((m) => m * 60_000).find((w) => (to - from) / w <= 60) ?? 31 * 86_400_000
  const width = inp.bucket ? Number(inp.bucket.slice(0, -1)) * unit[inp.bucket.slice(-1)] : auto
  const roll = (xs: RequestEntry[], start: number) => {
    const lat = xs.map((r) => r.latencyUs / 1000).sort((a, b) => a - b)
    const q = (p: number) => (lat.length ? lat[Math.max(Math.ceil(p * lat.length) - 1, 0)] : null)
    const codes: Record<string, number> = {}
    for (const r of xs) if (r.errorCode && r.status < 499 && r.status >= 400) codes[r.errorCode] = (codes[r.errorCode] ?? 0) + 1
    return {
      start: new Date(start).toISOString(), total: xs.length, ok: xs.filter((r) => r.status < 400).length,
      clientErrors: xs.filter((r) => r.status >= 400 && r.status < 500).length, serverErrors: xs.filter((r) => r.status >= 500).length,
      rejected: Object.values(codes).reduce((a, b) => a + b, 0), rejectedByCode: codes, p50Ms: q(0.5), p95Ms: q(0.95),
    }
  }
  const inRange = rs.filter((r) => { const t = new Date(r.time).getTime(); return t >= from && t < to })
  const buckets = []
  for (let start = from; start < to; start += width) {
    buckets.push(roll(inRange.filter((r) => { const t = new Date(r.time).getTime(); return t >= start && t < start + width }), start))
  }
  const bucket = width % 86_400_000 === 0 ? `${width / 86_400_000}d` : width % 3600_000 === 0 ? `${width / 3600_000}h` : `${width / 60_000}m`
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), bucket, buckets, summary: roll(inRange, from) }
}

const handlers: Handlers = {
  async GetCatalog(_s, _o, inp) {
    const wanted = String(inp.lang)
    const lang = languages.find((l) => l.tag.toLowerCase() === wanted.toLowerCase())?.tag ?? 'en'
    const en = parseCatalogToml(String(await catalogs['../../../locales/active.en.toml']?.() ?? ''))
    const own = lang === 'en' ? {} : parseCatalogToml(String(await catalogs[`../../../locales/active.${lang}.toml`]?.() ?? ''))
    const messages: Catalog['messages'] = {}
    for (const [k, v] of Object.entries({ ...en, ...own })) messages[k] = typeof v === 'string' ? { other: v } : v
    return { lang, dir: languages.find((l) => l.tag === lang)?.dir === 'rtl' ? 'rtl' : 'ltr', messages }
  },
  GetSetup: (s) => ({ needed: s.setupNeeded }),
  CompleteSetup(s, _o, inp) {
    if (!inp.token) throw new ApiError({ code: 'FORBIDDEN', status: 403, detail: 'The setup link is invalid or has expired.' })
    s.setupNeeded = false; s.signedIn = true
    return { user: user(s), csrfToken: 'csrf' }
  },
  Login(s, _o, inp) {
    if (inp.password !== 'correct horse') throw new ApiError({ code: 'UNAUTHENTICATED', status: 401, detail: 'Wrong email or password.' })
    s.signedIn = true
    return { user: user(s), csrfToken: 'csrf' }
  },
  Logout(s) { s.signedIn = false },
  GetMe: (s, o) => ({ user: user(s), csrfToken: 'csrf', mode: o.desktop ? 'desktop' : 'serve', orgs: s.orgs, invitations: [], language: s.prefs.language || 'en' }),
  ListOrgs: (s) => ({ orgs: s.orgs }),
  CreateOrg(s, _o, inp) {
    const n = String(inp.name ?? '').trim()
    if (!n) throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'name', code: 'required', detail: 'This field is required.' }] })
    const x = { id: id('org'), name: n, keyPrefix: 'kg', createdAt: now(), role: 'admin' as Role }
    s.orgs.push(x); return x
  },
  GetOrg: (s, _o, inp) => org(s, inp.org),
  RenameOrg(s, _o, inp) { const x = need(s, inp.org, 'admin'); x.name = String(inp.name).trim(); return x },
  ListKeys(s, _o, inp) {
    const x = org(s, inp.org)
    const st = inp.status || 'all'
    const q = (inp.search ?? '').toLowerCase()
    const soon = inp.expiringWithinDays ? Date.now() + inp.expiringWithinDays * DAY : 0
    const all = s.keys.filter((k) => k.orgId === x.id && (st === 'all' || k.status === st) && (!q || k.name.toLowerCase().includes(q)) &&
      (!soon || (k.status === 'active' && !!k.expiresAt && Date.parse(k.expiresAt) <= soon)))
    const by = inp.sort || 'created'
    const val = (k: Key): string | number => by === 'name' ? k.name.toLowerCase() : by === 'expires' ? (k.expiresAt ? Date.parse(k.expiresAt) : Infinity) : by === 'lastUsed' ? (k.lastUsedAt ? Date.parse(k.lastUsedAt) : -Infinity) : Date.parse(k.createdAt)
    const dir = (inp.order || (by === 'name' || by === 'expires' ? 'asc' : 'desc')) === 'asc' ? 1 : -1
    all.sort((a, b) => (val(a) < val(b) ? -dir : val(a) > val(b) ? dir : 0))
    const from = Number(inp.cursor || 0)
    const limit = inp.limit || 50
    const page = all.slice(from, from + limit)
    return { keys: page, total: all.length, nextCursor: from + limit < all.length ? String(from + limit) : undefined }
  },
  CreateKey(s, _o, inp) {
    const x = need(s, inp.org, 'developer')
    const nm = keyName(inp.name)
    const raw = secret(x.keyPrefix)
    const k: Key = { id: id('key'), orgId: x.id, name: nm, prefix: x.keyPrefix, start: raw.slice(0, x.keyPrefix.length + 5), status: 'active', createdAt: now(), createdBy: 'ada@example.com', expiresAt: expiry(String(inp.expires ?? '')), revokedAt: null, lastUsedAt: null, usageCount: 0, ...v2() }
    edit(k, inp)
    s.keys.unshift(k)
    return { id: k.id, key: raw, name: k.name, start: k.start, prefix: k.prefix, orgId: x.id, createdAt: k.createdAt, expiresAt: k.expiresAt }
  },
  GetKey(s, _o, inp) {
    const k = findKey(s, inp.id)
    if (k.orgId !== org(s, inp.org).id) throw new ApiError({ code: 'NOT_FOUND', status: 404, detail: 'This API key is not recognized.' })
    return k
  },
  UpdateKey(s, _o, inp) {
    need(s, inp.org, 'developer')
    const k = findKey(s, inp.id)
    if (k.status === 'revoked') throw new ApiError({ code: 'CONFLICT', status: 409, detail: 'This key is revoked.' })
    if (inp.name != null) k.name = keyName(inp.name)
    if (inp.expires != null) k.expiresAt = expiry(inp.expires)
    edit(k, inp)
    if (k.status === 'expired' && k.expiresAt && Date.parse(k.expiresAt) > Date.now()) k.status = k.disabledAt ? 'disabled' : 'active'
    return k
  },
  DisableKey(s, _o, inp) {
    need(s, inp.org, 'developer')
    const k = findKey(s, inp.id)
    if (k.status === 'revoked') throw new ApiError({ code: 'CONFLICT', status: 409, detail: 'This key is revoked.' })
    if (!k.disabledAt) { k.disabledAt = now(); k.disabledBy = 'ada@example.com' }
    if (k.status === 'active') k.status = 'disabled'
    return k
  },
  EnableKey(s, _o, inp) {
    need(s, inp.org, 'developer')
    const k = findKey(s, inp.id)
    if (k.status === 'revoked') throw new ApiError({ code: 'CONFLICT', status: 409, detail: 'This key is revoked.' })
    k.disabledAt = null; k.disabledBy = ''
    if (k.status === 'disabled') k.status = 'active'
    return k
  },
  RevokeKey(s, _o, inp) { need(s, inp.org, 'developer'); const k = findKey(s, inp.id); k.status = 'revoked'; k.revokedAt = now(); return k },
  RollKey(s, _o, inp) {
    need(s, inp.org, 'developer')
    const k = findKey(s, inp.id)
    if (k.status === 'revoked' || k.status === 'expired') throw new ApiError({ code: 'CONFLICT', status: 409, detail: k.status === 'expired' ? 'An expired key cannot be rolled.' : 'This key is revoked.' })
    const raw = secret(k.prefix)
    k.start = raw.slice(0, k.prefix.length + 5)
    return { id: k.id, key: raw, name: k.name, start: k.start, prefix: k.prefix, orgId: k.orgId, createdAt: now(), expiresAt: k.expiresAt }
  },
  ImportKeys(s, _o, inp) {
    const x = need(s, inp.org, 'admin')
    const refuse = (row: number, field: string, detail: string) => {
      throw new ApiError({ code: 'VALIDATION', status: 400, detail: `Nothing was imported: in the row at index ${row} of the file, the field ${field} is not valid.`, fields: [{ field: `rows[${row}].${field}`, code: 'invalid', detail }] })
    }
    let data: unknown
    try { data = JSON.parse(inp.file) } catch { throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'file', code: 'json', detail: 'The file is not valid JSON.' }] }) }
    const format = Array.isArray(data) ? 'better-auth' : 'keygate'
    const rows = (Array.isArray(data) ? data : (data as { keys?: unknown[] })?.keys ?? []) as Record<string, unknown>[]
    if (!rows.length) throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'file', code: 'empty', detail: 'The file holds no keys.' }] })
    const made: Key[] = rows.map((r, i) => {
      const hash = format === 'better-auth' ? r.key : (r.secrets as { hash?: string }[] | undefined)?.[0]?.hash
      if (typeof hash !== 'string' || (!inp.plainKeys && !/^[A-Za-z0-9_-]{43}$/.test(hash))) refuse(i, format === 'better-auth' ? 'key' : 'secrets', 'Must be a Better Auth key hash: 43 base64url characters.')
      const start = String(r.start ?? r.prefix ?? '')
      return { id: id('key'), orgId: x.id, name: String(r.name ?? (start || 'Better Auth')), prefix: String(r.prefix ?? ''), start, status: r.enabled === false ? 'disabled' : 'active', createdAt: now(), createdBy: 'ada@example.com', expiresAt: null, revokedAt: null, lastUsedAt: null, usageCount: 0, ...v2({ disabledAt: r.enabled === false ? now() : null }) }
    })
    if (!inp.dryRun) s.keys.unshift(...made)
    return { format, count: made.length, foreign: format === 'better-auth' ? made.length : 0, dryRun: !!inp.dryRun }
  },
  ExportKeys(s, _o, inp) {
    const x = need(s, inp.org, 'admin')
    return {
      format: 'keygate-keys', version: 1, exportedAt: now(),
      keys: s.keys.filter((k) => k.orgId === x.id).map((k) => ({
        id: k.id, name: k.name, prefix: k.prefix, start: k.start, createdAt: k.createdAt, expiresAt: k.expiresAt, revokedAt: k.revokedAt,
        revokeReason: k.revokeReason ?? '', disabledAt: k.disabledAt, lastUsedAt: k.lastUsedAt, usageCount: k.usageCount, rateLimit: k.rateLimit,
        rateWindowMs: k.rateWindowSeconds * 1000, scopes: k.scopes, metadata: k.metadata, allowIps: k.allowIps, quotaRemaining: k.quotaRemaining,
        refillAmount: k.refillAmount, refillIntervalMs: k.refillIntervalSeconds * 1000, lastRefillAt: k.lastRefillAt, foreign: false,
        secrets: [{ hash: 'A'.repeat(43), createdAt: k.createdAt, retiresAt: null }],
      })),
    }
  },
  ListRoutes: (s) => ({ routes: s.routes }),
  AddRoute(s, _o, inp) {
    need(s, undefined, 'admin')
    if (!/^https?:\/\/.+/.test(inp.upstream)) throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'upstream', code: 'invalid', detail: 'Enter an http:// or https:// URL.' }] })
    if (s.routes.some((x) => x.prefix === inp.prefix)) throw new ApiError({ code: 'CONFLICT', status: 409, fields: [{ field: 'prefix', code: 'duplicate', detail: 'A route with this prefix already exists.' }] })
    const x = route({ ...inp, id: id('rt') }); s.routes.push(x); return x
  },
  UpdateRoute(s, _o, inp) {
    need(s, undefined, 'admin')
    const k = s.routes.findIndex((x) => x.id === inp.id)
    if (k < 0) throw new ApiError({ code: 'NOT_FOUND', status: 404 })
    s.routes[k] = route({ ...s.routes[k], ...inp }); return s.routes[k]
  },
  RemoveRoute(s, _o, inp) { need(s, undefined, 'admin'); s.routes = s.routes.filter((x) => x.id !== inp.id) },
  ListIdentityKeys: () => ({ keys: [{ id: 'idk_mock', createdAt: now(), state: 'current', signsFrom: now(), signsUntil: null, retiresAt: null, active: true }], maxAge: 300 }),
  RotateIdentityKey(s, _o, inp) {
    need(s, undefined, 'admin')
    // The new key signs once the key set's max-age (300 s) has passed, or at once with now.
    const from = inp.now ? now() : new Date(Date.now() + 300_000).toISOString()
    const retires = new Date(Date.parse(from) + 86400000).toISOString()
    return {
      keys: [
        { id: id('idk'), createdAt: now(), state: inp.now ? 'current' : 'next', signsFrom: from, signsUntil: null, retiresAt: null, active: !!inp.now },
        { id: 'idk_mock', createdAt: now(), state: inp.now ? 'retiring' : 'current', signsFrom: now(), signsUntil: from, retiresAt: retires, active: !inp.now },
      ],
      maxAge: 300,
    }
  },
  ListScopes(s, _o, inp) {
    const by = new Map<string, string[]>()
    for (const r of s.routes) {
      if (r.orgId && r.orgId !== inp.org) continue
      const all = [...r.scopes, ...(r.documentScopes?.default ?? []), ...(r.documentScopes?.operations ?? []).flatMap((o) => o.scopes)]
      for (const sc of all) if (!(by.get(sc) ?? []).includes(r.prefix)) by.set(sc, [...(by.get(sc) ?? []), r.prefix])
    }
    return { scopes: [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([scope, routes]) => ({ scope, routes: routes.sort() })) }
  },
  GetLearnedDocument(s, _o, inp) {
    const r = s.routes.find((x) => x.id === inp.id)
    if (!r) throw new ApiError({ code: 'NOT_FOUND', status: 404 })
    return { routeId: r.id, prefix: r.prefix, learn: r.learn, document: '', operations: 0, exchanges: 0, unanswered: [],
      currentSource: r.openapiSource, currentError: '', newOperations: [], newFields: [] }
  },
  AdoptLearnedDocument() { throw new ApiError({ code: 'CONFLICT', status: 409 }) },
  GetGatewaySettings: (s) => s.settings,
  UpdateGatewaySettings(s, _o, inp) {
    need(s, undefined, 'admin')
    s.settings = { allowedOrigins: inp.allowedOrigins ?? [], upstreamTimeoutSeconds: inp.upstreamTimeoutSeconds, logRetentionDays: inp.logRetentionDays || s.settings.logRetentionDays, logRetentionRows: inp.logRetentionRows || s.settings.logRetentionRows, usageRetentionDays: inp.usageRetentionDays || s.settings.usageRetentionDays }
    return s.settings
  },
  GetPorts: (s, o) => ports(s, o),
  UpdatePorts(s, o, inp) {
    need(s, undefined, 'admin')
    const g = inp.gatewayPort || s.ports.gateway
    const c = inp.consolePort || s.ports.console
    for (const [field, p] of [['gatewayPort', inp.gatewayPort], ['consolePort', inp.consolePort]] as const) {
      if (p && (p < 1 || p > 65535)) throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field, code: 'range', detail: 'Enter a port from 1 to 65535.' }] })
    }
    if (g === c) throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'gatewayPort', code: 'conflict', detail: `The gateway and the console cannot both listen on port ${g}.` }] })
    s.ports = { gateway: g, console: c }
    s.status.listen = `127.0.0.1:${g}`
    if (s.status.running) s.status.url = `http://${s.status.listen}`
    return ports(s, o)
  },
  GetGatewayStatus: (s) => s.status,
  StartGateway(s) { s.status.running = true; s.status.startedAt = now(); return s.status },
  StopGateway(s) { s.status.running = false; s.status.startedAt = null; return s.status },
  ListNodes: (s) => ({ nodes: s.nodes }),
  ListRequests(s, _o, inp) {
    const x = org(s, inp.org)
    return { requests: s.requests.filter((r) => (!r.orgId || r.orgId === x.id) && (!inp.status || String(r.status).startsWith(String(inp.status).replace('xx', ''))) && (!inp.route || r.route === inp.route) &&
      (!inp.from || r.time >= inp.from) && (!inp.to || r.time < inp.to)) }
  },
  GetUsage(s, _o, inp) {
    const x = org(s, inp.org)
    return usageSeries(s.requests.filter((r) => (!r.orgId || r.orgId === x.id) && (!inp.keyId || r.keyId === inp.keyId) && (!inp.route || r.route === inp.route)), inp)
  },
  GetUsageTop(s, _o, inp) {
    const x = org(s, inp.org)
    const groups = new Map<string, RequestEntry[]>()
    for (const r of s.requests.filter((r) => !r.orgId || r.orgId === x.id)) {
      const k = inp.by === 'key' ? r.keyId ?? '' : r.route ?? ''
      groups.set(k, [...(groups.get(k) ?? []), r])
    }
    const items = [...groups.entries()].map(([k, rs]) => {
      const b = usageSeries(rs, {}).summary
      return { keyId: inp.by === 'key' ? k : '', keyName: inp.by === 'key' ? rs[0]?.keyName ?? '' : '', route: inp.by === 'route' ? k : '', ...b }
    }).sort((a, b) => (b.total ?? 0) - (a.total ?? 0))
    return { items: items.slice(0, inp.limit || 10) }
  },
  ListMembers(s, _o, inp) { const x = org(s, inp.org); return { members: s.members.filter((m) => m.orgId === x.id) } },
  AddMember(s, _o, inp) {
    const x = need(s, inp.org, 'admin')
    const m = { orgId: x.id, userId: id('usr'), email: inp.email, name: inp.name ?? '', role: inp.role, createdAt: now() }
    s.members.push(m); return m
  },
  // The mock's one user is never invited anywhere (GetMe lists no invitations).
  AcceptInvitation() { throw new ApiError({ code: 'NOT_FOUND', status: 404 }) },
  DeclineInvitation() { throw new ApiError({ code: 'NOT_FOUND', status: 404 }) },
  ChangeMemberRole(s, _o, inp) {
    const x = need(s, inp.org, 'admin')
    const m = s.members.find((m) => m.orgId === x.id && m.userId === inp.userId)
    if (!m) throw new ApiError({ code: 'NOT_FOUND', status: 404 })
    m.role = inp.role; return m
  },
  RemoveMember(s, _o, inp) { const x = need(s, inp.org, 'admin'); s.members = s.members.filter((m) => !(m.orgId === x.id && m.userId === inp.userId)) },
  ListWebhooks(s, _o, inp) { const x = org(s, inp.org); return { endpoints: s.webhooks.filter((w) => w.orgId === x.id) } },
  AddWebhook(s, _o, inp) {
    const x = need(s, inp.org, 'admin')
    if (!/^https?:\/\/[^/\s]+/.test(inp.url.trim())) throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'url', code: 'invalid', detail: 'Enter an absolute http:// or https:// URL with a host name.' }] })
    const w = { id: id('wh'), orgId: x.id, url: inp.url.trim(), events: inp.events ?? [], createdAt: now(), createdBy: 'ada@example.com' }
    s.webhooks.push(w)
    return { ...w, secret: `whsec_${btoa(secret('x')).slice(0, 43)}=` }
  },
  RemoveWebhook(s, _o, inp) {
    need(s, inp.org, 'admin')
    s.webhooks = s.webhooks.filter((w) => w.id !== inp.id)
    s.deliveries = s.deliveries.filter((d) => d.endpointId !== inp.id)
  },
  ListWebhookDeliveries(s, _o, inp) {
    const x = org(s, inp.org)
    return { deliveries: s.deliveries.filter((d) => d.orgId === x.id && (!inp.endpointId || d.endpointId === inp.endpointId) && (!inp.status || inp.status === 'all' || d.status === inp.status)) }
  },
  RetryWebhookDelivery(s, _o, inp) {
    need(s, inp.org, 'admin')
    const d = s.deliveries.find((d) => d.id === inp.id)
    if (!d) throw new ApiError({ code: 'NOT_FOUND', status: 404 })
    Object.assign(d, { status: 'pending', attempts: 0, nextAttemptAt: now(), deliveredAt: null })
    return d
  },
  CreatePasswordReset(s, _o, inp) {
    const x = need(s, inp.org, 'admin')
    const m = s.members.find((m) => m.orgId === x.id && m.userId === inp.userId)
    if (!m) throw new ApiError({ code: 'NOT_FOUND', status: 404 })
    const token = secret('rst').slice(4)
    return { userId: m.userId, email: m.email, token, path: `/reset-password#token=${token}`, expiresAt: new Date(Date.now() + 15 * 60_000).toISOString() }
  },
  ChangePassword(_s, _o, inp) {
    if (inp.currentPassword !== 'correct horse') throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'currentPassword', code: 'wrong', detail: 'The current password is wrong.' }] })
  },
  ResetPassword(_s, _o, inp) {
    if (!inp.token) throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'token', code: 'invalid', detail: 'This reset link is invalid, used or expired.' }] })
    return { email: 'ada@example.com' }
  },
  ListAudit(s, _o, inp) {
    // Newest first by id, a page of limit (default 100) before the cursor, as the audit log pages.
    const x = org(s, inp.org)
    const limit = inp.limit || 100
    const all = s.audit.filter((a) => a.orgId === x.id && (!inp.before || a.id < inp.before) && (!inp.action || a.action === inp.action)).sort((a, b) => b.id - a.id)
    const entries = all.slice(0, limit)
    return { entries, nextBefore: entries.length === limit ? entries[entries.length - 1].id : 0 }
  },
  DownloadBackup(s) {
    need(s, undefined, 'admin')
    return {}
  },
  GetPreferences: (s) => ({ ...s.prefs, languages: languages.map((l) => ({ tag: l.tag, name: l.name, englishName: l.name, dir: l.dir === 'rtl' ? 'rtl' as const : 'ltr' as const })) }),
  UpdatePreferences(s, _o, inp) {
    Object.assign(s.prefs, inp)
    return handlers.GetPreferences(s, _o, {}) as Out<'UpdatePreferences'>
  },
}

type KeyV2 = Pick<Key, 'scopes' | 'metadata' | 'allowIps' | 'disabledAt' | 'disabledBy' | 'rateWindowSeconds' | 'quotaRemaining' | 'refillAmount' | 'refillIntervalSeconds' | 'lastRefillAt' | 'rateLimit'>

/** v2 gives a mock key the keys v2 fields: no scopes, metadata, allowlist or quota unless given. */
function v2(o: Partial<KeyV2> = {}): KeyV2 {
  return { scopes: [], metadata: {}, allowIps: [], disabledAt: null, disabledBy: '', rateLimit: 0, rateWindowSeconds: 60, quotaRemaining: null, refillAmount: 0, refillIntervalSeconds: 0, lastRefillAt: null, ...o }
}

const scopeRE = /^(\*|[A-Za-z0-9._/-]+(:(\*|[A-Za-z0-9._/-]+))?)$/

/** edit applies the keys v2 fields of a create or update input, refusing what the server refuses. */
function edit(k: Key, inp: In<'UpdateKey'> | In<'CreateKey'>) {
  const bad = (field: string, detail: string) => new ApiError({ code: 'VALIDATION', status: 400, detail: 'Some fields are not valid.', fields: [{ field, code: 'invalid', detail }] })
  if (inp.scopes) {
    const b = inp.scopes.find((x) => !scopeRE.test(x))
    if (b !== undefined) throw bad('scopes', `Scope “${b}” is not valid.`)
    k.scopes = [...new Set(inp.scopes)].sort()
  }
  if (inp.metadata) {
    if (Object.keys(inp.metadata).length > 16) throw bad('metadata', 'At most 16 pairs.')
    k.metadata = { ...inp.metadata }
  }
  if (inp.allowIps) {
    const b = inp.allowIps.find((x) => !/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(x) || !/[.:]/.test(x))
    if (b !== undefined) throw bad('allowIps', `“${b}” is not an IP address or CIDR prefix.`)
    k.allowIps = inp.allowIps.map((x) => (x.includes('/') ? x : x.includes(':') ? `${x}/128` : `${x}/32`))
  }
  if (inp.rateLimit != null) { k.rateLimit = inp.rateLimit; k.rateWindowSeconds = inp.rateWindowSeconds || 60 }
  if ('removeQuota' in inp && inp.removeQuota) { k.quotaRemaining = null; k.refillAmount = 0; k.refillIntervalSeconds = 0 }
  if (inp.quota !== undefined && inp.quota !== null) k.quotaRemaining = inp.quota
  if (inp.refillAmount != null) {
    if (inp.refillAmount && k.quotaRemaining === null) throw bad('refill', 'A refill needs a quota.')
    k.refillAmount = inp.refillAmount; k.refillIntervalSeconds = inp.refillIntervalSeconds ?? 0
  }
}

function findKey(s: State, keyId: string): Key {
  const k = s.keys.find((k) => k.id === keyId)
  if (!k) throw new ApiError({ code: 'NOT_FOUND', status: 404 })
  return k
}

function route(r: { id: string } & In<'AddRoute'>): Route {
  return {
    id: r.id, prefix: r.prefix, upstream: r.upstream, stripPrefix: r.stripPrefix ?? false, orgId: r.orgId ?? '',
    openapiSource: r.openapiSource ?? '', authRequired: r.authRequired ?? true, queryKeyParam: r.queryKeyParam ?? '',
    maxBodyBytes: r.maxBodyBytes ?? 0, validateRequests: r.validateRequests ?? false, consoleSession: r.consoleSession ?? false, learn: r.learn ?? false,
    scopes: r.scopes ?? [], identityJwt: r.identityJwt ?? false, createdAt: now(), updatedAt: now(),
  }
}
