import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { createApi, detectTransport, expandPath, filenameOf, httpDownload, httpTransport, wailsTransport } from './client'
import { ApiError } from './error'
import { routes } from './operations'

/** fail resolves to the ApiError a call rejects with, and fails the test if it succeeds. */
async function fail(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p
  } catch (e) {
    return e as ApiError
  }
  throw new Error('the call succeeded')
}

function fakeFetch(responses: Array<{ status?: number; body?: unknown; type?: string }>) {
  const calls: Array<{ url: string; init: RequestInit }> = []
  const f = vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ url, init })
    const r = responses.shift() ?? { status: 200, body: {} }
    const text = r.body === undefined ? null : typeof r.body === 'string' ? r.body : JSON.stringify(r.body)
    return new Response(text, { status: r.status ?? 200, headers: { 'Content-Type': r.type ?? 'application/json' } })
  })
  return { f: f as unknown as typeof fetch, calls }
}

describe('operation table', () => {
  it('has a route for every operation of docs/api.md', () => {
    // Every operation of the generated table in docs/api.md that has an HTTP route, and no other.
    const table = readFileSync(resolve(__dirname, '../../../docs/api.md'), 'utf8').split('<!-- BEGIN GENERATED operations')[1].split('<!-- END GENERATED')[0]
    const documented = [...table.matchAll(/^\| (\w+) \| (GET|POST|PUT|PATCH|DELETE) (\S+) \|/gm)].map((m) => ({ name: m[1], method: m[2], path: m[3] }))
    expect(documented.length).toBeGreaterThan(40)
    expect(Object.keys(routes).sort()).toEqual(documented.map((d) => d.name).sort())
    for (const d of documented) expect(routes[d.name as keyof typeof routes]).toEqual({ method: d.method, path: d.path })
    expect(routes.ListWebhookDeliveries).toEqual({ method: 'GET', path: '/api/v1/webhook-deliveries' })
    expect(routes.ListNodes).toEqual({ method: 'GET', path: '/api/v1/nodes' })
    expect(routes.GetUsage).toEqual({ method: 'GET', path: '/api/v1/usage' })
    expect(routes.AcceptInvitation).toEqual({ method: 'POST', path: '/api/v1/invitations/{id}/accept' })
    expect(routes.GetLearnedDocument).toEqual({ method: 'GET', path: '/api/v1/routes/{id}/learned' })
    expect(routes.RevokeKey).toEqual({ method: 'POST', path: '/api/v1/keys/{id}/revoke' })
    expect(routes.UpdateKey).toEqual({ method: 'PATCH', path: '/api/v1/keys/{id}' })
    expect(routes.DisableKey).toEqual({ method: 'POST', path: '/api/v1/keys/{id}/disable' })
  })
  it('fills path parameters and keeps the rest', () => {
    expect(expandPath('/api/v1/keys/{id}/roll', { id: 'key_1', org: 'org_1', graceSeconds: 0 })).toEqual({
      path: '/api/v1/keys/key_1/roll',
      rest: { org: 'org_1', graceSeconds: 0 },
    })
    expect(expandPath('/api/v1/i18n/{lang}', { lang: 'pt-BR' }).path).toBe('/api/v1/i18n/pt-BR')
    expect(() => expandPath('/api/v1/keys/{id}', { id: '' })).toThrow(ApiError)
  })
})

