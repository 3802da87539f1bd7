package console_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/listen"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/usage"
	"github.com/keygate/keygate/backend/webhooks"
)

// auditedChange is an operation that changes state and records audit entries of actions
// (the first action's entry unless more are named). setup prepares what it acts on and returns
// its request; change reports whether its change is in the store.
type auditedChange struct {
	name    string
	action  string
	actions []string
	setup   func(t *testing.T, srv *testutil.Server, admin *testutil.Client) request
	change  func(t *testing.T, srv *testutil.Server) bool
	// actor, when set, is the address whose entries are counted (the admin's sign-in is an
	// entry too); noAdmin leaves the store without the admin (and admin nil).
	actor   string
	noAdmin bool
}

// request is an operation's request, sent by client (the admin when nil); or, with op set, a
// command-line operation called with in.
type request struct {
	client       *testutil.Client
	method, path string
	body         any
	op           string
	in           any
}

// send makes the request and returns its status.
func (r request) send(t *testing.T, srv *testutil.Server) int {
	t.Helper()
	if r.op == "" {
		resp, b := r.client.Do(r.method, r.path, r.body)
		if resp.StatusCode >= 300 {
			t.Logf("%s %s: %d %s", r.method, r.path, resp.StatusCode, b)
		}
		return resp.StatusCode
	}
	_, err := console.Do[any](context.Background(), srv.Console.CLI("en"), r.op, r.in)
	var pe *console.ProblemError
	switch {
	case err == nil:
		return 200
	case errors.As(err, &pe):
		t.Logf("%s: %v", r.op, err)
		return pe.Problem.Status
	default:
		t.Fatalf("%s: %v", r.op, err)
		return 0
	}
}

// TestChangesCommitWithTheirAuditEntries: each audited change and its audit entry are one
// transaction. With the audit table away, the operation fails (500) and its change is not
// there (it used to be made, its entry lost and logged); with the table back, the same request
// makes the change and its entry, exactly once. Key changes and imports are held to the same
// in TestKeyChangeCommitsWithItsEvent (webhooks) and TestImportCommitsWithItsAuditEntry.
func TestChangesCommitWithTheirAuditEntries(t *testing.T) {
	ctx := context.Background()
	for _, tc := range auditedChanges() {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.NewServer(t)
			var admin *testutil.Client
			if !tc.noAdmin {
				srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
				admin = srv.Login(t, "admin@example.com")
			}
			r := tc.setup(t, srv, admin)
			if r.client == nil {
				r.client = admin
			}
			if tc.change(t, srv) {
				t.Fatal("the change is there before the operation")
			}
			rename := func(from, to string) {
				t.Helper()
				if _, err := srv.Store.Write.Exec(`ALTER TABLE ` + from + ` RENAME TO ` + to); err != nil {
					t.Fatal(err)
				}
			}
			rename("audit_log", "audit_log_away")
			status := r.send(t, srv)
			rename("audit_log_away", "audit_log")
			if status != 500 {
				t.Fatalf("%s without its audit entry: %d, want 500", tc.name, status)
			}
			if tc.change(t, srv) {
				t.Fatalf("%s was made while its audit entry was not written", tc.name)
			}
			if status := r.send(t, srv); status >= 300 {
				t.Fatalf("%s: %d", tc.name, status)
			}
			if !tc.change(t, srv) {
				t.Fatalf("%s made no change", tc.name)
			}
			actions := tc.actions
			if actions == nil {
				actions = []string{tc.action}
			}
			for _, action := range actions {
				entries, err := srv.Audit.List(ctx, audit.Filter{Action: action, Actor: tc.actor})
				if err != nil || len(entries) != 1 || entries[0].Actor == "" {
					t.Fatalf("%s entries: %+v %v, want one", action, entries, err)
				}
			}
		})
	}
}

