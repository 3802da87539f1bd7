package console_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/testutil"
)

func TestRollGracePeriod(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "dev@example.com", auth.RoleDeveloper, srv.Org.ID)
	c := srv.Login(t, "dev@example.com")
	var created keys.Created
	if code := c.Call("POST", "/api/v1/keys", map[string]any{"name": "billing", "expires": "90d"}, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	var rolled keys.Created
	if code := c.Call("POST", "/api/v1/keys/"+created.ID+"/roll", map[string]any{"graceSeconds": 3600}, &rolled); code != 200 {
		t.Fatalf("roll: %d", code)
	}
	if rolled.ID != created.ID || rolled.Key == created.Key || rolled.Key == "" {
		t.Fatalf("roll gave id %s key %q; want the same id and a new secret", rolled.ID, rolled.Key)
	}
	ctx := context.Background()
	verify := func(raw string) keys.Code {
		r, err := srv.Keys.Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		return r.Code
	}
	srv.Clock.Advance(59 * time.Minute)
	if got := verify(created.Key); got != keys.CodeValid {
		t.Fatalf("old secret within the grace period: %s", got)
	}
	if got := verify(rolled.Key); got != keys.CodeValid {
		t.Fatalf("new secret: %s", got)
	}
	srv.Clock.Advance(time.Minute)
	if got := verify(created.Key); got != keys.CodeRevoked {
		t.Fatalf("old secret after the grace period: %s, want REVOKED", got)
	}
	if got := verify(rolled.Key); got != keys.CodeValid {
		t.Fatalf("new secret after the grace period: %s", got)
	}
	// Default grace is 24 h.
	var again keys.Created
	c.Call("POST", "/api/v1/keys/"+created.ID+"/roll", map[string]any{}, &again)
	srv.Clock.Advance(24*time.Hour - time.Second)
	if got := verify(rolled.Key); got != keys.CodeValid {
		t.Fatalf("default grace: %s", got)
	}
	srv.Clock.Advance(time.Second)
	if got := verify(rolled.Key); got != keys.CodeRevoked {
		t.Fatalf("after the default grace: %s", got)
	}
	c = srv.Login(t, "dev@example.com") // a day has passed: the session is over
	if p := c.Problem("POST", "/api/v1/keys/"+created.ID+"/roll", map[string]any{"graceSeconds": 31 * 86400}); p.Fields[0].Field != "graceSeconds" {
		t.Fatalf("too long a grace: %+v", p)
	}
}

