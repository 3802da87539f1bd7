// Following the request log live: server-sent events over HTTP (GET /api/v1/requests/stream),
// Wails events in the desktop window (the bound FollowRequests / UnfollowRequests), polling for
// the mock transport. Every kind delivers entries oldest first, each once.
import { ApiError, toProblem } from './error'
import type { Transport } from './client'
import type { RequestEntry } from './types'

/** FollowInput selects the entries: ListRequests' filters, and where to resume. */
export interface FollowInput {
  org?: string
  status?: string
  keyId?: string
  route?: string
  from?: string
  to?: string
  /** How many of the newest entries a fresh follower gets first. */
  limit?: number
  /** Resume after this entry id: every later one arrives, none twice. */
  after?: number
}

/** connecting → live; reconnecting while the connection is lost; stopped when it gave up. */
export type FollowState = 'connecting' | 'live' | 'reconnecting' | 'stopped'

export interface FollowHandlers {
  /** New entries, oldest first. */
  onEntries(entries: RequestEntry[]): void
  onState(state: FollowState, error?: ApiError): void
}

/** Follow starts following and returns the function that stops it. */
export type Follow = (input: FollowInput, h: FollowHandlers) => () => void

export const requestStreamPath = '/api/v1/requests/stream'

/** query encodes the input's set fields. */
export function followQuery(input: FollowInput): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(input)) {
    if (v !== undefined && v !== null && v !== '' && !(k === 'after' && !v)) q.set(k, String(v))
  }
  const s = q.toString()
  return s ? '?' + s : ''
}

/** batcher hands entries on at most every 100 ms, so a burst renders once. */
function batcher(h: FollowHandlers) {
  let pending: RequestEntry[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  return {
    push(e: RequestEntry) {
      pending.push(e)
      timer ??= setTimeout(() => {
        timer = undefined
        const out = pending
        pending = []
        h.onEntries(out)
      }, 100)
    },
    stop() {
      if (timer) clearTimeout(timer)
    },
  }
}

type EventSourceCtor = new (url: string, init?: EventSourceInit) => EventSource

/**
 * httpFollow follows over server-sent events. EventSource reconnects by itself after a lost
 * connection and sends Last-Event-ID, which the server resumes after: no gap, no repeat. An
 * answer that is not a stream (signed out, bad filter) stops it, as does a `denied` event.
 */
export function httpFollow(base = '', ES: EventSourceCtor | undefined = globalThis.EventSource): Follow {
  return (input, h) => {
    if (!ES) {
      h.onState('stopped', new ApiError({ code: 'NOT_AVAILABLE' }))
      return () => {}
    }
    const es = new ES(base + requestStreamPath + followQuery(input), { withCredentials: true })
    const b = batcher(h)
    let stopped = false
    h.onState('connecting')
    // 'live' once the first entries (sent at once) have been handed on, so a screen does not
    // flash "no requests" before them.
    es.onopen = () => { setTimeout(() => { if (!stopped) h.onState('live') }, 150) }
    es.addEventListener('request', (ev) => {
      try {
        b.push(JSON.parse((ev as MessageEvent<string>).data) as RequestEntry)
      } catch {
        // a malformed event is skipped; the next one still arrives
      }
    })
    es.addEventListener('denied', (ev) => {
      stopped = true
      es.close()
      h.onState('stopped', new ApiError(toProblem((ev as MessageEvent<string>).data)))
    })
    es.onerror = () => {
      if (stopped) return
      if (es.readyState === 2 /* CLOSED */) {
        stopped = true
        h.onState('stopped', new ApiError({ code: 'STREAM_CLOSED' }))
      } else {
        h.onState('reconnecting')
      }
    }
    return () => {
      stopped = true
      b.stop()
      es.close()
    }
  }
}

interface WailsRuntime {
  EventsOn(name: string, cb: (...data: unknown[]) => void): (() => void) | void
  EventsOff(name: string, ...more: string[]): void
}
type WailsFollowApp = {
  FollowRequests?: (input: FollowInput) => Promise<string>
  UnfollowRequests?: (id: string) => Promise<void>
}

/** wailsFollow follows through the desktop App: FollowRequests names an event the App emits. */
export function wailsFollow(win: Window): Follow {
  return (input, h) => {
    const app = win.go?.main?.App as WailsFollowApp | undefined
    const rt = (win as unknown as { runtime?: WailsRuntime }).runtime
    if (!app?.FollowRequests || !rt) {
      h.onState('stopped', new ApiError({ code: 'NOT_AVAILABLE' }))
      return () => {}
    }
    let id = ''
    let stopped = false
    h.onState('connecting')
    app.FollowRequests(input).then((sub) => {
      if (stopped) {
        app.UnfollowRequests?.(sub)
        return
      }
      id = sub
      rt.EventsOn(sub, (msg) => {
        const m = msg as { entries?: RequestEntry[]; problem?: unknown }
        if (m.problem) {
          stopped = true
          rt.EventsOff(sub)
          h.onState('stopped', new ApiError(toProblem(m.problem)))
          return
        }
        if (m.entries?.length) h.onEntries(m.entries)
      })
      h.onState('live')
    }, (e) => {
      stopped = true
      h.onState('stopped', new ApiError(toProblem(e)))
    })
    return () => {
      stopped = true
      if (id) {
        rt.EventsOff(id)
        app.UnfollowRequests?.(id)
      }
    }
  }
}

/** pollFollow re-reads ListRequests every two seconds (the mock transport has no stream). */
export function pollFollow(t: Transport): Follow {
  return (input, h) => {
    let seen = new Set<string>()
    let stopped = false
    const filter = { ...input }
    delete filter.after
    const tick = async () => {
      try {
        const out = (await t.call('ListRequests', filter)) as { requests: RequestEntry[] }
        if (stopped) return
        const fresh = out.requests.filter((e) => !seen.has(`${e.requestId} ${e.time}`)).reverse()
        seen = new Set(out.requests.map((e) => `${e.requestId} ${e.time}`))
        if (fresh.length) h.onEntries(fresh)
        h.onState('live')
      } catch (e) {
        if (!stopped) h.onState('reconnecting', e instanceof ApiError ? e : new ApiError(toProblem(e)))
      }
    }
    h.onState('connecting')
    void tick()
    const timer = setInterval(tick, 2000)
    return () => {
      stopped = true
      clearInterval(timer)
    }
  }
}
