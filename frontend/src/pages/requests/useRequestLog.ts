import { useEffect, useRef, useState } from 'react'
import { useApi, useOp } from '../../api/context'
import type { ApiError } from '../../api/error'
import type { FollowInput, FollowState } from '../../api/follow'
import type { RequestEntry } from '../../api/types'

export type RequestFilter = Omit<FollowInput, 'after' | 'limit'>

const entryKey = (e: RequestEntry) => (e.id ? `#${e.id}` : `${e.requestId} ${e.time} ${e.method} ${e.path}`)

/** mergeNewest puts fresh entries (oldest first) before shown ones (newest first), each once. */
export function mergeNewest(shown: RequestEntry[], fresh: RequestEntry[], limit: number): RequestEntry[] {
  const seen = new Set<string>()
  const out: RequestEntry[] = []
  for (const e of [...fresh].reverse().concat(shown)) {
    const k = entryKey(e)
    if (seen.has(k)) continue
    seen.add(k)
    out.push(e)
    if (out.length === limit) break
  }
  return out
}

/**
 * useRequestLog is the request log for a filter, newest first. Live (and without an end to the
 * time range) it follows the stream: the newest entries, then each new one as the gateway
 * persists it. Paused, it keeps what it showed; resumed with the same filter it carries on
 * after the last entry it got, so what came in meanwhile fills in — no gap, no repeat. Paused
 * with another filter, or for a range that has ended, it lists once (ListRequests).
 */
export function useRequestLog(filter: RequestFilter, live: boolean, limit = 200) {
  const api = useApi()
  const key = JSON.stringify(filter)
  const streaming = live && !filter.to
  const [entries, setEntries] = useState<RequestEntry[]>([])
  const [state, setState] = useState<FollowState>('connecting')
  const [error, setError] = useState<ApiError | undefined>()
  const [attempt, setAttempt] = useState(0)
  const streamKey = useRef<string | null>(null)
  const lastId = useRef(0)

  useEffect(() => {
    if (!streaming) return
    let after: number | undefined
    if (streamKey.current === key && lastId.current > 0) {
      after = lastId.current
    } else {
      setEntries([])
      lastId.current = 0
      streamKey.current = key
    }
    setError(undefined)
    return api.follow({ ...(JSON.parse(key) as RequestFilter), limit, after }, {
      onEntries(fresh) {
        for (const e of fresh) lastId.current = Math.max(lastId.current, e.id ?? 0)
        setEntries((shown) => mergeNewest(shown, fresh, limit))
      },
      onState(s, err) {
        setState(s)
        setError(err)
      },
    })
  }, [api, key, streaming, limit, attempt])

  const listed = !streaming && streamKey.current !== key
  const list = useOp('ListRequests', { ...filter, limit }, { enabled: listed })
  if (listed) {
    return {
      entries: list.data?.requests ?? [],
      pending: list.isPending,
      error: list.error ?? undefined,
      state: 'stopped' as FollowState,
      retry: () => void list.refetch(),
    }
  }
  return {
    entries,
    pending: streaming && state === 'connecting' && entries.length === 0,
    error: state === 'stopped' ? error : undefined,
    state: streaming ? state : ('stopped' as FollowState),
    retry: () => setAttempt((n) => n + 1),
  }
}
