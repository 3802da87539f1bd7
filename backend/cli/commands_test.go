package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// ok runs a command that must succeed and decodes its --json output into v (if not nil).
func ok(t *testing.T, dir, stdin string, v any, args ...string) result {
	t.Helper()
	r := run(t, dir, stdin, args...)
	if r.code != 0 {
		t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, r.stdout)
		}
	}
	return r
}

func auditActions(t *testing.T, dir string, args ...string) map[string]int {
	t.Helper()
	var page struct {
		Entries []struct{ Actor, Action string }
	}
	ok(t, dir, "", &page, append([]string{"audit", "list", "--json"}, args...)...)
	got := map[string]int{}
	for _, e := range page.Entries {
		if e.Actor != "cli" {
			t.Errorf("entry %+v does not name the actor cli", e)
		}
		got[e.Action]++
	}
	return got
}

func TestKeysRenameRollAndGet(t *testing.T) {
	dir := t.TempDir()
	var c struct{ ID, Key, Name string }
	ok(t, dir, "", &c, "keys", "create", "--name", "first", "--rate-limit", "10", "--json")
	var k struct {
		Name       string
		RateLimit  int
		UsageCount int64
	}
	ok(t, dir, "", &k, "keys", "rename", c.ID, "second", "--json")
	if k.Name != "second" {
		t.Fatalf("rename: %+v", k)
	}
	var rolled struct{ ID, Key string }
	ok(t, dir, "", &rolled, "keys", "roll", c.ID, "--grace", "1h", "--json")
	if rolled.ID != c.ID || rolled.Key == "" || rolled.Key == c.Key {
		t.Fatalf("roll: %+v", rolled)
	}
	// Both secrets verify during the grace period.
	for _, secret := range []string{c.Key, rolled.Key} {
		if r := run(t, dir, secret+"\n", "keys", "verify"); r.code != 0 {
			t.Fatalf("verify after roll: %+v", r)
		}
	}
	ok(t, dir, "", &k, "keys", "get", c.ID, "--json")
	if k.Name != "second" || k.RateLimit != 10 {
		t.Fatalf("get: %+v", k)
	}
	if r := ok(t, dir, "", nil, "keys", "get", c.ID); !strings.Contains(r.stdout, "Requests") || !strings.Contains(r.stdout, "Rate limit") {
		t.Fatalf("get shows no usage: %s", r.stdout)
	}
	if r := run(t, dir, "", "keys", "roll", c.ID, "--grace", "1500ms"); r.code != 2 {
		t.Fatalf("a grace of a fraction of a second: %+v", r)
	}
	if r := run(t, dir, "", "keys", "roll", c.ID, "--grace", "800h"); r.code != 1 {
		t.Fatalf("a grace beyond 30 days: %+v", r)
	}

	// A key of another organization is found by its id alone.
	var org struct{ ID string }
	ok(t, dir, "", &org, "orgs", "create", "Other", "--json")
	var other struct{ ID string }
	ok(t, dir, "", &other, "keys", "create", "--name", "elsewhere", "--org", org.ID, "--json")
	ok(t, dir, "", &k, "keys", "revoke", other.ID, "--reason", "test", "--json")
	if k.Name != "elsewhere" {
		t.Fatalf("revoke in another organization: %+v", k)
	}
	got := auditActions(t, dir)
	for action, want := range map[string]int{"key.create": 1, "key.rename": 1, "key.roll": 1} {
		if got[action] != want {
			t.Errorf("%s recorded %d times, want %d (%v)", action, got[action], want, got)
		}
	}
	if got := auditActions(t, dir, "--org", org.ID); got["key.revoke"] != 1 {
		t.Errorf("key.revoke in the other organization: %v", got)
	}
}

