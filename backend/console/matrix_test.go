package console_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/testutil"
)

func TestOperationTable(t *testing.T) {
	ops := console.Operations()
	if err := console.CheckTable(ops); err != nil {
		t.Fatal(err)
	}
	if len(ops) < 30 {
		t.Fatalf("only %d operations", len(ops))
	}
	for _, o := range ops {
		if o.Summary == "" || o.Tag == "" {
			t.Errorf("%s: no summary or tag", o.Name)
		}
		for _, f := range o.Fields() {
			if f.In == "path" && !strings.Contains(o.Path, "{"+f.Name+"}") {
				t.Errorf("%s: field %s says path but the path lacks it", o.Name, f.Name)
			}
		}
	}
}

// policy is the "who may do what", written out independently of the table: the least
// a caller needs for each operation, in organization A (the instance organization).
var policy = map[string]string{
	"GetMe": "signedIn", "AcceptInvitation": "signedIn", "DeclineInvitation": "signedIn", "Login": "public", "Logout": "signedIn", "GetSetup": "public", "CompleteSetup": "public",
	"ListOrgs": "signedIn", "CreateOrg": "adminAny", "GetOrg": "member", "RenameOrg": "admin",
	"ListKeys": "member", "CreateKey": "developer", "GetKey": "member", "UpdateKey": "developer",
	"DisableKey": "developer", "EnableKey": "developer",
	"RevokeKey": "developer", "RollKey": "developer", "ImportKeys": "admin", "ExportKeys": "admin",
	"ListRoutes": "member", "AddRoute": "admin", "UpdateRoute": "admin", "RemoveRoute": "admin", "ListScopes": "member", "ListIdentityKeys": "member", "RotateIdentityKey": "admin", "GetLearnedDocument": "member", "AdoptLearnedDocument": "admin",
	"GetGatewaySettings": "member", "UpdateGatewaySettings": "admin", "GetGatewayStatus": "signedIn",
	"GetPorts": "member", "UpdatePorts": "admin",
	"StartGateway": "desktop", "StopGateway": "desktop", "ListRequests": "member", "ListNodes": "member",
	"GetUsage": "member", "GetUsageTop": "member",
	"ListMembers": "member", "AddMember": "admin", "ChangeMemberRole": "admin", "RemoveMember": "admin",
	"ListWebhooks": "member", "AddWebhook": "admin", "RemoveWebhook": "admin", "ListWebhookDeliveries": "member", "RetryWebhookDelivery": "admin",
	"ListAudit": "member", "DownloadBackup": "admin", "GetCatalog": "public", "GetPreferences": "signedIn", "UpdatePreferences": "signedIn",
	"ChangePassword": "signedIn", "CreatePasswordReset": "admin", "ResetPassword": "public",
}

type caller struct {
	name  string
	email string // "" = anonymous
	rank  int    // in org A: 0 none, 1 member, 2 developer, 3 admin
	admin bool   // admin of some organization
}

var callers = []caller{
	{name: "anonymous"},
	{name: "no membership", email: "none@example.com"},
	{name: "admin of another organization", email: "other@example.com", admin: true},
	{name: "member", email: "member@example.com", rank: 1},
	{name: "developer", email: "dev@example.com", rank: 2},
	{name: "admin", email: "admin@example.com", rank: 3, admin: true},
}

func allowed(need string, c caller) bool {
	switch need {
	case "public":
		return true
	case "signedIn":
		return c.email != ""
	case "adminAny":
		return c.admin
	case "member":
		return c.rank >= 1
	case "developer":
		return c.rank >= 2
	case "admin":
		return c.rank >= 3
	}
	return false
}