describe('HTTP transport', () => {
  it('sends GET inputs as a query string with the session cookie', async () => {
    const { f, calls } = fakeFetch([{ body: { keys: [], nextCursor: '' } }])
    const api = createApi(httpTransport({ fetch: f, language: () => 'de' }))
    await api.call('ListKeys', { org: 'org_1', status: 'active', limit: 50, cursor: undefined })
    expect(calls[0].url).toBe('/api/v1/keys?org=org_1&status=active&limit=50')
    expect(calls[0].init.method).toBe('GET')
    expect(calls[0].init.credentials).toBe('same-origin')
    expect(calls[0].init.body).toBeUndefined()
    expect((calls[0].init.headers as Record<string, string>)['Accept-Language']).toBe('de')
  })

  it('sends the CSRF token from login on state-changing requests only', async () => {
    const { f, calls } = fakeFetch([
      { body: { user: { id: 'u1' }, csrfToken: 'tok123' } },
      { body: { id: 'key_1', key: 'kg_x' } },
      { body: { keys: [] } },
    ])
    const api = createApi(httpTransport({ fetch: f }))
    await api.call('Login', { email: 'a@b.c', password: 'pw' })
    expect((calls[0].init.headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined()
    await api.call('CreateKey', { org: 'org_1', name: 'CI', expires: '30d' })
    const h = calls[1].init.headers as Record<string, string>
    expect(h['X-CSRF-Token']).toBe('tok123')
    expect(h['Content-Type']).toBe('application/json')
    expect(JSON.parse(String(calls[1].init.body))).toEqual({ org: 'org_1', name: 'CI', expires: '30d' })
    await api.call('ListKeys', { org: 'org_1' })
    expect((calls[2].init.headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined()
  })

  it('puts DELETE inputs in the query string and the id in the path', async () => {
    const { f, calls } = fakeFetch([{ body: { user: {}, csrfToken: 't' } }, { status: 204 }])
    const api = createApi(httpTransport({ fetch: f }))
    await api.call('GetMe', {})
    await api.call('RemoveMember', { org: 'org_1', userId: 'usr_2' })
    expect(calls[1].url).toBe('/api/v1/members/usr_2?org=org_1')
    expect(calls[1].init.method).toBe('DELETE')
    expect((calls[1].init.headers as Record<string, string>)['X-CSRF-Token']).toBe('t')
  })

  it('throws an ApiError with the code, localized detail and field errors of a problem', async () => {
    const problem = { type: 'about:blank', title: 'Ungültige Anfrage', status: 400, code: 'VALIDATION', detail: 'Einige Felder sind ungültig.', fields: [{ field: 'name', code: 'required', detail: 'Geben Sie einen Namen ein.' }] }
    const { f } = fakeFetch([{ status: 400, body: problem, type: 'application/problem+json' }])
    const api = createApi(httpTransport({ fetch: f }))
    const err = await fail(api.call('CreateKey', { name: ' ', expires: 'never' }))
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('VALIDATION')
    expect(err.status).toBe(400)
    expect(err.detail).toBe('Einige Felder sind ungültig.')
    expect(err.fieldError('name')).toBe('Geben Sie einen Namen ein.')
  })

  it('turns a network failure and a non-JSON error into ApiErrors', async () => {
    const failing = vi.fn(async () => { throw new TypeError('Failed to fetch') }) as unknown as typeof fetch
    const e1 = await fail(createApi(httpTransport({ fetch: failing })).call('GetMe', {}))
    expect(e1).toBeInstanceOf(ApiError)
    expect(e1.code).toBe('NETWORK')
    const { f } = fakeFetch([{ status: 502, body: 'Bad Gateway', type: 'text/plain' }])
    const e2 = await fail(createApi(httpTransport({ fetch: f })).call('GetMe', {}))
    expect(e2.code).toBe('HTTP_502')
    expect(e2.detail).toBe('Bad Gateway')
  })
})

describe('Wails transport', () => {
  it('calls the bound App method by name with the input', async () => {
    const CreateKey = vi.fn(async (input: unknown) => ({ id: 'key_1', key: 'kg_secret', input }))
    const win = { go: { main: { App: { CreateKey } } } } as unknown as Window
    const api = createApi(detectTransport(win))
    expect(api.kind).toBe('desktop')
    const out = await api.call('CreateKey', { org: 'org_1', name: 'CI', expires: 'never' })
    expect(CreateKey).toHaveBeenCalledWith({ org: 'org_1', name: 'CI', expires: 'never' })
    expect(out.id).toBe('key_1')
  })

  it('parses the problem JSON a bound method rejects with', async () => {
    const RevokeKey = vi.fn(async () => { throw JSON.stringify({ code: 'FORBIDDEN', status: 403, detail: 'Keine Berechtigung.' }) })
    const api = createApi(wailsTransport({ go: { main: { App: { RevokeKey } } } } as unknown as Window))
    const err = await fail(api.call('RevokeKey', { id: 'key_1' }))
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('FORBIDDEN')
    expect(err.detail).toBe('Keine Berechtigung.')
  })

  it('keeps a plain error text as the detail', async () => {
    const GetMe = vi.fn(async () => { throw 'database is locked' })
    const err = await fail(createApi(wailsTransport({ go: { main: { App: { GetMe } } } } as unknown as Window)).call('GetMe', {}))
    expect(err.code).toBe('INTERNAL')
    expect(err.detail).toBe('database is locked')
  })

  it('reports a missing binding instead of hanging', async () => {
    const err = await fail(createApi(wailsTransport({ go: { main: { App: {} } } } as unknown as Window)).call('GetMe', {}))
    expect(err.code).toBe('NOT_AVAILABLE')
  })

  it('is used only when window.go.main.App exists', () => {
    expect(detectTransport({} as Window).kind).toBe('http')
    expect(detectTransport({ go: {} } as unknown as Window).kind).toBe('http')
  })
})

/** FakeXHR records what upload sends and answers as told, firing upload progress first. */
class FakeXHR {
  static last: FakeXHR
  method = ''
  url = ''
  headers: Record<string, string> = {}
  withCredentials = false
  status = 0
  statusText = ''
  responseText = ''
  body = ''
  upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = { onprogress: null }
  onload: (() => void) | null = null
  onerror: (() => void) | null = null
  constructor(private answer: { status: number; body: unknown }) { FakeXHR.last = this }
  open(method: string, url: string) { this.method = method; this.url = url }
  setRequestHeader(k: string, v: string) { this.headers[k] = v }
  send(body: string) {
    this.body = body
    const total = body.length
    for (const loaded of [Math.floor(total / 2), total]) this.upload.onprogress?.({ lengthComputable: true, loaded, total })
    this.status = this.answer.status
    this.responseText = JSON.stringify(this.answer.body)
    this.onload?.()
  }
}

describe('upload', () => {
  it('sends the body with XMLHttpRequest, reports the bytes sent and returns the answer', async () => {
    const t = httpTransport({ xhr: () => new FakeXHR({ status: 200, body: { format: 'better-auth', count: 3, foreign: 3, dryRun: true } }) as unknown as XMLHttpRequest, language: () => 'de' })
    t.csrf = 'tok'
    const api = createApi(t)
    const sent: Array<[number, number]> = []
    const out = await api.upload('ImportKeys', { org: 'org_1', file: '[]', dryRun: true }, (s, n) => sent.push([s, n]))
    expect(out.count).toBe(3)
    const x = FakeXHR.last
    expect([x.method, x.url]).toEqual(['POST', '/api/v1/import/keys'])
    expect(x.headers['X-CSRF-Token']).toBe('tok')
    expect(x.headers['Accept-Language']).toBe('de')
    expect(JSON.parse(x.body)).toEqual({ org: 'org_1', file: '[]', dryRun: true })
    expect(sent.length).toBe(2)
    expect(sent[1][0]).toBe(sent[1][1])
  })

  it('rejects with the problem the server answered', async () => {
    const problem = { code: 'VALIDATION', status: 400, detail: 'Nothing was imported: in the row at index 1 of the file, the field key is not valid.', fields: [{ field: 'rows[1].key', code: 'invalid', detail: 'Must be a Better Auth key hash.' }] }
    const api = createApi(httpTransport({ xhr: () => new FakeXHR({ status: 400, body: problem }) as unknown as XMLHttpRequest }))
    const e = await fail(api.upload('ImportKeys', { org: 'o', file: 'x' }, () => {}))
    expect(e.code).toBe('VALIDATION')
    expect(e.fields[0].field).toBe('rows[1].key')
  })

  it('is a plain call on a transport that cannot report bytes (the desktop)', async () => {
    const call = vi.fn(async () => ({ format: 'keygate', count: 1, foreign: 0, dryRun: false }))
    const api = createApi({ kind: 'desktop', call })
    const onSent = vi.fn()
    expect((await api.upload('ImportKeys', { org: 'o', file: '{}' }, onSent)).count).toBe(1)
    expect(call).toHaveBeenCalledWith('ImportKeys', { org: 'o', file: '{}' })
    expect(onSent).not.toHaveBeenCalled()
  })
})

describe('httpDownload', () => {
  it('reads the body as a stream, reports the bytes against Content-Length and names the file', async () => {
    const parts = [new Uint8Array(3000), new Uint8Array(1096)]
    const body = new ReadableStream<Uint8Array>({ start(c) { for (const p of parts) c.enqueue(p); c.close() } })
    const fake = (async () => new Response(body, { headers: { 'Content-Length': '4096', 'Content-Type': 'application/vnd.sqlite3', 'Content-Disposition': 'attachment; filename="keygate-backup-20260115-120000.db"' } })) as typeof fetch
    const seen: [number, number][] = []
    const d = await httpDownload(fake, '/api/v1/backup', 'de', (r, t) => seen.push([r, t]))
    expect(d.name).toBe('keygate-backup-20260115-120000.db')
    expect(d.size).toBe(4096)
    expect(d.blob?.size).toBe(4096)
    expect(seen).toEqual([[0, 4096], [3000, 4096], [4096, 4096]])
  })

  it('turns a problem answer into an ApiError with its localized detail', async () => {
    const fake = (async () => new Response(JSON.stringify({ code: 'CONFLICT', status: 409, detail: 'Nutzen Sie pg_dump.' }), { status: 409, headers: { 'Content-Type': 'application/problem+json' } })) as typeof fetch
    await expect(httpDownload(fake, '/api/v1/backup', 'de', () => {})).rejects.toMatchObject({ code: 'CONFLICT', detail: 'Nutzen Sie pg_dump.' })
  })

  it('refuses a body shorter than its Content-Length', async () => {
    const fake = (async () => new Response(new Uint8Array(10), { headers: { 'Content-Length': '20' } })) as typeof fetch
    await expect(httpDownload(fake, '/x', undefined, () => {})).rejects.toBeInstanceOf(ApiError)
  })

  it('keeps only a plain file name from Content-Disposition', () => {
    expect(filenameOf('attachment; filename="../../etc/passwd"', 'download')).toBe('download')
    expect(filenameOf(null, 'download')).toBe('download')
  })
})
