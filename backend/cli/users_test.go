package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/store"
)

func TestUsersAddAndAuditList(t *testing.T) {
	dir := t.TempDir()
	const pw = "a long enough password"
	r := run(t, dir, pw+"\n", "users", "add", "--email", "root@example.com", "--role", "admin", "--name", "Root")
	if r.code != 0 || !strings.Contains(r.stdout, "root@example.com") {
		t.Fatalf("users add: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, pw) {
		t.Fatal("the password was printed")
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"duplicate", pw + "\n", []string{"--email", "root@example.com", "--role", "admin"}, 1},
		{"short password", "short\n", []string{"--email", "b@example.com", "--role", "member"}, 1},
		{"no password", "", []string{"--email", "b@example.com", "--role", "member"}, 1},
		{"bad role", pw + "\n", []string{"--email", "b@example.com", "--role", "owner"}, 1},
		{"no email", pw + "\n", []string{"--role", "member"}, 2},
		{"bad email", pw + "\n", []string{"--email", "nope", "--role", "member"}, 1},
		{"unknown org", pw + "\n", []string{"--email", "b@example.com", "--role", "member", "--org", "org_nope"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, dir, tc.stdin, append([]string{"users", "add"}, tc.args...)...)
			if r.code != tc.code || r.stderr == "" {
				t.Fatalf("exit %d (want %d), stderr %q", r.code, tc.code, r.stderr)
			}
		})
	}

	// The stored hash is argon2id in PHC form, and the password signs in.
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var phc string
	st.Read.QueryRow(`SELECT password_hash FROM users WHERE email = 'root@example.com'`).Scan(&phc)
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q", phc)
	}
	as, _ := auth.New(st)
	if _, _, _, err := as.Login(context.Background(), "root@example.com", pw, "", ""); err != nil {
		t.Fatalf("login with the added user: %v", err)
	}
	st.Close()

	r = run(t, dir, "", "users", "list", "--json")
	var us struct{ Users []auth.Account }
	if err := json.Unmarshal([]byte(r.stdout), &us); err != nil || len(us.Users) != 1 || us.Users[0].Email != "root@example.com" {
		t.Fatalf("users list: %v %q", err, r.stdout)
	}
	for _, role := range us.Users[0].Roles {
		if role != auth.RoleAdmin {
			t.Fatalf("users list roles %v", us.Users[0].Roles)
		}
	}

	r = run(t, dir, "", "audit", "list", "--json")
	var page struct{ Entries []audit.Entry }
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || r.code != 0 {
		t.Fatalf("audit list: %v %q %q", err, r.stdout, r.stderr)
	}
	es := page.Entries
	if len(es) != 2 || es[0].Action != audit.MemberAdd || es[1].Action != audit.UserCreate || es[0].Actor != audit.ActorCLI {
		t.Fatalf("audit entries %+v", es)
	}
	if r := run(t, dir, "", "audit", "list"); r.code != 0 || !strings.Contains(r.stdout, "member.add") {
		t.Fatalf("audit list table: %q", r.stdout)
	}
}

// users passwd --email reads the password from stdin, sets it, ends the account's sessions and
// is audited; bad invocations change nothing.
func TestUsersPasswdByEmail(t *testing.T) {
	dir := t.TempDir()
	const pw = "a long enough password"
	if r := run(t, dir, pw+"\n", "users", "add", "--email", "root@example.com", "--role", "admin"); r.code != 0 {
		t.Fatalf("users add: %+v", r)
	}
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	as, _ := auth.New(st)
	token, _, _, err := as.Login(context.Background(), "root@example.com", pw, "", "")
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"short", "short\n", []string{"--email", "root@example.com"}, 1},
		{"no password", "", []string{"--email", "root@example.com"}, 1},
		{"unknown", "another long password\n", []string{"--email", "nobody@example.com"}, 1},
		{"not an address", "another long password\n", []string{"--email", "root"}, 2},
		{"both", "another long password\n", []string{"--email", "root@example.com", "root@example.com"}, 2},
		{"neither", "another long password\n", nil, 2},
	} {
		r := run(t, dir, tc.stdin, append([]string{"users", "passwd"}, tc.args...)...)
		if r.code != tc.code || r.stderr == "" {
			t.Fatalf("%s: exit %d (want %d), stderr %q", tc.name, r.code, tc.code, r.stderr)
		}
	}
	r := run(t, dir, "another long password\n", "users", "passwd", "--email", "root@example.com")
	if r.code != 0 || !strings.Contains(r.stdout, "root@example.com") || strings.Contains(r.stdout+r.stderr, "another long password") {
		t.Fatalf("passwd: %+v", r)
	}

	st, err = store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	as, _ = auth.New(st)
	if _, err := as.Session(context.Background(), token); err == nil {
		t.Fatal("the account's session survived the new password")
	}
	if _, _, _, err := as.Login(context.Background(), "root@example.com", pw, "", ""); err == nil {
		t.Fatal("the old password still works")
	}
	if _, _, _, err := as.Login(context.Background(), "root@example.com", "another long password", "", ""); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	es, err := audit.New(st, clock.Real{}).List(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == audit.UserPassword && e.Actor == audit.ActorCLI && e.Detail == "root@example.com" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("user.password recorded %d times, want 1: %+v", n, es)
	}
}

// TestUsersByAddressInAnyCase: the commands that take an address find the account in any
// Unicode case of it, and a second account for another case of it is refused.
func TestUsersByAddressInAnyCase(t *testing.T) {
	dir := t.TempDir()
	const pw = "a long enough password"
	var root struct{ UserID string }
	ok(t, dir, pw+"\n", &root, "users", "add", "--email", "Ünal@example.com", "--role", "admin", "--json")
	if r := run(t, dir, pw+"\n", "users", "add", "--email", "ünal@EXAMPLE.com", "--role", "member"); r.code != 1 ||
		!strings.Contains(r.stderr, "already") {
		t.Fatalf("second account in another case: %+v", r)
	}
	var other struct{ ID string }
	ok(t, dir, "", &other, "orgs", "create", "Other", "--json")
	// An existing account, so an invitation and no password asked for.
	var m struct {
		Invited bool
		Email   string
	}
	ok(t, dir, "", &m, "members", "add", "--email", "ÜNAL@example.com", "--role", "member", "--org", other.ID, "--json")
	if !m.Invited {
		t.Fatalf("members add in another case: %+v", m)
	}
	var u struct{ ID, Email string }
	ok(t, dir, "another long password\n", &u, "users", "passwd", "--email", "ünal@example.COM", "--json")
	if u.ID != root.UserID || u.Email != "Ünal@example.com" {
		t.Fatalf("passwd in another case: %+v, want %s shown as typed first", u, root.UserID)
	}
	var role struct{ UserID, Role string }
	ok(t, dir, "", &role, "members", "role", "ünal@EXAMPLE.com", "admin", "--json")
	if role.UserID != root.UserID {
		t.Fatalf("members role in another case: %+v", role)
	}
	var users struct{ Users []struct{ Email string } }
	ok(t, dir, "", &users, "users", "list", "--json")
	if len(users.Users) != 1 || users.Users[0].Email != "Ünal@example.com" {
		t.Fatalf("users list: %+v", users)
	}
}
