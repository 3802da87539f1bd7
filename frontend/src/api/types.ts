// Types of the console API, as in docs/api.md. Times are RFC 3339 strings; absent times are null.

export type Role = 'admin' | 'developer' | 'member'
export type KeyStatus = 'active' | 'expired' | 'revoked'
export type Theme = 'light' | 'dark' | 'system'

export interface User {
  id: string
  email: string
  name: string
  language?: string
  theme?: Theme
}

export interface Session {
  user: User
  csrfToken?: string
}

/** Me is GetMe's answer: the user, the mode, their organizations and the UI language to use. */
export interface Me extends Session {
  mode?: 'desktop' | 'serve'
  orgs?: Org[]
  /** language is the resolved UI language: saved preference, else Accept-Language or the OS locale. */
  language?: string
}

export interface Org {
  id: string
  name: string
  keyPrefix: string
  createdAt: string
  role?: Role
}

export interface Key {
  id: string
  orgId: string
  name: string
  prefix: string
  start: string
  status: KeyStatus
  createdAt: string
  createdBy: string
  expiresAt: string | null
  revokedAt: string | null
  revokeReason?: string
  lastUsedAt: string | null
  usageCount: number
  rateLimit: number
}

/** CreatedKey is a new or rolled key with its secret: shown once, never again. */
export interface CreatedKey {
  id: string
  key: string
  name: string
  start: string
  prefix: string
  orgId: string
  createdAt: string
  expiresAt: string | null
}

export interface Route {
  id: string
  prefix: string
  upstream: string
  stripPrefix: boolean
  orgId: string
  openapiSource: string
  authRequired: boolean
  queryKeyParam: string
  maxBodyBytes: number
  validateRequests: boolean
  createdAt?: string
  updatedAt?: string
}

export type RouteInput = Omit<Route, 'id' | 'createdAt' | 'updatedAt'>

export interface GatewaySettings {
  allowedOrigins: string[]
  upstreamTimeoutSeconds: number
}

export interface GatewayStatus {
  running: boolean
  url: string
  listen: string
  startedAt: string | null
  canControl: boolean
}

export interface RequestEntry {
  id?: number
  time: string
  requestId: string
  method: string
  path: string
  status: number
  latencyUs: number
  keyId: string
  keyName: string
  userId: string
  orgId: string
  route: string
  errorCode: string
  clientAddr: string
  headers: Record<string, string | string[]>
}

export interface Member {
  userId: string
  email: string
  name: string
  role: Role
  createdAt: string
}

export interface AuditEntry {
  id: number | string
  at: string
  actor: string
  actorEmail?: string
  orgId: string
  action: string
  target: string
  detail: string
  clientAddr: string
}

export interface Catalog {
  lang: string
  dir: 'ltr' | 'rtl'
  /** Message id → text, or plural forms (one, other, …) → text; go-i18n {{.Name}} placeholders. */
  messages: Record<string, string | Record<string, string>>
  languages?: { tag: string; name: string }[]
}

export interface Preferences {
  language: string
  theme: Theme
}

export interface FieldError {
  field: string
  code: string
  detail: string
}

export interface Problem {
  type?: string
  title?: string
  status?: number
  code: string
  detail?: string
  fields?: FieldError[]
}
