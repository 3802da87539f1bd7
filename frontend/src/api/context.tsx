import { createContext, useContext, type ReactNode } from 'react'
import { useMutation, useQuery, useQueryClient, type UseQueryOptions } from '@tanstack/react-query'
import type { Api } from './client'
import type { In, OpName, Out } from './operations'
import type { ApiError } from './error'

const Ctx = createContext<Api | null>(null)

export function ApiProvider({ api, children }: { api: Api; children: ReactNode }) {
  return <Ctx.Provider value={api}>{children}</Ctx.Provider>
}

export function useApi(): Api {
  const v = useContext(Ctx)
  if (!v) throw new Error('useApi outside ApiProvider')
  return v
}

/**
 * useOp runs a read operation with TanStack Query. The key is [name, input]: the organization id
 * is part of every organization-scoped input, so switching organizations never shows another
 * organization's cached data.
 */
export function useOp<N extends OpName>(name: N, input: In<N>, opts?: Partial<UseQueryOptions<Out<N>, ApiError>>) {
  const api = useApi()
  return useQuery<Out<N>, ApiError>({
    queryKey: [name, input],
    queryFn: () => api.call(name, input),
    ...opts,
  })
}

/** useAction runs a state-changing operation and refreshes the listed reads when it succeeds. */
export function useAction<N extends OpName>(name: N, invalidates: OpName[] = []) {
  const api = useApi()
  const qc = useQueryClient()
  return useMutation<Out<N>, ApiError, In<N>>({
    mutationFn: (input) => api.call(name, input),
    onSuccess: async () => {
      await Promise.all(invalidates.map((n) => qc.invalidateQueries({ queryKey: [n] })))
    },
  })
}