func auditedChanges() []auditedChange {
	ctx := context.Background()
	var identityKeys, port int
	addRoute := func(t *testing.T, srv *testutil.Server, prefix string) string {
		t.Helper()
		r, err := srv.Routes.Add(ctx, routes.Params{Prefix: prefix, Upstream: "http://127.0.0.1:9"})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	routeAt := func(prefix, upstream string) func(*testing.T, *testutil.Server) bool {
		return func(t *testing.T, srv *testutil.Server) bool {
			r, err := srv.Routes.GetByPrefix(ctx, prefix)
			return err == nil && (upstream == "" || r.Upstream == upstream)
		}
	}
	return []auditedChange{
		{name: "add route", action: audit.RouteAdd,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				return request{method: "POST", path: "/api/v1/routes", body: map[string]any{"prefix": "/added", "upstream": "http://127.0.0.1:9"}}
			},
			change: routeAt("/added", "")},
		{name: "update route", action: audit.RouteUpdate,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				id := addRoute(t, srv, "/updated")
				return request{method: "PUT", path: "/api/v1/routes/" + id, body: map[string]any{"prefix": "/updated", "upstream": "http://127.0.0.1:10"}}
			},
			change: routeAt("/updated", "http://127.0.0.1:10")},
		{name: "remove route", action: audit.RouteRemove,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				return request{method: "DELETE", path: "/api/v1/routes/" + addRoute(t, srv, "/removed")}
			},
			change: func(t *testing.T, srv *testutil.Server) bool { return !routeAt("/removed", "")(t, srv) }},
		{name: "create organization", action: audit.OrgCreate,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				return request{method: "POST", path: "/api/v1/orgs", body: map[string]any{"name": "Made"}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				os, err := srv.Orgs.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range os {
					if o.Name == "Made" {
						if m, err := srv.Auth.Members(ctx, o.ID); err != nil || len(m) != 1 || m[0].Role != auth.RoleAdmin {
							t.Fatalf("the new organization's members: %+v %v, want its creator as admin", m, err)
						}
						return true
					}
				}
				return false
			}},
		{name: "rename organization", action: audit.OrgRename,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				return request{method: "PATCH", path: "/api/v1/orgs/" + srv.Org.ID, body: map[string]any{"name": "Renamed"}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				o, err := srv.Orgs.Get(ctx, srv.Org.ID)
				return err == nil && o.Name == "Renamed"
			}},
		{name: "add webhook", action: audit.WebhookAdd,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				return request{method: "POST", path: "/api/v1/webhooks?org=" + srv.Org.ID, body: map[string]any{"url": "https://hooks.example.com/added"}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				es, err := srv.Webhooks.List(ctx, srv.Org.ID)
				return err == nil && len(es) == 1
			}},
		{name: "remove webhook", action: audit.WebhookRemove,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				e := addEndpoint(t, srv)
				return request{method: "DELETE", path: "/api/v1/webhooks/" + e.ID + "?org=" + srv.Org.ID}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				es, err := srv.Webhooks.List(ctx, srv.Org.ID)
				return err == nil && len(es) == 0
			}},
		{name: "retry webhook delivery", action: audit.WebhookRetry,
			setup: func(t *testing.T, srv *testutil.Server, admin *testutil.Client) request {
				addEndpoint(t, srv)
				if st := admin.Call("POST", "/api/v1/keys?org="+srv.Org.ID, map[string]any{"name": "evented"}, nil); st != 201 {
					t.Fatalf("create key: %d", st)
				}
				if _, err := srv.Store.Write.Exec(`UPDATE webhook_deliveries SET status = 'failed'`); err != nil {
					t.Fatal(err)
				}
				return request{method: "POST", path: "/api/v1/webhook-deliveries/" + delivery(t, srv).ID + "/retry?org=" + srv.Org.ID}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				return delivery(t, srv).Status == webhooks.StatusPending
			}},
		{name: "rotate identity key", action: audit.IdentityRotate,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				identityKeys = count(t, srv, `SELECT count(*) FROM identity_keys`)
				return request{method: "POST", path: "/api/v1/identity/rotate", body: map[string]any{}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				return count(t, srv, `SELECT count(*) FROM identity_keys`) > identityKeys
			}},
		{name: "gateway settings", action: audit.SettingsUpdate,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				return request{method: "PUT", path: "/api/v1/gateway/settings", body: map[string]any{
					"allowedOrigins": []string{"https://app.example.com"}, "upstreamTimeoutSeconds": 30, "usageRetentionDays": 30}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				st, err := srv.Routes.Settings(ctx)
				if err != nil {
					t.Fatal(err)
				}
				days, err := usage.LoadRetention(ctx, srv.Store)
				if err != nil {
					t.Fatal(err)
				}
				if changed := len(st.AllowedOrigins) == 1; changed != (days == 30) {
					t.Fatalf("half the settings changed: %+v, usage kept %d days", st, days)
				}
				return len(st.AllowedOrigins) == 1
			}},
		{name: "ports", action: audit.SettingsUpdate,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				port = freePort(t)
				return request{method: "PUT", path: "/api/v1/gateway/ports", body: map[string]any{"gatewayPort": port}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				p, err := listen.SettingPort(ctx, srv.Store, listen.Gateway)
				if err != nil {
					t.Fatal(err)
				}
				return p == port
			}},
		{name: "sign in", action: audit.Login, actor: "bob@example.com",
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				srv.AddUser(t, "bob@example.com", auth.RoleDeveloper, srv.Org.ID)
				return request{client: srv.Client(t), method: "POST", path: "/api/v1/session",
					body: map[string]any{"email": "bob@example.com", "password": testutil.Password}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool { return sessions(t, srv, "bob@example.com") == 1 }},
		{name: "sign out", action: audit.Logout, actor: "bob@example.com",
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				srv.AddUser(t, "bob@example.com", auth.RoleDeveloper, srv.Org.ID)
				return request{client: srv.Login(t, "bob@example.com"), method: "DELETE", path: "/api/v1/session"}
			},
			change: func(t *testing.T, srv *testutil.Server) bool { return sessions(t, srv, "bob@example.com") == 0 }},
		{name: "complete setup", actions: []string{audit.SetupComplete, audit.Login}, noAdmin: true,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				link, err := srv.Console.SetupLink(ctx, "http://127.0.0.1:8788")
				if err != nil {
					t.Fatal(err)
				}
				return request{client: srv.Client(t), method: "POST", path: "/api/v1/setup", body: map[string]any{
					"token": strings.TrimPrefix(link, "http://127.0.0.1:8788/setup#token="), "email": "first@example.com",
					"name": "First", "password": testutil.Password}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				_, err := srv.Auth.UserByEmail(ctx, "first@example.com")
				return err == nil
			}},
		{name: "invite member", action: audit.MemberInvite,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				return request{method: "POST", path: "/api/v1/members?org=" + srv.Org.ID,
					body: map[string]any{"email": "bob@example.com", "role": "developer"}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				return count(t, srv, `SELECT count(*) FROM invitations`) == 1
			}},
		{name: "create member", actions: []string{audit.UserCreate, audit.MemberAdd},
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				return request{method: "POST", path: "/api/v1/members?org=" + srv.Org.ID,
					body: map[string]any{"email": "bob@example.com", "role": "developer", "password": testutil.Password}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				_, err := srv.Auth.UserByEmail(ctx, "bob@example.com")
				return err == nil
			}},
		{name: "accept invitation", action: audit.InvitationAccept,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				c := invited(t, srv)
				return request{client: c, method: "POST", path: "/api/v1/invitations/" + invitationID(t, srv) + "/accept"}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				return count(t, srv, `SELECT count(*) FROM invitations`) == 0 && len(members(t, srv)) == 2
			}},
		{name: "decline invitation", action: audit.InvitationDecline,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				c := invited(t, srv)
				return request{client: c, method: "POST", path: "/api/v1/invitations/" + invitationID(t, srv) + "/decline"}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				return count(t, srv, `SELECT count(*) FROM invitations`) == 0
			}},
		{name: "change member role", action: audit.MemberRole,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				u := srv.AddUser(t, "bob@example.com", auth.RoleDeveloper, srv.Org.ID)
				return request{method: "PATCH", path: "/api/v1/members/" + u.ID + "?org=" + srv.Org.ID, body: map[string]any{"role": "member"}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				m, err := srv.Auth.Member(ctx, srv.Org.ID, bob(t, srv).ID)
				return err == nil && m.Role == auth.RoleMember
			}},
		{name: "remove member", action: audit.MemberRemove,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				u := srv.AddUser(t, "bob@example.com", auth.RoleDeveloper, srv.Org.ID)
				return request{method: "DELETE", path: "/api/v1/members/" + u.ID + "?org=" + srv.Org.ID}
			},
			change: func(t *testing.T, srv *testutil.Server) bool { return len(members(t, srv)) == 1 }},
		{name: "change password", action: audit.PasswordChange,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				return request{method: "PUT", path: "/api/v1/me/password",
					body: map[string]any{"currentPassword": testutil.Password, "newPassword": "a new password of the admin"}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				_, _, _, err := srv.Auth.Login(ctx, "admin@example.com", "a new password of the admin", "192.0.2.1", "")
				return err == nil
			}},
		{name: "remove user", action: audit.UserRemove,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				srv.AddUser(t, "bob@example.com", auth.RoleDeveloper, srv.Org.ID)
				return request{op: "RemoveUser", in: console.UserInput{User: "bob@example.com"}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				_, err := srv.Auth.UserByEmail(ctx, "bob@example.com")
				return errors.Is(err, auth.ErrUserNotFound)
			}},
		{name: "set user password", action: audit.UserPassword,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				srv.AddUser(t, "bob@example.com", auth.RoleDeveloper, srv.Org.ID)
				return request{op: "SetUserPassword", in: console.UserPasswordInput{User: "bob@example.com", Password: "a new password of bob"}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				_, _, _, err := srv.Auth.Login(ctx, "bob@example.com", "a new password of bob", "192.0.2.1", "")
				return err == nil
			}},
		{name: "issue password reset", action: audit.PasswordResetIssue,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				u := srv.AddUser(t, "bob@example.com", auth.RoleDeveloper, srv.Org.ID)
				return request{method: "POST", path: "/api/v1/members/" + u.ID + "/password-reset?org=" + srv.Org.ID}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				return count(t, srv, `SELECT count(*) FROM password_resets`) == 1
			}},
		{name: "reset password", action: audit.PasswordReset,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) request {
				u := srv.AddUser(t, "bob@example.com", auth.RoleDeveloper, srv.Org.ID)
				r, err := srv.Auth.NewPasswordReset(ctx, auth.Principal{Local: true}, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				return request{client: srv.Client(t), method: "POST", path: "/api/v1/password-reset",
					body: map[string]any{"token": r.Token, "password": "a new password of bob"}}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				_, _, _, err := srv.Auth.Login(ctx, "bob@example.com", "a new password of bob", "192.0.2.1", "")
				return err == nil
			}},
	}
}