func TestAuditEntries(t *testing.T) {
	srv := testutil.NewServer(t)
	ctx := context.Background()
	admin := srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Client(t)
	c.Problem("POST", "/api/v1/session", map[string]string{"email": "admin@example.com", "password": "not the password"})
	c = srv.Login(t, "admin@example.com")
	var k keys.Created
	c.Call("POST", "/api/v1/keys", map[string]any{"name": "one"}, &k)
	c.Call("PATCH", "/api/v1/keys/"+k.ID, map[string]any{"name": "two"}, nil)
	var rolled keys.Created
	c.Call("POST", "/api/v1/keys/"+k.ID+"/roll", map[string]any{"graceSeconds": 0}, &rolled)
	c.Call("POST", "/api/v1/keys/"+k.ID+"/revoke", map[string]any{"reason": "leaked"}, nil)
	var m auth.Member
	c.Call("POST", "/api/v1/members", map[string]any{"email": "bob@example.com", "role": "member", "password": testutil.Password}, &m)
	c.Call("PATCH", "/api/v1/members/"+m.UserID, map[string]any{"role": "developer"}, nil)
	c.Call("DELETE", "/api/v1/members/"+m.UserID, nil, nil)
	var rt struct{ ID string }
	c.Call("POST", "/api/v1/routes", map[string]any{"prefix": "/api", "upstream": "http://127.0.0.1:9000"}, &rt)
	c.Call("PUT", "/api/v1/routes/"+rt.ID, map[string]any{"prefix": "/api", "upstream": "http://127.0.0.1:9001"}, nil)
	c.Call("DELETE", "/api/v1/routes/"+rt.ID, nil, nil)
	c.Call("PUT", "/api/v1/gateway/settings", map[string]any{"allowedOrigins": []string{"https://app.example.com"}, "upstreamTimeoutSeconds": 20}, nil)
	c.Call("PATCH", "/api/v1/orgs/"+srv.Org.ID, map[string]any{"name": "Acme"}, nil)
	c.Call("POST", "/api/v1/orgs", map[string]any{"name": "Second"}, nil)
	c.Call("DELETE", "/api/v1/session", nil, nil)

	es, err := srv.Audit.List(ctx, audit.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		got = append(got, e.Action)
		if e.ClientAddr != "127.0.0.1" {
			t.Errorf("%s: client address %q", e.Action, e.ClientAddr)
		}
		if e.Action != audit.LoginFail && e.Actor != admin.ID {
			t.Errorf("%s: actor %q, want %s", e.Action, e.Actor, admin.ID)
		}
		for _, secret := range []string{k.Key, rolled.Key, testutil.Password, "not the password", c.CSRF} {
			if secret != "" && (strings.Contains(e.Detail, secret) || strings.Contains(e.Target, secret)) {
				t.Errorf("%s: audit entry holds a secret", e.Action)
			}
		}
	}
	want := []string{audit.LoginFail, audit.Login, audit.KeyCreate, audit.KeyRename, audit.KeyRoll, audit.KeyRevoke,
		audit.UserCreate, audit.MemberAdd, audit.MemberRole, audit.MemberRemove, audit.RouteAdd, audit.RouteUpdate,
		audit.RouteRemove, audit.SettingsUpdate, audit.OrgRename, audit.OrgCreate, audit.Logout}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("audit actions\n got %v\nwant %v", got, want)
	}
	// The console lists them; a member does not see sign-ins (they belong to no organization).
	srv.AddUser(t, "m@example.com", auth.RoleMember, srv.Org.ID)
	var page struct{ Entries []audit.Entry }
	srv.Login(t, "admin@example.com").Call("GET", "/api/v1/audit", nil, &page)
	if len(page.Entries) < len(want) || page.Entries[0].Action != audit.Login {
		t.Fatalf("admin sees %d entries, newest %v", len(page.Entries), page.Entries[0].Action)
	}
	srv.Login(t, "m@example.com").Call("GET", "/api/v1/audit", nil, &page)
	for _, e := range page.Entries {
		if e.OrgID == "" {
			t.Fatalf("member sees instance-wide entry %s", e.Action)
		}
	}
}

