import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react'
import type { Org, Role, User } from './api/types'
import { useApi } from './api/context'

const rank: Record<Role, number> = { member: 0, developer: 1, admin: 2 }

export interface SessionValue {
  user: User
  orgs: Org[]
  org: Org
  role: Role
  desktop: boolean
  /** can says whether the current role is at least min in the current organization. */
  can: (min: Role) => boolean
  /** isAdminAnywhere: CreateOrg needs admin of any organization. */
  isAdminAnywhere: boolean
  setOrg: (id: string) => void
  logout: () => Promise<void>
}

const Ctx = createContext<SessionValue | null>(null)
const orgKey = 'keygate.org'

export function useSession(): SessionValue {
  const v = useContext(Ctx)
  if (!v) throw new Error('useSession outside SessionProvider')
  return v
}

/** SessionProvider holds the signed-in user and the organization being looked at. */
export function SessionProvider({ user, orgs, children, onLogout }: { user: User; orgs: Org[]; children: ReactNode; onLogout: () => void }) {
  const api = useApi()
  const [orgId, setOrgId] = useState(() => localStorage.getItem(orgKey) ?? '')
  const org = orgs.find((o) => o.id === orgId) ?? orgs[0]
  const desktop = api.kind === 'desktop'
  const role: Role = org.role ?? (desktop ? 'admin' : 'member')
  const setOrg = useCallback((id: string) => {
    localStorage.setItem(orgKey, id)
    setOrgId(id)
  }, [])
  const logout = useCallback(async () => {
    try {
      await api.call('Logout', {})
    } finally {
      onLogout()
    }
  }, [api, onLogout])
  const value = useMemo<SessionValue>(() => ({
    user, orgs, org, role, desktop,
    can: (min) => rank[role] >= rank[min],
    isAdminAnywhere: desktop || orgs.some((o) => o.role === 'admin'),
    setOrg, logout,
  }), [user, orgs, org, role, desktop, setOrg, logout])
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>
}