func TestRoutesUpdate(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", nil, "routes", "add", "/api", "http://127.0.0.1:9000", "--strip-prefix", "--max-body", "1024")
	var r struct {
		ID, Prefix, Upstream string
		StripPrefix          bool
		AuthRequired         bool
		MaxBodyBytes         int64
	}
	ok(t, dir, "", &r, "routes", "update", "/api", "--upstream", "http://127.0.0.1:9001", "--public", "--json")
	if r.Upstream != "http://127.0.0.1:9001" || r.AuthRequired || !r.StripPrefix || r.MaxBodyBytes != 1024 {
		t.Fatalf("update kept the wrong settings: %+v", r)
	}
	ok(t, dir, "", &r, "routes", "update", r.ID, "--prefix", "/v2", "--json")
	if r.Prefix != "/v2" || r.Upstream != "http://127.0.0.1:9001" {
		t.Fatalf("update by id: %+v", r)
	}
	if bad := run(t, dir, "", "routes", "update", "/v2", "--upstream", "ftp://nope"); bad.code != 1 {
		t.Fatalf("bad upstream: %+v", bad)
	}
	var list struct{ Routes []struct{ Upstream string } }
	ok(t, dir, "", &list, "routes", "list", "--json")
	if len(list.Routes) != 1 || list.Routes[0].Upstream != "http://127.0.0.1:9001" {
		t.Fatalf("a refused update changed the route: %+v", list)
	}
	var empty map[string]any
	ok(t, dir, "", &empty, "routes", "remove", "/v2", "--json")
	if got := auditActions(t, dir); got["route.update"] != 2 || got["route.remove"] != 1 {
		t.Fatalf("audit %v", got)
	}
}

func TestGatewaySettings(t *testing.T) {
	dir := t.TempDir()
	var s struct {
		AllowedOrigins         []string
		UpstreamTimeoutSeconds int
	}
	ok(t, dir, "", &s, "gateway", "settings", "get", "--json")
	if s.UpstreamTimeoutSeconds != 30 || s.AllowedOrigins == nil || len(s.AllowedOrigins) != 0 {
		t.Fatalf("defaults: %+v", s)
	}
	ok(t, dir, "", &s, "gateway", "settings", "set", "--allowed-origins", "HTTPS://App.Example.com:443, http://localhost:5173", "--json")
	if len(s.AllowedOrigins) != 2 || s.AllowedOrigins[0] != "https://app.example.com" || s.UpstreamTimeoutSeconds != 30 {
		t.Fatalf("set origins: %+v", s)
	}
	ok(t, dir, "", &s, "gateway", "settings", "set", "--upstream-timeout", "5s", "--json")
	if s.UpstreamTimeoutSeconds != 5 || len(s.AllowedOrigins) != 2 {
		t.Fatalf("set timeout kept the origins? %+v", s)
	}
	for _, bad := range [][]string{
		{"--allowed-origins", "https://app.example.com/path"},
		{"--upstream-timeout", "20m"},
	} {
		if r := run(t, dir, "", append([]string{"gateway", "settings", "set"}, bad...)...); r.code != 1 || r.stderr == "" {
			t.Errorf("%v: %+v", bad, r)
		}
	}
	if r := run(t, dir, "", "gateway", "settings", "set"); r.code != 2 {
		t.Errorf("set without a change: %+v", r)
	}
	if r := ok(t, dir, "", nil, "gateway", "settings", "get"); !strings.Contains(r.stdout, "https://app.example.com") || !strings.Contains(r.stdout, "5s") {
		t.Errorf("table: %s", r.stdout)
	}
	if got := auditActions(t, dir); got["settings.update"] != 2 {
		t.Errorf("audit %v", got)
	}
}