func TestProblemShapes(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "a@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Login(t, "a@example.com")
	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		hdr          []string
		status       int
		code         string
		field        string
	}{
		{"unknown field", "POST", "/api/v1/keys", map[string]any{"name": "k", "color": "red"}, nil, 400, "VALIDATION", "color"},
		{"wrong type", "POST", "/api/v1/keys", map[string]any{"name": 5}, nil, 400, "VALIDATION", "name"},
		{"blank name", "POST", "/api/v1/keys", map[string]any{"name": "   "}, nil, 400, "VALIDATION", "name"},
		{"bad expiry", "POST", "/api/v1/keys", map[string]any{"name": "k", "expires": "tomorrow"}, nil, 400, "VALIDATION", "expires"},
		{"past expiry", "POST", "/api/v1/keys", map[string]any{"name": "k", "expires": "2020-01-01"}, nil, 400, "VALIDATION", "expires"},
		{"unknown query parameter", "GET", "/api/v1/keys?colour=red", nil, nil, 400, "VALIDATION", "colour"},
		{"bad status filter", "GET", "/api/v1/keys?status=sleeping", nil, nil, 400, "VALIDATION", "status"},
		{"not a number", "GET", "/api/v1/keys?limit=many", nil, nil, 400, "VALIDATION", "limit"},
		{"unknown key", "GET", "/api/v1/keys/key_nope", nil, nil, 404, "NOT_FOUND", ""},
		{"unknown API path", "GET", "/api/v1/nothing", nil, nil, 404, "NOT_FOUND", ""},
		{"wrong method", "PUT", "/api/v1/keys", map[string]any{}, nil, 405, "METHOD_NOT_ALLOWED", ""},
		{"form content type", "POST", "/api/v1/keys", map[string]any{"name": "k"}, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "UNSUPPORTED_MEDIA_TYPE", ""},
		{"bad email", "POST", "/api/v1/members", map[string]any{"email": "nope", "role": "member", "password": testutil.Password}, nil, 400, "VALIDATION", "email"},
		{"bad role", "POST", "/api/v1/members", map[string]any{"email": "b@example.com", "role": "owner", "password": testutil.Password}, nil, 400, "VALIDATION", "role"},
		{"last admin", "PATCH", "/api/v1/members/" + mustUser(t, srv, "a@example.com"), map[string]any{"role": "member"}, nil, 409, "CONFLICT", ""},
		{"bad upstream", "POST", "/api/v1/routes", map[string]any{"prefix": "/x", "upstream": "ftp://x"}, nil, 400, "VALIDATION", "upstream"},
		{"bad origin", "PUT", "/api/v1/gateway/settings", map[string]any{"allowedOrigins": []string{"*"}, "upstreamTimeoutSeconds": 30}, nil, 400, "VALIDATION", "allowedOrigins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := c.Problem(tc.method, tc.path, tc.body, tc.hdr...)
			if p.Status != tc.status || p.Code != tc.code || p.Type == "" || p.Title == "" || p.Detail == "" {
				t.Fatalf("got %+v, want %d %s with type, title and detail", p, tc.status, tc.code)
			}
			if tc.field != "" && (len(p.Fields) != 1 || p.Fields[0].Field != tc.field || p.Fields[0].Detail == "" || p.Fields[0].Code == "") {
				t.Fatalf("fields %+v, want one about %s", p.Fields, tc.field)
			}
		})
	}
	// Nothing was created by the refused requests.
	page, _ := srv.Keys.List(context.Background(), keysAll())
	if len(page.Keys) != 0 {
		t.Fatalf("%d keys created by refused requests", len(page.Keys))
	}
	// An oversized body.
	big := map[string]string{"name": strings.Repeat("x", 1<<20)}
	if p := c.Problem("POST", "/api/v1/keys", big); p.Status != 413 || p.Code != "PAYLOAD_TOO_LARGE" {
		t.Fatalf("big body: %+v", p)
	}
}

func TestLocalizedDetail(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "m@example.com", auth.RoleMember, srv.Org.ID)
	c := srv.Login(t, "m@example.com")
	seen := map[string]string{}
	for _, lang := range []string{"en", "de", "ja", "ar"} {
		c.Lang = lang
		p := c.Problem("POST", "/api/v1/keys", map[string]string{"name": "k"})
		if p.Code != "FORBIDDEN" {
			t.Fatalf("%s: %s", lang, p.Code)
		}
		want := i18n.T(lang, "problem.FORBIDDEN.detail", nil)
		if p.Detail != want {
			t.Errorf("%s: detail %q, want %q", lang, p.Detail, want)
		}
		seen[lang] = p.Detail
	}
	if seen["de"] == seen["en"] || seen["ja"] == seen["en"] {
		t.Fatalf("details not localized: %v", seen)
	}
	// Without Accept-Language, the user's saved language.
	c.Lang = ""
	if code := c.Call("PUT", "/api/v1/preferences", map[string]string{"language": "de", "theme": "dark"}, nil); code != 200 {
		t.Fatalf("preferences: %d", code)
	}
	p := c.Problem("POST", "/api/v1/keys", map[string]string{"name": "k"}, "Accept-Language", "")
	if p.Detail != seen["de"] {
		t.Fatalf("saved language: %q, want %q", p.Detail, seen["de"])
	}
	var me struct{ Language string }
	c.Call("GET", "/api/v1/me", nil, &me)
	if me.Language != "de" {
		t.Fatalf("me.language %q", me.Language)
	}
	var cat i18n.Catalog
	resp, body := c.Do("GET", "/api/v1/i18n/ar", nil)
	if err := json.Unmarshal(body, &cat); err != nil || resp.StatusCode != 200 || cat.Lang != "ar" || cat.Dir != "rtl" || len(cat.Messages) == 0 {
		t.Fatalf("catalog: %d %v %s %s", resp.StatusCode, err, cat.Lang, cat.Dir)
	}
}
