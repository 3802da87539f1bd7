// The mock transport: an in-memory console for `npm run dev` without a backend (?mock in the
// URL) and for component tests. It follows docs/api.md closely enough to exercise every screen.
import { ApiError } from './error'
import type { Transport } from './client'
import type { OpName } from './operations'
import type { AuditEntry, Key, Member, Org, RequestEntry, Role, Route } from './types'
import { parseCatalogToml } from '../i18n/toml'
import { languages } from '../i18n/languages'

const catalogs = import.meta.glob('../../../locales/active.*.toml', { query: '?raw', import: 'default' })

export interface MockOptions {
  role?: Role
  signedIn?: boolean
  setupNeeded?: boolean
  orgs?: number
  keys?: number
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
      return handle(state, o, name, input as Record<string, never>)
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
      lastUsedAt: i < 3 ? ago(i * 3600_000 + 120_000) : null, usageCount: 1000 - i * 100, rateLimit: 0,
    })
  }
  if (orgs[1]) {
    keys.push({ id: id('key'), orgId: orgs[1].id, name: 'Globex only key', prefix: 'kg', start: 'kg_Zz9y', status: 'active', createdAt: ago(DAY), createdBy: 'ada@example.com', expiresAt: null, revokedAt: null, lastUsedAt: null, usageCount: 0, rateLimit: 0 })
  }
  const routes: Route[] = [
    { id: 'rt_demo', prefix: '/demo', upstream: 'http://127.0.0.1:9801', stripPrefix: true, orgId: '', openapiSource: 'http://127.0.0.1:9801/openapi.json', authRequired: true, queryKeyParam: '', maxBodyBytes: 1048576, validateRequests: false },
  ]
  const members: (Member & { orgId: string })[] = orgs.flatMap((org) => [
    { orgId: org.id, userId: 'usr_ada', email: 'ada@example.com', name: 'Ada Lovelace', role: 'admin' as Role, createdAt: ago(30 * DAY) },
    { orgId: org.id, userId: 'usr_grace', email: 'grace@example.com', name: 'Grace Hopper', role: 'developer' as Role, createdAt: ago(10 * DAY) },
  ])
  const audit: AuditEntry[] = [
    { id: 1, at: ago(3600_000), actor: 'usr_ada', actorEmail: 'ada@example.com', orgId: orgs[0]?.id ?? '', action: 'key.create', target: keys[0]?.id ?? '', detail: '', clientAddr: '127.0.0.1' },
    { id: 2, at: ago(7200_000), actor: 'usr_ada', actorEmail: 'ada@example.com', orgId: orgs[0]?.id ?? '', action: 'login', target: '', detail: '', clientAddr: '127.0.0.1' },
  ]
  const requests: RequestEntry[] = [200, 200, 401, 404, 200, 429, 502].map((status, i) => ({
    id: i + 1, time: ago(i * 45_000 + 5000), requestId: `req_${i}abc`, method: i % 3 ? 'GET' : 'POST', path: `/demo/pets${i % 2 ? '/' + i : ''}`,
    status, latencyUs: 800 + i * 1337, keyId: status === 401 ? '' : keys[0]?.id ?? '', keyName: status === 401 ? '' : keys[0]?.name ?? '',
    userId: '', orgId: orgs[0]?.id ?? '', route: '/demo', errorCode: status === 401 ? 'MISSING_CREDENTIAL' : status === 429 ? 'RATE_LIMITED' : status === 502 ? 'UPSTREAM_UNAVAILABLE' : '',
    clientAddr: '127.0.0.1', headers: { 'User-Agent': ['curl/8.5.0'], Accept: ['*/*'], 'X-Api-Key': ['[masked]'] },
  }))
  return {
    orgs, keys, routes, members, audit, requests,
    settings: { allowedOrigins: ['http://localhost:5173'], upstreamTimeoutSeconds: 30 },
    status: { running: true, url: 'http://127.0.0.1:8787', listen: '127.0.0.1:8787', startedAt: ago(3600_000) as string | null, canControl: !!o.desktop },
    prefs: { language: '', theme: 'system' as const },
    signedIn: o.signedIn ?? true,
    setupNeeded: o.setupNeeded ?? false,
  }
}

