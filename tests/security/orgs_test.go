package security_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/tests/harness"
)

func init() {
	attacks = append(attacks, attack{"class 7: one stored instance organization for the CLI, the console and the gateway", instanceOrganization})
}

// instanceOrganization creates a tenant, back-dates it before the Default organization (as a
// restored or skewed-clock one may be), then adds an admin and a route without naming an
// organization: both belong to the instance organization, everywhere.
func instanceOrganization(t *testing.T, s *suite) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	run := func(stdin string, args ...string) string {
		r, err := harness.CLI(ctx, s.bin, dir, stdin, args...)
		if err != nil || r.Code != 0 {
			t.Fatalf("keygate %s: exit %d %v %s", strings.Join(args, " "), r.Code, err, r.Stderr)
		}
		return r.Stdout
	}
	var list struct{ Orgs []struct{ ID, Name string } }
	json.Unmarshal([]byte(run("", "orgs", "list", "--json")), &list)
	if len(list.Orgs) != 1 {
		t.Fatalf("orgs %v", list.Orgs)
	}
	def := list.Orgs[0].ID
	var tenant struct{ ID string }
	json.Unmarshal([]byte(run("", "orgs", "create", "Tenant", "--json")), &tenant)
	db, err := sql.Open("sqlite3", store.URI(filepath.Join(dir, "keygate.db"), map[string][]string{"_busy_timeout": {"5000"}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE orgs SET created_at = 0 WHERE id = ?`, tenant.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()

	run("boss-Password-8u7y6t\n", "users", "add", "--email", "boss@example.com", "--role", "admin")
	in := func(org string) bool {
		return strings.Contains(run("", "members", "list", "--org", org, "--json"), "boss@example.com")
	}
	if !in(def) || in(tenant.ID) {
		t.Errorf("users add without --org: member of the instance organization %v, of the back-dated tenant %v", in(def), in(tenant.ID))
	}
	list.Orgs = nil
	json.Unmarshal([]byte(run("", "orgs", "list", "--json")), &list)
	if len(list.Orgs) != 2 || list.Orgs[0].ID != def {
		t.Errorf("orgs list does not start with the instance organization: %v", list.Orgs)
	}
	// The console agrees: the new admin is admin of the instance (gateway settings are the
	// instance organization's), and its organization list starts with it.
	srv, err := harness.Start(s.bin, dir, harness.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c := testutil.NewClient(nil, srv.ConsoleURL)
	c.HTTP = client(s.ip())
	if err := c.SignIn(ctx, "boss@example.com", "boss-Password-8u7y6t"); err != nil {
		t.Fatal(err)
	}
	var gs map[string]any
	if err := c.Send(ctx, "GET", "/api/v1/gateway/settings", nil, &gs); err != nil {
		t.Errorf("the instance admin cannot read the gateway settings: %v", err)
	}
	if err := c.Send(ctx, "PUT", "/api/v1/gateway/settings", gs, nil); err != nil {
		t.Errorf("the instance admin cannot change the gateway settings: %v", err)
	}
	var me struct {
		Orgs []struct{ ID string } `json:"orgs"`
	}
	if err := c.Send(ctx, "GET", "/api/v1/me", nil, &me); err != nil || len(me.Orgs) == 0 || me.Orgs[0].ID != def {
		t.Errorf("GET /api/v1/me orgs %v %v, want the instance organization first", me.Orgs, err)
	}
}
