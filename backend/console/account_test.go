package console_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/testutil"
)

const freshPassword = "a brand new passphrase"

func auditActions(t *testing.T, srv *testutil.Server) map[string]audit.Entry {
	t.Helper()
	entries, err := srv.Audit.List(context.Background(), audit.Filter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]audit.Entry{}
	for _, e := range entries {
		if _, ok := out[e.Action]; !ok {
			out[e.Action] = e // newest first
		}
	}
	return out
}

func TestChangePasswordOverHTTP(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "a@example.com", auth.RoleDeveloper, srv.Org.ID)
	here := srv.Login(t, "a@example.com")
	there := srv.Login(t, "a@example.com")

	for _, tc := range []struct {
		name  string
		body  map[string]string
		field string
	}{
		{"wrong current", map[string]string{"currentPassword": "not the password", "newPassword": freshPassword}, "currentPassword"},
		{"short new", map[string]string{"currentPassword": testutil.Password, "newPassword": "short"}, "newPassword"},
		{"same", map[string]string{"currentPassword": testutil.Password, "newPassword": testutil.Password}, "newPassword"},
		{"missing current", map[string]string{"newPassword": freshPassword}, "currentPassword"},
	} {
		p := here.Problem("PUT", "/api/v1/me/password", tc.body)
		if p.Status != 400 || p.Code != "VALIDATION" || len(p.Fields) == 0 || p.Fields[0].Field != tc.field || p.Fields[0].Detail == "" {
			t.Fatalf("%s: %+v", tc.name, p)
		}
	}
	if e, ok := auditActions(t, srv)[audit.PasswordChangeFail]; !ok || e.Target != "a@example.com" {
		t.Fatalf("wrong current password not audited: %+v", e)
	}
	// Without the CSRF token, or signed out, nothing changes.
	noCSRF := *here
	noCSRF.CSRF = ""
	if p := noCSRF.Problem("PUT", "/api/v1/me/password", map[string]string{"currentPassword": testutil.Password, "newPassword": freshPassword}); p.Status != 403 {
		t.Fatalf("no CSRF token: %+v", p)
	}
	if p := srv.Client(t).Problem("PUT", "/api/v1/me/password", map[string]string{"currentPassword": testutil.Password, "newPassword": freshPassword}); p.Status != 401 {
		t.Fatalf("signed out: %+v", p)
	}

	if code := here.Call("PUT", "/api/v1/me/password", map[string]string{"currentPassword": testutil.Password, "newPassword": freshPassword}, nil); code != 204 {
		t.Fatalf("change: %d", code)
	}
	if code := here.Call("GET", "/api/v1/me", nil, nil); code != 200 {
		t.Fatalf("this session after the change: %d", code)
	}
	if code := there.Call("GET", "/api/v1/me", nil, nil); code != 401 {
		t.Fatalf("the other session after the change: %d, want 401", code)
	}
	if code := srv.Client(t).Call("POST", "/api/v1/session", map[string]string{"email": "a@example.com", "password": freshPassword}, nil); code != 200 {
		t.Fatalf("login with the new password: %d", code)
	}
	e, ok := auditActions(t, srv)[audit.PasswordChange]
	if !ok || e.Target != "a@example.com" || strings.Contains(e.Detail, freshPassword) {
		t.Fatalf("audit entry %+v", e)
	}
}