type State = ReturnType<typeof seed>

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

async function handle(s: State, o: MockOptions, name: OpName, i: Record<string, never>): Promise<unknown> {
  const inp = i as Record<string, unknown>
  const pub = ['GetCatalog', 'GetSetup', 'CompleteSetup', 'Login']
  if (!s.signedIn && !pub.includes(name)) throw new ApiError({ code: 'UNAUTHENTICATED', status: 401, detail: 'Sign in to continue.' })
  const user = { id: 'usr_ada', email: 'ada@example.com', name: 'Ada Lovelace', ...s.prefs }
  switch (name) {
    case 'GetCatalog': {
      const wanted = String(inp.lang)
      const lang = languages.find((l) => l.tag.toLowerCase() === wanted.toLowerCase())?.tag ?? 'en'
      const en = parseCatalogToml(String(await catalogs['../../../locales/active.en.toml']?.() ?? ''))
      const own = lang === 'en' ? {} : parseCatalogToml(String(await catalogs[`../../../locales/active.${lang}.toml`]?.() ?? ''))
      return { lang, dir: languages.find((l) => l.tag === lang)?.dir ?? 'ltr', messages: { ...en, ...own } }
    }
    case 'GetSetup': return { needed: s.setupNeeded }
    case 'CompleteSetup':
      if (!inp.token) throw new ApiError({ code: 'FORBIDDEN', status: 403, detail: 'The setup link is invalid or has expired.' })
      s.setupNeeded = false; s.signedIn = true
      return { user, csrfToken: 'csrf' }
    case 'Login':
      if (inp.password !== 'correct horse') throw new ApiError({ code: 'UNAUTHENTICATED', status: 401, detail: 'Wrong email or password.' })
      s.signedIn = true
      return { user, csrfToken: 'csrf' }
    case 'Logout': s.signedIn = false; return {}
    case 'GetMe': return { user, csrfToken: 'csrf', mode: o.desktop ? 'desktop' : 'serve', orgs: s.orgs, language: s.prefs.language || 'en' }
    case 'ListOrgs': return { orgs: s.orgs }
    case 'CreateOrg': {
      const n = String(inp.name ?? '').trim()
      if (!n) throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'name', code: 'required', detail: 'This field is required.' }] })
      const x = { id: id('org'), name: n, keyPrefix: 'kg', createdAt: now(), role: 'admin' as Role }
      s.orgs.push(x); return x
    }
    case 'GetOrg': return org(s, inp.org as string)
    case 'RenameOrg': { const x = need(s, inp.org as string, 'admin'); x.name = String(inp.name).trim(); return x }
    case 'ListKeys': {
      const x = org(s, inp.org as string)
      const st = (inp.status as string) || 'all'
      return { keys: s.keys.filter((k) => k.orgId === x.id && (st === 'all' || k.status === st)) }
    }
    case 'CreateKey': {
      const x = need(s, inp.org as string, 'developer')
      const nm = keyName(inp.name)
      const raw = secret(x.keyPrefix)
      const k: Key = { id: id('key'), orgId: x.id, name: nm, prefix: x.keyPrefix, start: raw.slice(0, x.keyPrefix.length + 5), status: 'active', createdAt: now(), createdBy: user.email, expiresAt: expiry(String(inp.expires ?? '')), revokedAt: null, lastUsedAt: null, usageCount: 0, rateLimit: 0 }
      s.keys.unshift(k)
      return { id: k.id, key: raw, name: k.name, start: k.start, prefix: k.prefix, orgId: x.id, createdAt: k.createdAt, expiresAt: k.expiresAt }
    }
    case 'GetKey': { const k = s.keys.find((k) => k.id === inp.id); if (!k) throw new ApiError({ code: 'NOT_FOUND', status: 404 }); return k }
    case 'RenameKey': { need(s, inp.org as string, 'developer'); const k = s.keys.find((k) => k.id === inp.id)!; k.name = keyName(inp.name); return k }
    case 'RevokeKey': { need(s, inp.org as string, 'developer'); const k = s.keys.find((k) => k.id === inp.id)!; k.status = 'revoked'; k.revokedAt = now(); return k }
    case 'RollKey': {
      need(s, inp.org as string, 'developer')
      const k = s.keys.find((k) => k.id === inp.id)!
      const raw = secret(k.prefix)
      k.start = raw.slice(0, k.prefix.length + 5)
      return { id: k.id, key: raw, name: k.name, start: k.start, prefix: k.prefix, orgId: k.orgId, createdAt: now(), expiresAt: k.expiresAt }
    }
    case 'ListRoutes': return { routes: s.routes }
    case 'AddRoute': {
      need(s, undefined, 'admin')
      const r = inp as unknown as Route
      if (!/^https?:\/\/.+/.test(r.upstream)) throw new ApiError({ code: 'VALIDATION', status: 400, fields: [{ field: 'upstream', code: 'invalid', detail: 'Enter an http:// or https:// URL.' }] })
      if (s.routes.some((x) => x.prefix === r.prefix)) throw new ApiError({ code: 'CONFLICT', status: 409, fields: [{ field: 'prefix', code: 'duplicate', detail: 'A route with this prefix already exists.' }] })
      const x = { ...r, id: id('rt') }; s.routes.push(x); return x
    }
    case 'UpdateRoute': { need(s, undefined, 'admin'); const r = inp as unknown as Route; const k = s.routes.findIndex((x) => x.id === r.id); s.routes[k] = r; return r }
    case 'RemoveRoute': { need(s, undefined, 'admin'); s.routes = s.routes.filter((x) => x.id !== inp.id); return {} }
    case 'GetGatewaySettings': return s.settings
    case 'UpdateGatewaySettings': need(s, undefined, 'admin'); Object.assign(s.settings, inp); return s.settings
    case 'GetGatewayStatus': return s.status
    case 'StartGateway': s.status.running = true; s.status.startedAt = now(); return s.status
    case 'StopGateway': s.status.running = false; s.status.startedAt = null; return s.status
    case 'ListRequests': {
      const x = org(s, inp.org as string)
      return { requests: s.requests.filter((r) => (!r.orgId || r.orgId === x.id) && (!inp.status || String(r.status).startsWith(String(inp.status).replace('xx', ''))) && (!inp.route || r.route === inp.route)) }
    }
    case 'ListMembers': { const x = org(s, inp.org as string); return { members: s.members.filter((m) => m.orgId === x.id) } }
    case 'AddMember': {
      const x = need(s, inp.org as string, 'admin')
      const m = { orgId: x.id, userId: id('usr'), email: String(inp.email), name: String(inp.name), role: inp.role as Role, createdAt: now() }
      s.members.push(m); return m
    }
    case 'ChangeMemberRole': { const x = need(s, inp.org as string, 'admin'); const m = s.members.find((m) => m.orgId === x.id && m.userId === inp.userId)!; m.role = inp.role as Role; return m }
    case 'RemoveMember': { const x = need(s, inp.org as string, 'admin'); s.members = s.members.filter((m) => !(m.orgId === x.id && m.userId === inp.userId)); return {} }
    case 'ListAudit': { const x = org(s, inp.org as string); return { entries: s.audit.filter((a) => a.orgId === x.id) } }
    case 'GetPreferences': return s.prefs
    case 'UpdatePreferences': Object.assign(s.prefs, inp); return s.prefs
  }
  void o
  throw new ApiError({ code: 'NOT_FOUND', status: 404, detail: name })
}