func TestRoleMatrix(t *testing.T) {
	srv := testutil.NewServer(t)
	ctx := context.Background()
	a := srv.Org.ID
	b, err := srv.Orgs.Create(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	srv.AddUser(t, "none@example.com", "", "")
	srv.AddUser(t, "other@example.com", auth.RoleAdmin, b.ID)
	srv.AddUser(t, "member@example.com", auth.RoleMember, a)
	srv.AddUser(t, "dev@example.com", auth.RoleDeveloper, a)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, a)
	target := srv.AddUser(t, "target@example.com", auth.RoleMember, a)
	k, err := srv.Keys.Create(ctx, keys.CreateParams{OrgID: a, Name: "fixture", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := srv.Routes.Add(ctx, routes.Params{Prefix: "/fixture", Upstream: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	q := "?org=" + url.QueryEscape(a)
	requests := map[string]struct {
		method, path string
		body         any
	}{
		"GetMe":                 {"GET", "/api/v1/me", nil},
		"AcceptInvitation":      {"POST", "/api/v1/invitations/inv_none/accept", nil},
		"DeclineInvitation":     {"POST", "/api/v1/invitations/inv_none/decline", nil},
		"Login":                 {"POST", "/api/v1/session", map[string]string{"email": "admin@example.com", "password": testutil.Password}},
		"Logout":                {"DELETE", "/api/v1/session", nil},
		"GetSetup":              {"GET", "/api/v1/setup", nil},
		"CompleteSetup":         {"POST", "/api/v1/setup", map[string]string{"token": "nope", "email": "x@example.com", "password": testutil.Password}},
		"ListOrgs":              {"GET", "/api/v1/orgs", nil},
		"CreateOrg":             {"POST", "/api/v1/orgs", map[string]string{"name": "Made in test"}},
		"GetOrg":                {"GET", "/api/v1/orgs/" + a, nil},
		"RenameOrg":             {"PATCH", "/api/v1/orgs/" + a, map[string]string{"name": "Default"}},
		"ListKeys":              {"GET", "/api/v1/keys" + q, nil},
		"CreateKey":             {"POST", "/api/v1/keys", map[string]string{"org": a, "name": "made in test"}},
		"GetKey":                {"GET", "/api/v1/keys/" + k.ID + q, nil},
		"UpdateKey":             {"PATCH", "/api/v1/keys/" + k.ID, map[string]string{"org": a, "name": "renamed"}},
		"DisableKey":            {"POST", "/api/v1/keys/" + k.ID + "/disable", map[string]string{"org": a}},
		"EnableKey":             {"POST", "/api/v1/keys/" + k.ID + "/enable", map[string]string{"org": a}},
		"RevokeKey":             {"POST", "/api/v1/keys/" + k.ID + "/revoke", map[string]string{"org": a}},
		"RollKey":               {"POST", "/api/v1/keys/" + k.ID + "/roll", map[string]string{"org": a}},
		"ImportKeys":            {"POST", "/api/v1/import/keys", map[string]any{"org": a, "file": "[]"}},
		"ExportKeys":            {"GET", "/api/v1/export/keys" + q, nil},
		"ListRoutes":            {"GET", "/api/v1/routes", nil},
		"ListScopes":            {"GET", "/api/v1/scopes" + q, nil},
		"ListIdentityKeys":      {"GET", "/api/v1/identity/keys", nil},
		"RotateIdentityKey":     {"POST", "/api/v1/identity/rotate", nil},
		"AddRoute":              {"POST", "/api/v1/routes", map[string]string{"prefix": "/added", "upstream": "http://127.0.0.1:9"}},
		"UpdateRoute":           {"PUT", "/api/v1/routes/" + rt.ID, map[string]string{"prefix": "/fixture", "upstream": "http://127.0.0.1:10"}},
		"RemoveRoute":           {"DELETE", "/api/v1/routes/" + rt.ID, nil},
		"GetLearnedDocument":    {"GET", "/api/v1/routes/" + rt.ID + "/learned", nil},
		"AdoptLearnedDocument":  {"POST", "/api/v1/routes/" + rt.ID + "/learned/adopt", nil},
		"GetGatewaySettings":    {"GET", "/api/v1/gateway/settings", nil},
		"UpdateGatewaySettings": {"PUT", "/api/v1/gateway/settings", map[string]any{"allowedOrigins": []string{}, "upstreamTimeoutSeconds": 30}},
		"GetGatewayStatus":      {"GET", "/api/v1/gateway/status", nil},
		"GetPorts":              {"GET", "/api/v1/gateway/ports", nil},
		"UpdatePorts":           {"PUT", "/api/v1/gateway/ports", map[string]any{"gatewayPort": 0}},
		"StartGateway":          {"POST", "/api/v1/gateway/start", nil},
		"StopGateway":           {"POST", "/api/v1/gateway/stop", nil},
		"ListRequests":          {"GET", "/api/v1/requests" + q, nil},
		"ListNodes":             {"GET", "/api/v1/nodes", nil},
		"GetUsage":              {"GET", "/api/v1/usage" + q, nil},
		"GetUsageTop":           {"GET", "/api/v1/usage/top" + q + "&by=key", nil},
		"ListMembers":           {"GET", "/api/v1/members" + q, nil},
		"AddMember":             {"POST", "/api/v1/members", map[string]string{"org": a, "email": "new@example.com", "role": "member", "password": testutil.Password}},
		"ChangeMemberRole":      {"PATCH", "/api/v1/members/" + target.ID, map[string]string{"org": a, "role": "developer"}},
		"RemoveMember":          {"DELETE", "/api/v1/members/" + target.ID + q, nil},
		"ListAudit":             {"GET", "/api/v1/audit" + q, nil},
		"DownloadBackup":        {"GET", "/api/v1/backup", nil},
		"ListWebhooks":          {"GET", "/api/v1/webhooks" + q, nil},
		"AddWebhook":            {"POST", "/api/v1/webhooks", map[string]string{"org": a, "url": "http://127.0.0.1:9/hook"}},
		"RemoveWebhook":         {"DELETE", "/api/v1/webhooks/wh_none" + q, nil},
		"ListWebhookDeliveries": {"GET", "/api/v1/webhook-deliveries" + q, nil},
		"RetryWebhookDelivery":  {"POST", "/api/v1/webhook-deliveries/msg_none/retry", map[string]string{"org": a}},
		"GetCatalog":            {"GET", "/api/v1/i18n/de", nil},
		"GetPreferences":        {"GET", "/api/v1/preferences", nil},
		"UpdatePreferences":     {"PUT", "/api/v1/preferences", map[string]string{"theme": "dark"}},
		"ChangePassword":        {"PUT", "/api/v1/me/password", map[string]string{"currentPassword": "not the password", "newPassword": "short"}},
		"CreatePasswordReset":   {"POST", "/api/v1/members/" + target.ID + "/password-reset", map[string]string{"org": a}},
		"ResetPassword":         {"POST", "/api/v1/password-reset", map[string]string{"token": "nope", "password": "short"}},
	}
	for _, o := range console.Operations() {
		if o.Mode == console.ModeCLI {
			continue // no HTTP route: TestCommandLineOperations
		}
		need, ok := policy[o.Name]
		if !ok {
			t.Errorf("%s: no policy in this test", o.Name)
			continue
		}
		req, ok := requests[o.Name]
		if !ok {
			t.Errorf("%s: no request in this test", o.Name)
			continue
		}
		if req.method != o.Method {
			t.Errorf("%s: test uses %s, table says %s", o.Name, req.method, o.Method)
		}
		for _, c := range callers {
			t.Run(o.Name+"/"+c.name, func(t *testing.T) {
				cl := srv.Client(t)
				if c.email != "" {
					cl = srv.Login(t, c.email)
				}
				resp, body := cl.Do(req.method, req.path, req.body)
				code := ""
				if resp.StatusCode >= 400 {
					p := cl.Problem(req.method, req.path, req.body)
					code = p.Code
				}
				switch {
				case need == "desktop":
					if code != "UNSUPPORTED" {
						t.Fatalf("serve mode: status %d code %q, want UNSUPPORTED; %s", resp.StatusCode, code, body)
					}
				case allowed(need, c):
					if code == "UNAUTHENTICATED" || code == "FORBIDDEN" || code == "CSRF" {
						t.Fatalf("%s may %s but got %d %s: %s", c.name, o.Name, resp.StatusCode, code, body)
					}
				case c.email == "":
					if resp.StatusCode != 401 || code != "UNAUTHENTICATED" {
						t.Fatalf("anonymous %s: %d %s, want 401 UNAUTHENTICATED", o.Name, resp.StatusCode, code)
					}
				default:
					if resp.StatusCode != 403 || code != "FORBIDDEN" {
						t.Fatalf("%s must not %s: got %d %s: %s", c.name, o.Name, resp.StatusCode, code, body)
					}
				}
			})
		}
	}
}
