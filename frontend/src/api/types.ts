// The frontend's names for the console's types. The types themselves are generated from the Go
// types into operations.ts (`make generate`); only the client's error model is written here.
import type { AddRouteInput, Created, CreatedEndpoint, Delivery, Endpoint, Entry, Key, Member, OrgView, SessionOutput, User } from './operations'

export type {
  AuditEntry, Catalog, GatewaySettings, GatewayStatus, Key, Language, Me, Member, PortInfo, Ports, Preferences, Route, User,
} from './operations'

export type Org = OrgView
/** CreatedKey is a new or rolled key with its secret: shown once, never again. */
export type CreatedKey = Created
export type RequestEntry = Entry
export type Session = SessionOutput
export type Role = Member['role']
export type KeyStatus = Key['status']
export type Theme = User['theme']
export type RouteInput = AddRouteInput
export type WebhookEndpoint = Endpoint
/** CreatedWebhook is a new endpoint with its signing secret: shown once, never again. */
export type CreatedWebhook = CreatedEndpoint
export type WebhookDelivery = Delivery
export type WebhookStatus = Delivery['status']

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