func addEndpoint(t *testing.T, srv *testutil.Server) webhooks.CreatedEndpoint {
	t.Helper()
	e, err := srv.Webhooks.Add(context.Background(), webhooks.AddParams{OrgID: srv.Org.ID, URL: "https://hooks.example.com/x", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// delivery is the one webhook delivery of the server's organization.
func delivery(t *testing.T, srv *testutil.Server) webhooks.Delivery {
	t.Helper()
	p, err := srv.Webhooks.Deliveries(context.Background(), webhooks.DeliveryFilter{OrgID: srv.Org.ID})
	if err != nil || len(p.Deliveries) != 1 {
		t.Fatalf("deliveries: %+v %v, want one", p, err)
	}
	return p.Deliveries[0]
}

func count(t *testing.T, srv *testutil.Server, query string) int {
	t.Helper()
	var n int
	if err := srv.Store.Read.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func members(t *testing.T, srv *testutil.Server) []auth.Member {
	t.Helper()
	ms, err := srv.Auth.Members(context.Background(), srv.Org.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func bob(t *testing.T, srv *testutil.Server) auth.User {
	t.Helper()
	u, err := srv.Auth.UserByEmail(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// invited adds bob, with no membership, invites him to the server's organization as a
// developer and signs him in.
func invited(t *testing.T, srv *testutil.Server) *testutil.Client {
	t.Helper()
	srv.AddUser(t, "bob@example.com", "", "")
	if _, err := srv.Auth.Invite(context.Background(), srv.Org.ID, "bob@example.com", auth.RoleDeveloper, "test"); err != nil {
		t.Fatal(err)
	}
	return srv.Login(t, "bob@example.com")
}

func invitationID(t *testing.T, srv *testutil.Server) string {
	t.Helper()
	invs, err := srv.Auth.Invitations(context.Background(), bob(t, srv).ID)
	if err != nil || len(invs) != 1 {
		t.Fatalf("invitations: %+v %v", invs, err)
	}
	return invs[0].ID
}

// TestHandoutsAreRecordedFirst: an operation that changes nothing but hands out data (an
// export of keys, a backup) writes its entry before the data leaves. With the audit table
// away it fails (500) and hands out nothing (a backup's temporary copy is gone); with the
// table back it answers and its entry is there once.
func TestHandoutsAreRecordedFirst(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, action, path string
		sqliteOnly         bool
	}{
		{"export keys", audit.KeyExport, "/api/v1/export/keys", false},
		{"backup", audit.StoreBackup, "/api/v1/backup", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sqliteOnly && testutil.Postgres() {
				t.Skip("SQLite only")
			}
			srv := testutil.NewServer(t)
			srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
			admin := srv.Login(t, "admin@example.com")
			if _, err := admin.CreateKey(ctx, "handed out"); err != nil {
				t.Fatal(err)
			}
			rename := func(from, to string) {
				t.Helper()
				if _, err := srv.Store.Write.Exec(`ALTER TABLE ` + from + ` RENAME TO ` + to); err != nil {
					t.Fatal(err)
				}
			}
			rename("audit_log", "audit_log_away")
			resp, body := admin.Do("GET", tc.path, nil)
			rename("audit_log_away", "audit_log")
			if resp.StatusCode != 500 || strings.Contains(string(body), "handed out") {
				t.Fatalf("%s without its audit entry: %d %.200s, want 500 and nothing handed out", tc.name, resp.StatusCode, body)
			}
			if tc.sqliteOnly {
				if left, _ := filepath.Glob(filepath.Join(filepath.Dir(srv.Store.Path), ".backup-*")); len(left) != 0 {
					t.Fatalf("a failed backup left %v", left)
				}
			}
			if resp, body := admin.Do("GET", tc.path, nil); resp.StatusCode != 200 {
				t.Fatalf("%s: %d %.200s", tc.name, resp.StatusCode, body)
			}
			entries, err := srv.Audit.List(ctx, audit.Filter{Action: tc.action})
			if err != nil || len(entries) != 1 {
				t.Fatalf("%s entries: %+v %v, want one", tc.action, entries, err)
			}
		})
	}
}

// sessions counts the sessions of the account with that address.
func sessions(t *testing.T, srv *testutil.Server, email string) int {
	t.Helper()
	u, err := srv.Auth.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := srv.Store.Read.QueryRow(`SELECT count(*) FROM sessions WHERE user_id = ?`, u.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
