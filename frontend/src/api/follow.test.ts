import { describe, expect, it, vi } from 'vitest'
import { followQuery, httpFollow } from './follow'
import { mergeNewest } from '../pages/requests/useRequestLog'
import type { RequestEntry } from './types'

const entry = (id: number): RequestEntry => ({ id, time: new Date(1_700_000_000_000 + id).toISOString(), requestId: `r${id}`, method: 'GET', path: `/p/${id}`, status: 200, latencyUs: 1, headers: {} })

/** FakeEventSource records its URL and lets a test send events. */
class FakeEventSource {
  static last: FakeEventSource
  readyState = 0
  onopen: (() => void) | null = null
  onerror: (() => void) | null = null
  listeners: Record<string, ((e: MessageEvent<string>) => void)[]> = {}
  closed = false
  constructor(public url: string, public init?: EventSourceInit) { FakeEventSource.last = this }
  addEventListener(name: string, fn: (e: MessageEvent<string>) => void) { (this.listeners[name] ??= []).push(fn) }
  emit(name: string, data: string) { for (const fn of this.listeners[name] ?? []) fn({ data } as MessageEvent<string>) }
  close() { this.closed = true; this.readyState = 2 }
}

describe('following the request log', () => {
  it('encodes only the set filters, and after only when resuming', () => {
    expect(followQuery({ org: 'o', status: '', after: 0, limit: 200 })).toBe('?org=o&limit=200')
    expect(followQuery({ after: 42, from: '2026-01-30T15:00:00.000Z' })).toBe('?after=42&from=2026-01-30T15%3A00%3A00.000Z')
  })

  it('hands on streamed entries in batches, and stops on a denied event', () => {
    vi.useFakeTimers()
    const got: RequestEntry[][] = []
    const states: string[] = []
    const stop = httpFollow('', FakeEventSource as unknown as typeof EventSource)({ org: 'o' }, {
      onEntries: (es) => got.push(es),
      onState: (s, e) => states.push(e ? `${s}:${e.code}` : s),
    })
    const es = FakeEventSource.last
    expect(es.url).toBe('/api/v1/requests/stream?org=o')
    es.onopen?.()
    es.emit('request', JSON.stringify(entry(1)))
    es.emit('request', JSON.stringify(entry(2)))
    vi.advanceTimersByTime(200)
    expect(got).toEqual([[entry(1), entry(2)]])
    expect(states).toEqual(['connecting', 'live'])
    es.emit('denied', JSON.stringify({ code: 'UNAUTHENTICATED', status: 401 }))
    expect(es.closed).toBe(true)
    expect(states.at(-1)).toBe('stopped:UNAUTHENTICATED')
    stop()
    vi.useRealTimers()
  })

  it('merges new entries newest first, each once, within the limit', () => {
    const shown = [entry(3), entry(2), entry(1)]
    expect(mergeNewest(shown, [entry(3), entry(4), entry(5)], 4).map((e) => e.id)).toEqual([5, 4, 3, 2])
  })
})