func TestPasswordResetLinkOverHTTP(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	dev := srv.AddUser(t, "dev@example.com", auth.RoleDeveloper, srv.Org.ID)
	m := srv.AddUser(t, "m@example.com", auth.RoleMember, srv.Org.ID)
	admin := srv.Login(t, "admin@example.com")
	victim := srv.Login(t, "m@example.com")
	path := "/api/v1/members/" + m.ID + "/password-reset?org=" + srv.Org.ID

	// Only an admin issues links, and not for themselves.
	if p := srv.Login(t, "dev@example.com").Problem("POST", path, map[string]string{}); p.Status != 403 {
		t.Fatalf("developer: %+v", p)
	}
	adminUser, _ := srv.Auth.UserByEmail(context.Background(), "admin@example.com")
	if p := admin.Problem("POST", "/api/v1/members/"+adminUser.ID+"/password-reset", map[string]string{"org": srv.Org.ID}); p.Status != 409 {
		t.Fatalf("own account: %+v", p)
	}
	if p := admin.Problem("POST", "/api/v1/members/usr_nope/password-reset", map[string]string{"org": srv.Org.ID}); p.Status != 404 {
		t.Fatalf("unknown member: %+v", p)
	}
	// An account that administers another organization is out of this admin's reach.
	other, err := srv.Orgs.Create(context.Background(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Auth.AddMembership(context.Background(), dev.ID, other.ID, auth.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if p := admin.Problem("POST", "/api/v1/members/"+dev.ID+"/password-reset", map[string]string{"org": srv.Org.ID}); p.Status != 403 || p.Detail == "" {
		t.Fatalf("admin of another organization: %+v", p)
	}

	var link struct {
		UserID, Email, Token, Path string
		ExpiresAt                  time.Time
	}
	if code := admin.Call("POST", "/api/v1/members/"+m.ID+"/password-reset", map[string]string{"org": srv.Org.ID}, &link); code != 201 {
		t.Fatalf("issue: %d", code)
	}
	if link.Email != "m@example.com" || !strings.HasPrefix(link.Path, "/reset-password#token=") || link.Token == "" ||
		!link.ExpiresAt.Equal(srv.Clock.Now().UTC().Truncate(time.Millisecond).Add(15*time.Minute)) {
		t.Fatalf("link %+v", link)
	}
	frag, _ := url.ParseQuery(strings.TrimPrefix(link.Path, "/reset-password#"))
	if frag.Get("token") != link.Token {
		t.Fatalf("path %q does not carry the token", link.Path)
	}
	e, ok := auditActions(t, srv)[audit.PasswordResetIssue]
	if !ok || e.Target != m.ID || e.OrgID != srv.Org.ID || strings.Contains(e.Detail, link.Token) {
		t.Fatalf("issue audit entry %+v", e)
	}

	anon := srv.Client(t)
	if p := anon.Problem("POST", "/api/v1/password-reset", map[string]string{"token": "guessed", "password": freshPassword}); p.Status != 400 ||
		len(p.Fields) == 0 || p.Fields[0].Field != "token" {
		t.Fatalf("wrong token: %+v", p)
	}
	if p := anon.Problem("POST", "/api/v1/password-reset", map[string]string{"token": link.Token, "password": "short"}); p.Status != 400 ||
		len(p.Fields) == 0 || p.Fields[0].Field != "password" {
		t.Fatalf("short password: %+v", p)
	}
	if code := victim.Call("GET", "/api/v1/me", nil, nil); code != 200 {
		t.Fatalf("a refused reset ended the session: %d", code)
	}
	var out struct{ Email string }
	if code := anon.Call("POST", "/api/v1/password-reset", map[string]string{"token": link.Token, "password": freshPassword}, &out); code != 200 || out.Email != "m@example.com" {
		t.Fatalf("reset: %d %+v", code, out)
	}
	if code := victim.Call("GET", "/api/v1/me", nil, nil); code != 401 {
		t.Fatalf("the account's session after the reset: %d, want 401", code)
	}
	if p := anon.Problem("POST", "/api/v1/password-reset", map[string]string{"token": link.Token, "password": "another passphrase"}); p.Status != 400 {
		t.Fatalf("second use: %+v", p)
	}
	if code := srv.Client(t).Call("POST", "/api/v1/session", map[string]string{"email": "m@example.com", "password": freshPassword}, nil); code != 200 {
		t.Fatalf("login with the reset password: %d", code)
	}
	if e, ok := auditActions(t, srv)[audit.PasswordReset]; !ok || e.Actor != m.ID || e.Target != "m@example.com" {
		t.Fatalf("reset audit entry %+v", e)
	}
}

func TestAccountOperationsNotOnDesktop(t *testing.T) {
	srv := testutil.NewServerWith(t, testutil.ServerOptions{Desktop: true})
	c := srv.Client(t)
	if p := c.Problem("POST", "/api/v1/password-reset", map[string]string{"token": "x", "password": freshPassword}); p.Status != 400 && p.Status != 404 {
		t.Fatalf("desktop reset: %+v", p)
	}
}
