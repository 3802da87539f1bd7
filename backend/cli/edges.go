package cli

// commandOf names the command that runs each console operation the command line offers; the
// parity test (parity_test.go at the repository root) checks it against the operation table
// and the source: every operation is here or in notOnCommandLine, and the command calls it.
var commandOf = map[string]string{
	"ListOrgs": "orgs list", "GetOrg": "orgs get", "CreateOrg": "orgs create", "RenameOrg": "orgs rename",
	"ListKeys": "keys list", "CreateKey": "keys create", "GetKey": "keys get", "UpdateKey": "keys update", "DisableKey": "keys disable", "EnableKey": "keys enable",
	"RevokeKey": "keys revoke", "RollKey": "keys roll", "ImportKeys": "keys import", "ExportKeys": "keys export",
	"GetLearnedDocument": "openapi infer", "AdoptLearnedDocument": "openapi adopt",
	"ListRoutes": "routes list", "AddRoute": "routes add", "UpdateRoute": "routes update", "RemoveRoute": "routes remove",
	"ListScopes": "routes scopes", "ListIdentityKeys": "identity list", "RotateIdentityKey": "identity rotate",
	"GetGatewaySettings": "gateway settings get", "UpdateGatewaySettings": "gateway settings set",
	"GetPorts": "gateway ports get", "UpdatePorts": "gateway ports set",
	"ListRequests": "requests list", "ListNodes": "nodes list",
	"GetUsage": "usage show", "GetUsageTop": "usage top",
	"ListMembers": "members list", "AddMember": "members add", "ChangeMemberRole": "members role", "RemoveMember": "members remove",
	"ListAudit":    "audit list",
	"ListWebhooks": "webhooks list", "AddWebhook": "webhooks add", "RemoveWebhook": "webhooks remove",
	"ListWebhookDeliveries": "webhooks deliveries", "RetryWebhookDelivery": "webhooks retry",
	"ListUsers": "users list", "RemoveUser": "users remove", "SetUserPassword": "users passwd",
}

// notOnCommandLine are the operations the command line deliberately lacks, and why.
var notOnCommandLine = map[string]string{
	"GetMe":               "a browser session's view of its user; the command line has no session",
	"AcceptInvitation":    "only the invited account, signed in, answers its invitation; the command line acts for no account",
	"DeclineInvitation":   "only the invited account, signed in, answers its invitation; the command line acts for no account",
	"Login":               "signs a browser in; the command line needs no login (the data directory is the boundary)",
	"Logout":              "ends a browser session; the command line has none",
	"GetSetup":            "the first-admin page's question; on the command line `users add --role admin` creates one",
	"CompleteSetup":       "the first-admin page's answer; on the command line `users add --role admin` creates one",
	"GetGatewayStatus":    "the status of a console's own gateway; a command runs no gateway (`keygate serve` prints its URL)",
	"StartGateway":        "the desktop window's in-process gateway; on the command line `keygate serve` runs it",
	"StopGateway":         "the desktop window's in-process gateway; `keygate serve` stops on SIGINT or SIGTERM",
	"GetCatalog":          "the frontend's message catalog; the command line reads the catalogs itself (KEYGATE_LANG)",
	"GetPreferences":      "a console user's language and theme; the command line follows KEYGATE_LANG and the OS locale",
	"UpdatePreferences":   "a console user's language and theme; the command line follows KEYGATE_LANG and the OS locale",
	"ChangePassword":      "a signed-in account changing its own password; on the command line `users passwd --email E` sets any account's",
	"CreatePasswordReset": "a link for a member to set a password in the browser; `users passwd --email E` sets it directly",
	"ResetPassword":       "the reset link's page in the browser; on the command line `users passwd --email E` sets the password directly",
	"DownloadBackup":      "the console's download of a backup; on the command line `keygate backup FILE` writes one directly from the data directory",
}

// OperationCommands returns, for the parity test, the command of each operation the command
// line runs and the reason for each it deliberately does not.
func OperationCommands() (commands, absent map[string]string) {
	commands, absent = map[string]string{}, map[string]string{}
	for k, v := range commandOf {
		commands[k] = v
	}
	for k, v := range notOnCommandLine {
		absent[k] = v
	}
	return commands, absent
}
