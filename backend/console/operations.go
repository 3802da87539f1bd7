package console

import "github.com/keygate/keygate/backend/auth"

// table is the one list of console operations. Adding an operation means a line here, its
// handler, its messages in locales/, and `make generate` (which writes the desktop App method,
// the frontend's operation map and types, and the table in docs/api.md).
var table = []Operation{
	// Session and first-admin setup.
	op("GetMe", "GET /api/v1/me", auth.NeedSignedIn, ScopeNone, "session",
		"The signed-in user, their organizations and the CSRF token", (*Service).getMe),
	op("Login", "POST /api/v1/session", auth.NeedPublic, ScopeNone, "session",
		"Sign in with e-mail address and password; sets the session cookie", (*Service).login).only(ModeServe).may(401, 429),
	op("Logout", "DELETE /api/v1/session", auth.NeedSignedIn, ScopeNone, "session",
		"Sign out: revoke the session", (*Service).logout).only(ModeServe),
	op("GetSetup", "GET /api/v1/setup", auth.NeedPublic, ScopeNone, "session",
		"Whether the first admin still has to be created", (*Service).getSetup),
	op("CompleteSetup", "POST /api/v1/setup", auth.NeedPublic, ScopeNone, "session",
		"Create the first admin with the one-time setup token; signs them in", (*Service).completeSetup).only(ModeServe).may(409, 429),

	// Organizations.
	op("ListOrgs", "GET /api/v1/orgs", auth.NeedSignedIn, ScopeNone, "organizations",
		"The organizations the caller belongs to, with their role", (*Service).listOrgs),
	op("CreateOrg", "POST /api/v1/orgs", auth.NeedAdminOfAny, ScopeNone, "organizations",
		"Create an organization; the creator becomes its admin", (*Service).createOrg),
	op("GetOrg", "GET /api/v1/orgs/{org}", auth.NeedMember, ScopeOrg, "organizations",
		"One organization", (*Service).getOrg),
	op("RenameOrg", "PATCH /api/v1/orgs/{org}", auth.NeedAdmin, ScopeOrg, "organizations",
		"Rename an organization", (*Service).renameOrg),

	// API keys.
	op("ListKeys", "GET /api/v1/keys", auth.NeedMember, ScopeOrg, "keys",
		"List keys, newest first, by status, a page at a time", (*Service).listKeys),
	op("CreateKey", "POST /api/v1/keys", auth.NeedDeveloper, ScopeOrg, "keys",
		"Create a key; the secret is in this answer and never again", (*Service).createKey),
	op("GetKey", "GET /api/v1/keys/{id}", auth.NeedMember, ScopeOrg, "keys",
		"One key (never its secret)", (*Service).getKey),
	op("UpdateKey", "PATCH /api/v1/keys/{id}", auth.NeedDeveloper, ScopeOrg, "keys",
		"Change a key's name, expiry, scopes, metadata, IP allowlist, rate limit or quota; the next request sees it", (*Service).updateKey).may(409),
	op("DisableKey", "POST /api/v1/keys/{id}/disable", auth.NeedDeveloper, ScopeOrg, "keys",
		"Turn a key off until it is enabled again (idempotent); it answers DISABLED", (*Service).disableKey).may(409),
	op("EnableKey", "POST /api/v1/keys/{id}/enable", auth.NeedDeveloper, ScopeOrg, "keys",
		"Turn a disabled key back on (idempotent)", (*Service).enableKey).may(409),
	op("RevokeKey", "POST /api/v1/keys/{id}/revoke", auth.NeedDeveloper, ScopeOrg, "keys",
		"Revoke a key at once (idempotent)", (*Service).revokeKey),
	op("RollKey", "POST /api/v1/keys/{id}/roll", auth.NeedDeveloper, ScopeOrg, "keys",
		"Give a key a new secret; the old one works until the grace period ends", (*Service).rollKey).may(409),

	// Gateway: routes, settings, status, request log.
	op("ListRoutes", "GET /api/v1/routes", auth.NeedMember, ScopeInstance, "gateway",
		"The gateway's routes, in matching order", (*Service).listRoutes),
	op("AddRoute", "POST /api/v1/routes", auth.NeedAdmin, ScopeInstance, "gateway",
		"Add a route", (*Service).addRoute).may(409),
	op("UpdateRoute", "PUT /api/v1/routes/{id}", auth.NeedAdmin, ScopeInstance, "gateway",
		"Replace a route's settings", (*Service).updateRoute).may(409),
	op("RemoveRoute", "DELETE /api/v1/routes/{id}", auth.NeedAdmin, ScopeInstance, "gateway",
		"Remove a route", (*Service).removeRoute),
	op("ListScopes", "GET /api/v1/scopes", auth.NeedMember, ScopeOrg, "keys",
		"The scopes the routes serving the organization's keys require, with the routes that name each", (*Service).listScopes),
	op("GetLearnedDocument", "GET /api/v1/routes/{id}/learned", auth.NeedMember, ScopeInstance, "gateway",
		"The OpenAPI document learned from a route's traffic, and what is new in it", (*Service).getLearnedDocument),
	op("AdoptLearnedDocument", "POST /api/v1/routes/{id}/learned/adopt", auth.NeedAdmin, ScopeInstance, "gateway",
		"Make the learned document the route's OpenAPI document", (*Service).adoptLearnedDocument).may(409),
	op("GetGatewaySettings", "GET /api/v1/gateway/settings", auth.NeedMember, ScopeInstance, "gateway",
		"Allowed CORS origins and the upstream timeout", (*Service).getGatewaySettings),
	op("UpdateGatewaySettings", "PUT /api/v1/gateway/settings", auth.NeedAdmin, ScopeInstance, "gateway",
		"Change the allowed CORS origins and the upstream timeout", (*Service).updateGatewaySettings),
	op("GetGatewayStatus", "GET /api/v1/gateway/status", auth.NeedSignedIn, ScopeNone, "gateway",
		"Whether the gateway runs, and where", (*Service).getGatewayStatus),
	op("StartGateway", "POST /api/v1/gateway/start", auth.NeedAdmin, ScopeInstance, "gateway",
		"Start the in-process gateway (desktop)", (*Service).startGateway).only(ModeDesktop).may(409),
	op("StopGateway", "POST /api/v1/gateway/stop", auth.NeedAdmin, ScopeInstance, "gateway",
		"Stop the in-process gateway (desktop)", (*Service).stopGateway).only(ModeDesktop),
	op("ListNodes", "GET /api/v1/nodes", auth.NeedMember, ScopeInstance, "gateway",
		"The gateway nodes that share this database: live ones first, with their request rate", (*Service).listNodes),
	op("ListRequests", "GET /api/v1/requests", auth.NeedMember, ScopeOrg, "gateway",
		"Recent gateway requests, newest first, by status, key and route", (*Service).listRequests),
	op("GetUsage", "GET /api/v1/usage", auth.NeedMember, ScopeOrg, "gateway",
		"Requests, errors, refusals and latency over time, per organization, key or route", (*Service).getUsage),
	op("GetUsageTop", "GET /api/v1/usage/top", auth.NeedMember, ScopeOrg, "gateway",
		"The keys or routes with the most requests over a time range", (*Service).getUsageTop),

	// Webhooks.
	op("ListWebhooks", "GET /api/v1/webhooks", auth.NeedMember, ScopeOrg, "webhooks",
		"An organization's webhook endpoints (never their secrets)", (*Service).listWebhooks),
	op("AddWebhook", "POST /api/v1/webhooks", auth.NeedAdmin, ScopeOrg, "webhooks",
		"Add a webhook endpoint; its signing secret is in this answer and never again", (*Service).addWebhook).may(409),
	op("RemoveWebhook", "DELETE /api/v1/webhooks/{id}", auth.NeedAdmin, ScopeOrg, "webhooks",
		"Remove a webhook endpoint and its deliveries, pending ones included", (*Service).removeWebhook),
	op("ListWebhookDeliveries", "GET /api/v1/webhook-deliveries", auth.NeedMember, ScopeOrg, "webhooks",
		"Webhook deliveries with their status, newest first, by endpoint and status", (*Service).listWebhookDeliveries).may(404),
	op("RetryWebhookDelivery", "POST /api/v1/webhook-deliveries/{id}/retry", auth.NeedAdmin, ScopeOrg, "webhooks",
		"Send a delivery again now, with a fresh round of attempts", (*Service).retryWebhookDelivery),

	// Members.
	op("ListMembers", "GET /api/v1/members", auth.NeedMember, ScopeOrg, "members",
		"An organization's members and their roles", (*Service).listMembers),
	op("AddMember", "POST /api/v1/members", auth.NeedAdmin, ScopeOrg, "members",
		"Invite an address to an organization (the same answer whether or not it has an account)", (*Service).addMember).may(409),
	op("AcceptInvitation", "POST /api/v1/invitations/{id}/accept", auth.NeedSignedIn, ScopeNone, "members",
		"Accept one of the caller's invitations: join that organization with the invited role", (*Service).acceptInvitation).may(409),
	op("DeclineInvitation", "POST /api/v1/invitations/{id}/decline", auth.NeedSignedIn, ScopeNone, "members",
		"Decline one of the caller's invitations", (*Service).declineInvitation),
	op("ChangeMemberRole", "PATCH /api/v1/members/{userId}", auth.NeedAdmin, ScopeOrg, "members",
		"Change a member's role", (*Service).changeMemberRole).may(409),
	op("RemoveMember", "DELETE /api/v1/members/{userId}", auth.NeedAdmin, ScopeOrg, "members",
		"Take a user out of an organization", (*Service).removeMember).may(409),

	// Own account and password resets.
	op("ChangePassword", "PUT /api/v1/me/password", auth.NeedSignedIn, ScopeNone, "session",
		"Change the caller's own password (current + new); the caller's other sessions end", (*Service).changePassword).only(ModeServe).may(429),
	op("CreatePasswordReset", "POST /api/v1/members/{userId}/password-reset", auth.NeedAdmin, ScopeOrg, "members",
		"Issue a one-time, 15-minute password reset link for a member (shown once)", (*Service).createPasswordReset).only(ModeServe).may(409),
	op("ResetPassword", "POST /api/v1/password-reset", auth.NeedPublic, ScopeNone, "session",
		"Set a new password with a reset link's token; every session of the account ends", (*Service).resetPassword).only(ModeServe).may(429),

	// Accounts: the command line only (see ModeCLI).
	op("ListUsers", "", auth.NeedAdmin, ScopeInstance, "users",
		"Every account with its role in each organization", (*Service).listUsers).only(ModeCLI),
	op("RemoveUser", "", auth.NeedAdmin, ScopeInstance, "users",
		"Delete an account with its memberships and sessions", (*Service).removeUser).only(ModeCLI),
	op("SetUserPassword", "", auth.NeedAdmin, ScopeInstance, "users",
		"Give an account a new password and end its sessions", (*Service).setUserPassword).only(ModeCLI),

	// Audit log.
	op("ListAudit", "GET /api/v1/audit", auth.NeedMember, ScopeOrg, "audit",
		"Recorded management actions, newest first", (*Service).listAudit),

	// Languages and preferences.
	op("GetCatalog", "GET /api/v1/i18n/{lang}", auth.NeedPublic, ScopeNone, "preferences",
		"The message catalog of a language, for the frontend", (*Service).getCatalog),
	op("GetPreferences", "GET /api/v1/preferences", auth.NeedSignedIn, ScopeNone, "preferences",
		"The caller's language and theme, and the languages on offer", (*Service).getPreferences),
	op("UpdatePreferences", "PUT /api/v1/preferences", auth.NeedSignedIn, ScopeNone, "preferences",
		"Save the caller's language and theme", (*Service).updatePreferences),
}
