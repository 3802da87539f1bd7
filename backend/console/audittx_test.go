package console_test

import (
	"context"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/webhooks"
)

// auditedChange is an operation that changes state and records an audit entry of action.
// setup prepares what it acts on and returns its request; changed reports whether its change
// is in the store.
type auditedChange struct {
	name   string
	action string
	setup  func(t *testing.T, srv *testutil.Server, admin *testutil.Client) (method, path string, body any)
	change func(t *testing.T, srv *testutil.Server) bool
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
			srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
			admin := srv.Login(t, "admin@example.com")
			method, path, body := tc.setup(t, srv, admin)
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
			p := admin.Problem(method, path, body)
			rename("audit_log_away", "audit_log")
			if p.Status != 500 {
				t.Fatalf("%s without its audit entry: %+v, want 500", tc.name, p)
			}
			if tc.change(t, srv) {
				t.Fatalf("%s was made while its audit entry was not written", tc.name)
			}
			if resp, b := admin.Do(method, path, body); resp.StatusCode >= 300 {
				t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, b)
			}
			if !tc.change(t, srv) {
				t.Fatalf("%s made no change", tc.name)
			}
			entries, err := srv.Audit.List(ctx, audit.Filter{Action: tc.action})
			if err != nil || len(entries) != 1 || entries[0].Actor == "" {
				t.Fatalf("%s entries: %+v %v, want one", tc.action, entries, err)
			}
		})
	}
}

func auditedChanges() []auditedChange {
	ctx := context.Background()
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
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) (string, string, any) {
				return "POST", "/api/v1/routes", map[string]any{"prefix": "/added", "upstream": "http://127.0.0.1:9"}
			},
			change: routeAt("/added", "")},
		{name: "update route", action: audit.RouteUpdate,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) (string, string, any) {
				id := addRoute(t, srv, "/updated")
				return "PUT", "/api/v1/routes/" + id, map[string]any{"prefix": "/updated", "upstream": "http://127.0.0.1:10"}
			},
			change: routeAt("/updated", "http://127.0.0.1:10")},
		{name: "remove route", action: audit.RouteRemove,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) (string, string, any) {
				return "DELETE", "/api/v1/routes/" + addRoute(t, srv, "/removed"), nil
			},
			change: func(t *testing.T, srv *testutil.Server) bool { return !routeAt("/removed", "")(t, srv) }},
		{name: "create organization", action: audit.OrgCreate,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) (string, string, any) {
				return "POST", "/api/v1/orgs", map[string]any{"name": "Made"}
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
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) (string, string, any) {
				return "PATCH", "/api/v1/orgs/" + srv.Org.ID, map[string]any{"name": "Renamed"}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				o, err := srv.Orgs.Get(ctx, srv.Org.ID)
				return err == nil && o.Name == "Renamed"
			}},
		{name: "add webhook", action: audit.WebhookAdd,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) (string, string, any) {
				return "POST", "/api/v1/webhooks?org=" + srv.Org.ID, map[string]any{"url": "https://hooks.example.com/added"}
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				es, err := srv.Webhooks.List(ctx, srv.Org.ID)
				return err == nil && len(es) == 1
			}},
		{name: "remove webhook", action: audit.WebhookRemove,
			setup: func(t *testing.T, srv *testutil.Server, _ *testutil.Client) (string, string, any) {
				e := addEndpoint(t, srv)
				return "DELETE", "/api/v1/webhooks/" + e.ID + "?org=" + srv.Org.ID, nil
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				es, err := srv.Webhooks.List(ctx, srv.Org.ID)
				return err == nil && len(es) == 0
			}},
		{name: "retry webhook delivery", action: audit.WebhookRetry,
			setup: func(t *testing.T, srv *testutil.Server, admin *testutil.Client) (string, string, any) {
				addEndpoint(t, srv)
				if st := admin.Call("POST", "/api/v1/keys?org="+srv.Org.ID, map[string]any{"name": "evented"}, nil); st != 201 {
					t.Fatalf("create key: %d", st)
				}
				if _, err := srv.Store.Write.Exec(`UPDATE webhook_deliveries SET status = 'failed'`); err != nil {
					t.Fatal(err)
				}
				return "POST", "/api/v1/webhook-deliveries/" + delivery(t, srv).ID + "/retry?org=" + srv.Org.ID, nil
			},
			change: func(t *testing.T, srv *testutil.Server) bool {
				return delivery(t, srv).Status == webhooks.StatusPending
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
