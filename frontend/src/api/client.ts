import { ApiError, toProblem } from './error'
import { routes, type In, type OpName, type Out } from './operations'
import { httpFollow, pollFollow, wailsFollow, type Follow } from './follow'

/** Transport sends one operation by name; both transports have the same shape. */
export interface Transport {
  readonly kind: 'desktop' | 'http' | 'mock'
  call(name: OpName, input: object): Promise<unknown>
  /**
   * upload is call for a large body, reporting the bytes sent as they go (HTTP only; a
   * desktop call crosses no network, so it has nothing to report).
   */
  upload?(name: OpName, input: object, onSent: (sent: number, total: number) => void): Promise<unknown>
  /**
   * download runs an operation whose answer is a file (a backup), reporting the bytes received
   * against the answer's length as they arrive (HTTP; the desktop binding saves the file itself).
   */
  download?(name: OpName, input: object, onReceived: (received: number, total: number) => void): Promise<Download>
  /** follow streams the request log; without it, the log is polled. */
  follow?: Follow
}

/**
 * Download is a file an operation answered: in a browser its bytes (blob) to hand to the
 * user; on the desktop the path the binding saved it to ('' when the save dialog was closed).
 */
export interface Download {
  name: string
  size: number
  blob?: Blob
  path?: string
}

/** Api is the one interface the screens use. */
export interface Api {
  readonly kind: Transport['kind']
  call<N extends OpName>(name: N, input: In<N>): Promise<Out<N>>
  /**
   * upload is call with the request body's bytes reported as they are sent (onSent), where
   * the transport can tell; elsewhere it is call and onSent is never called.
   */
  upload<N extends OpName>(name: N, input: In<N>, onSent: (sent: number, total: number) => void): Promise<Out<N>>
  /** download runs a file-answering operation (see Transport.download). */
  download<N extends OpName>(name: N, input: In<N>, onReceived: (received: number, total: number) => void): Promise<Download>
  /** follow streams the request log's new entries (see follow.ts). */
  follow: Follow
}

export function createApi(t: Transport): Api {
  return {
    kind: t.kind,
    call: <N extends OpName>(name: N, input: In<N>) => t.call(name, input as object) as Promise<Out<N>>,
    upload: <N extends OpName>(name: N, input: In<N>, onSent: (sent: number, total: number) => void) =>
      (t.upload ? t.upload(name, input as object, onSent) : t.call(name, input as object)) as Promise<Out<N>>,
    download: <N extends OpName>(name: N, input: In<N>, onReceived: (received: number, total: number) => void) =>
      t.download ? t.download(name, input as object, onReceived) : (t.call(name, input as object) as Promise<Download>),
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
  /** xhr makes the XMLHttpRequest of upload (tests pass a fake). */
  xhr?: () => XMLHttpRequest
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
    download(name: OpName, input: object, onReceived: (received: number, total: number) => void) {
      const route = routes[name]
      const { path, rest } = expandPath(route.path, input as Record<string, unknown>)
      const q = new URLSearchParams()
      for (const [k, v] of Object.entries(rest)) {
        if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
      }
      const qs = q.toString()
      return httpDownload(f, base + path + (qs ? '?' + qs : ''), opts.language?.(), onReceived)
    },
    /** upload sends a JSON body with XMLHttpRequest, whose upload events fetch lacks. */
    upload(name: OpName, input: object, onSent: (sent: number, total: number) => void) {
      const route = routes[name]
      const { path, rest } = expandPath(route.path, input as Record<string, unknown>)
      const body = JSON.stringify(rest)
      const XHR = opts.xhr ?? (() => new XMLHttpRequest())
      return new Promise<unknown>((resolve, reject) => {
        const x = XHR()
        x.open(route.method, base + path)
        x.withCredentials = true
        x.setRequestHeader('Accept', 'application/json, application/problem+json')
        x.setRequestHeader('Content-Type', 'application/json')
        const lang = opts.language?.()
        if (lang) x.setRequestHeader('Accept-Language', lang)
        if (t.csrf) x.setRequestHeader('X-CSRF-Token', t.csrf)
        x.upload.onprogress = (e) => { if (e.lengthComputable) onSent(e.loaded, e.total) }
        x.onerror = () => reject(new ApiError(toProblem(new Error('network error'))))
        x.onload = () => {
          let data: unknown = undefined
          if (x.responseText) {
            try {
              data = JSON.parse(x.responseText)
            } catch {
              data = x.responseText
            }
          }
          if (x.status < 200 || x.status >= 300) reject(new ApiError(toProblem(data ?? x.statusText, x.status)))
          else resolve(data)
        }
        x.send(body)
      })
    },
  }
  return t
}

/** filenameOf reads the file name of a Content-Disposition header (attachment; filename="…"). */
export function filenameOf(disposition: string | null, fallback: string): string {
  const m = /filename="([^"/\\]+)"/.exec(disposition ?? '')
  return m ? m[1] : fallback
}

/**
 * httpDownload fetches a file-answering operation and reads its body as a stream, so that
 * the bytes received can be shown against Content-Length (0 when the answer has none).
 */
export async function httpDownload(f: typeof fetch, url: string, lang: string | undefined, onReceived: (received: number, total: number) => void): Promise<Download> {
  const headers: Record<string, string> = { Accept: '*/*' }
  if (lang) headers['Accept-Language'] = lang
  let res: Response
  try {
    res = await f(url, { headers, credentials: 'same-origin' })
  } catch (e) {
    throw new ApiError(toProblem(e))
  }
  if (!res.ok) {
    const text = await res.text()
    let data: unknown = text || res.statusText
    try { data = JSON.parse(text) } catch { /* not JSON: the text itself */ }
    throw new ApiError(toProblem(data, res.status))
  }
  const total = Number(res.headers.get('Content-Length')) || 0
  const name = filenameOf(res.headers.get('Content-Disposition'), 'download')
  const type = res.headers.get('Content-Type') ?? 'application/octet-stream'
  const chunks: BlobPart[] = []
  let received = 0
  onReceived(0, total)
  try {
    if (res.body) {
      const reader = res.body.getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        chunks.push(value)
        received += value.byteLength
        onReceived(received, total)
      }
    } else {
      const b = await res.arrayBuffer()
      chunks.push(b)
      received = b.byteLength
      onReceived(received, total)
    }
  } catch (e) {
    throw new ApiError(toProblem(e))
  }
  if (total && received !== total) throw new ApiError(toProblem(new Error(`the download ended after ${received} of ${total} bytes`)))
  return { name, size: received, blob: new Blob(chunks, { type }) }
}

/** detectTransport picks Wails bindings inside the desktop window and HTTP everywhere else. */
export function detectTransport(win: Window = window, opts: HttpOptions = {}): Transport {
  if (win.go?.main?.App) return wailsTransport(win)
  return httpTransport(opts)
}