func TestUsersAndMembers(t *testing.T) {
	dir := t.TempDir()
	const pw = "a long enough password"
	var admin struct{ UserID, Role string }
	ok(t, dir, pw+"\n", &admin, "users", "add", "--email", "root@example.com", "--role", "admin", "--json")
	var other struct{ ID string }
	ok(t, dir, "", &other, "orgs", "create", "Other", "--json")

	// An existing account is invited (security class 9): no membership until it accepts, and
	// the answer names no account.
	var m struct {
		UserID, Email, Role string
		Invited             bool
	}
	ok(t, dir, "", &m, "members", "add", "--email", "root@example.com", "--role", "developer", "--org", other.ID, "--json")
	if m.UserID != "" || !m.Invited || m.Role != "developer" {
		t.Fatalf("members add existing: %+v", m)
	}
	var others struct{ Members []struct{ Email string } }
	ok(t, dir, "", &others, "members", "list", "--org", other.ID, "--json")
	if len(others.Members) != 0 {
		t.Fatalf("an invited account is a member: %+v", others)
	}
	if r := run(t, dir, "", "members", "add", "--email", "root@example.com", "--role", "member", "--org", other.ID); r.code != 0 ||
		!strings.Contains(r.stdout, "Invited root@example.com") {
		t.Fatalf("members add existing, text: %+v", r)
	}
	// A new one needs it.
	ok(t, dir, pw+"\n", &m, "members", "add", "--email", "dev@example.com", "--role", "member", "--json")
	dev := m.UserID
	var list struct {
		Members []struct{ Email, Role string }
	}
	ok(t, dir, "", &list, "members", "list", "--json")
	if len(list.Members) != 2 {
		t.Fatalf("members list: %+v", list)
	}
	ok(t, dir, "", &m, "members", "role", "dev@example.com", "developer", "--json")
	if m.Role != "developer" {
		t.Fatalf("members role: %+v", m)
	}
	ok(t, dir, "", &m, "users", "role", dev, "admin", "--json")
	if m.Role != "admin" {
		t.Fatalf("users role: %+v", m)
	}
	if r := run(t, dir, "", "members", "role", "root@example.com", "owner"); r.code != 1 {
		t.Fatalf("a bad role: %+v", r)
	}
	ok(t, dir, "", nil, "members", "remove", "dev@example.com")
	ok(t, dir, "", &list, "members", "list", "--json")
	if len(list.Members) != 1 {
		t.Fatalf("members remove: %+v", list)
	}

	// The last admin of an organization cannot go.
	if r := run(t, dir, "", "users", "remove", "root@example.com"); r.code != 1 || !strings.Contains(r.stderr, "admin") {
		t.Fatalf("removing the last admin: %+v", r)
	}
	if r := run(t, dir, "short\n", "users", "passwd", "root@example.com"); r.code != 1 {
		t.Fatalf("a short password: %+v", r)
	}
	var u struct{ ID, Email string }
	ok(t, dir, "another long password\n", &u, "users", "passwd", "root@example.com", "--json")
	if u.ID != admin.UserID {
		t.Fatalf("passwd: %+v", u)
	}
	ok(t, dir, "", &u, "users", "remove", dev, "--json")
	var users struct{ Users []struct{ Email string } }
	ok(t, dir, "", &users, "users", "list", "--json")
	if len(users.Users) != 1 || users.Users[0].Email != "root@example.com" {
		t.Fatalf("users list after remove: %+v", users)
	}
	if r := run(t, dir, "", "users", "remove", "nobody@example.com"); r.code != 1 {
		t.Fatalf("removing an unknown user: %+v", r)
	}
	got := auditActions(t, dir)
	for action, want := range map[string]int{"user.create": 2, "member.add": 2, "member.role": 2, "member.remove": 1,
		"user.password": 1, "user.remove": 1} {
		if got[action] != want {
			t.Errorf("%s recorded %d times, want %d (%v)", action, got[action], want, got)
		}
	}
	if got := auditActions(t, dir, "--org", other.ID); got["member.invite"] != 2 || got["member.add"] != 0 {
		t.Errorf("audit of the other organization: %v", got)
	}
}

func TestOrgsGetAndRequestsList(t *testing.T) {
	dir := t.TempDir()
	var list struct{ Orgs []struct{ ID string } }
	ok(t, dir, "", &list, "orgs", "list", "--json")
	var o struct{ ID, Name, KeyPrefix string }
	ok(t, dir, "", &o, "orgs", "get", list.Orgs[0].ID, "--json")
	if o.ID != list.Orgs[0].ID || o.Name != "Default" || o.KeyPrefix != "kg" {
		t.Fatalf("orgs get: %+v", o)
	}
	if r := run(t, dir, "", "orgs", "get", "org_nope"); r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("orgs get unknown: %+v", r)
	}
	var reqs struct{ Requests []json.RawMessage }
	ok(t, dir, "", &reqs, "requests", "list", "--status", "4xx", "--json")
	if reqs.Requests == nil || len(reqs.Requests) != 0 {
		t.Fatalf("requests list: %+v", reqs)
	}
	if r := run(t, dir, "", "requests", "list", "--limit", "5000"); r.code != 1 {
		t.Fatalf("a limit past 1000: %+v", r)
	}
}
