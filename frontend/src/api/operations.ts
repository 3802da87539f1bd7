import type {
  Me, AuditEntry, Catalog, CreatedKey, GatewaySettings, GatewayStatus, Key, KeyStatus, Member, Org,
  Preferences, RequestEntry, Role, Route, RouteInput, Session, Theme,
} from './types'

type OrgScoped = { org?: string }

/** Operations maps every console operation name to its input and output (docs/api.md). */
export interface Operations {
  GetMe: { in: Record<string, never>; out: Me }
  Login: { in: { email: string; password: string }; out: Session }
  Logout: { in: Record<string, never>; out: unknown }
  GetSetup: { in: Record<string, never>; out: { needed: boolean } }
  CompleteSetup: { in: { token: string; email: string; name: string; password: string }; out: Session }
  ListOrgs: { in: Record<string, never>; out: { orgs: Org[] } }
  CreateOrg: { in: { name: string }; out: Org }
  GetOrg: { in: { org: string }; out: Org }
  RenameOrg: { in: { org: string; name: string }; out: Org }
  ListKeys: { in: OrgScoped & { status?: KeyStatus | 'all'; limit?: number; cursor?: string }; out: { keys: Key[]; nextCursor?: string } }
  CreateKey: { in: OrgScoped & { name: string; expires: string; rateLimit?: number; rateWindowSeconds?: number }; out: CreatedKey }
  GetKey: { in: OrgScoped & { id: string }; out: Key }
  RenameKey: { in: OrgScoped & { id: string; name: string }; out: Key }
  RevokeKey: { in: OrgScoped & { id: string; reason?: string }; out: unknown }
  RollKey: { in: OrgScoped & { id: string; graceSeconds: number }; out: CreatedKey }
  ListRoutes: { in: Record<string, never>; out: { routes: Route[] } }
  AddRoute: { in: RouteInput; out: Route }
  UpdateRoute: { in: RouteInput & { id: string }; out: Route }
  RemoveRoute: { in: { id: string }; out: unknown }
  GetGatewaySettings: { in: Record<string, never>; out: GatewaySettings }
  UpdateGatewaySettings: { in: GatewaySettings; out: GatewaySettings }
  GetGatewayStatus: { in: Record<string, never>; out: GatewayStatus }
  StartGateway: { in: Record<string, never>; out: GatewayStatus }
  StopGateway: { in: Record<string, never>; out: GatewayStatus }
  ListRequests: { in: OrgScoped & { status?: string; keyId?: string; route?: string; limit?: number }; out: { requests: RequestEntry[] } }
  ListMembers: { in: OrgScoped; out: { members: Member[] } }
  AddMember: { in: OrgScoped & { email: string; name: string; role: Role; password: string }; out: Member }
  ChangeMemberRole: { in: OrgScoped & { userId: string; role: Role }; out: Member }
  RemoveMember: { in: OrgScoped & { userId: string }; out: unknown }
  ListAudit: { in: OrgScoped & { limit?: number }; out: { entries: AuditEntry[] } }
  GetCatalog: { in: { lang: string }; out: Catalog }
  GetPreferences: { in: Record<string, never>; out: Preferences & { languages?: { tag: string; name: string; dir: string }[] } }
  UpdatePreferences: { in: { language: string; theme: Theme }; out: Preferences }
}

export type OpName = keyof Operations
export type In<N extends OpName> = Operations[N]['in']
export type Out<N extends OpName> = Operations[N]['out']

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** routes is the HTTP side of the operation table: method and path template per name. */
export const routes: Record<OpName, { method: Method; path: string }> = {
  GetMe: { method: 'GET', path: '/api/v1/me' },
  Login: { method: 'POST', path: '/api/v1/session' },
  Logout: { method: 'DELETE', path: '/api/v1/session' },
  GetSetup: { method: 'GET', path: '/api/v1/setup' },
  CompleteSetup: { method: 'POST', path: '/api/v1/setup' },
  ListOrgs: { method: 'GET', path: '/api/v1/orgs' },
  CreateOrg: { method: 'POST', path: '/api/v1/orgs' },
  GetOrg: { method: 'GET', path: '/api/v1/orgs/{org}' },
  RenameOrg: { method: 'PATCH', path: '/api/v1/orgs/{org}' },
  ListKeys: { method: 'GET', path: '/api/v1/keys' },
  CreateKey: { method: 'POST', path: '/api/v1/keys' },
  GetKey: { method: 'GET', path: '/api/v1/keys/{id}' },
  RenameKey: { method: 'PATCH', path: '/api/v1/keys/{id}' },
  RevokeKey: { method: 'POST', path: '/api/v1/keys/{id}/revoke' },
  RollKey: { method: 'POST', path: '/api/v1/keys/{id}/roll' },
  ListRoutes: { method: 'GET', path: '/api/v1/routes' },
  AddRoute: { method: 'POST', path: '/api/v1/routes' },
  UpdateRoute: { method: 'PUT', path: '/api/v1/routes/{id}' },
  RemoveRoute: { method: 'DELETE', path: '/api/v1/routes/{id}' },
  GetGatewaySettings: { method: 'GET', path: '/api/v1/gateway/settings' },
  UpdateGatewaySettings: { method: 'PUT', path: '/api/v1/gateway/settings' },
  GetGatewayStatus: { method: 'GET', path: '/api/v1/gateway/status' },
  StartGateway: { method: 'POST', path: '/api/v1/gateway/start' },
  StopGateway: { method: 'POST', path: '/api/v1/gateway/stop' },
  ListRequests: { method: 'GET', path: '/api/v1/requests' },
  ListMembers: { method: 'GET', path: '/api/v1/members' },
  AddMember: { method: 'POST', path: '/api/v1/members' },
  ChangeMemberRole: { method: 'PATCH', path: '/api/v1/members/{userId}' },
  RemoveMember: { method: 'DELETE', path: '/api/v1/members/{userId}' },
  ListAudit: { method: 'GET', path: '/api/v1/audit' },
  GetCatalog: { method: 'GET', path: '/api/v1/i18n/{lang}' },
  GetPreferences: { method: 'GET', path: '/api/v1/preferences' },
  UpdatePreferences: { method: 'PUT', path: '/api/v1/preferences' },
}
