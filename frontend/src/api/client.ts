import { ApiError, toProblem } from './error'
import { routes, type In, type OpName, type Out } from './operations'
import { httpFollow, pollFollow, wailsFollow, type Follow } from './follow'

/** Transport sends one operation by name; both transports have the same shape. */
export interface Transport {
  readonly kind: 'desktop' | 'http' | 'mock'
  call(name: OpName, input: object): Promise<unknown>
  /** follow streams the request log; without it, the log is polled. */
  follow?: Follow
}

/** Api is the one interface the screens use. */
export interface Api {
  readonly kind: Transport['kind']
  call<N extends OpName>(name: N, input: In<N>): Promise<Out<N>>
  /** follow streams the request log's new entries (see follow.ts). */
  follow: Follow
}

export function createApi(t: Transport): Api {
  return {
    kind: t.kind,
    call: <N extends OpName>(name: N, input: In<N>) => t.call(name, input as object) as Promise<Out<N>>,
    follow: t.follow ?? pollFollow(t),
  }
}

type WailsApp = Record<string, (input: unknown) => Promise<unknown>>
declare global {
  interface Window {
    go?: { main?: { App?: WailsApp } }
  }
}

/** wailsTransport calls the bound App methods: window.go.main.App[name](input). */
export function wailsTransport(win: Window = window): Transport {
  return {
    kind: 'desktop',
    follow: wailsFollow(win),
    async call(name, input) {
      const fn = win.go?.main?.App?.[name]
      if (typeof fn !== 'function') {
        throw new ApiError({ code: 'NOT_AVAILABLE', detail: name })
      }
      try {
        return await fn(input)
      } catch (e) {
        // Bound methods reject with the Go error's text; the App puts a problem JSON in it.
        throw new ApiError(toProblem(e))
      }
    },
  }
}

/** expandPath fills {param} from input and returns the path and the remaining fields. */
export function expandPath(template: string, input: Record<string, unknown>): { path: string; rest: Record<string, unknown> } {
  const rest = { ...input }
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = rest[name]
    delete rest[name]
    if (v === undefined || v === null || v === '') throw new ApiError({ code: 'VALIDATION', detail: name })
    return encodeURIComponent(String(v))
  })
  return { path, rest }
}

export interface HttpOptions {
  fetch?: typeof fetch
  baseUrl?: string
  /** language is sent as Accept-Language so problem details come back localized. */
  language?: () => string | undefined
}

/** httpTransport calls the console over HTTP with the session cookie and the CSRF token. */
export function httpTransport(opts: HttpOptions = {}): Transport & { csrf: string } {
  const f = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a))
  const base = opts.baseUrl ?? ''
  const t = {
    kind: 'http' as const,
    csrf: '',
    follow: httpFollow(base),
    async call(name: OpName, input: object) {
      const route = routes[name]
      const { path, rest } = expandPath(route.path, input as Record<string, unknown>)
      const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' }
      const lang = opts.language?.()
      if (lang) headers['Accept-Language'] = lang
      let url = base + path
      let body: string | undefined
      if (route.method === 'GET' || route.method === 'DELETE') {
        const q = new URLSearchParams()
        for (const [k, v] of Object.entries(rest)) {
          if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
        }
        const qs = q.toString()
        if (qs) url += '?' + qs
      } else {
        headers['Content-Type'] = 'application/json'
        body = JSON.stringify(rest)
      }
      if (route.method !== 'GET' && t.csrf) headers['X-CSRF-Token'] = t.csrf
      let res: Response
      try {
        res = await f(url, { method: route.method, headers, body, credentials: 'same-origin' })
      } catch (e) {
        throw new ApiError(toProblem(e))
      }
      const text = await res.text()
      let data: unknown = undefined
      if (text) {
        try {
          data = JSON.parse(text)
        } catch {
          data = text
        }
      }
      if (!res.ok) throw new ApiError(toProblem(data ?? res.statusText, res.status))
      if (data && typeof data === 'object' && 'csrfToken' in data) {
        const tok = (data as { csrfToken?: string }).csrfToken
        if (tok) t.csrf = tok
      }
      if (name === 'Logout') t.csrf = ''
      return data
    },
  }
  return t
}

/** detectTransport picks Wails bindings inside the desktop window and HTTP everywhere else. */
export function detectTransport(win: Window = window, opts: HttpOptions = {}): Transport {
  if (win.go?.main?.App) return wailsTransport(win)
  return httpTransport(opts)
}
