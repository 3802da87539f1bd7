package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/testutil"
)

func sessionCookie(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, resp.Header.Values("Set-Cookie"))
	return nil
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secure bool
		cookie string
	}{
		{"http", false, "keygate_session"},
		{"https behind a proxy", true, "__Secure-keygate_session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.NewServerWith(t, testutil.ServerOptions{Handler: console.HandlerOptions{Secure: tc.secure}})
			srv.AddUser(t, "a@example.com", auth.RoleAdmin, srv.Org.ID)
			c := srv.Client(t)
			if tc.secure {
				c.Origin = strings.Replace(srv.URL, "http://", "https://", 1)
			}
			resp, body := c.Do("POST", "/api/v1/session", map[string]string{"email": "a@example.com", "password": testutil.Password})
			if resp.StatusCode != 200 {
				t.Fatalf("login: %d %s", resp.StatusCode, body)
			}
			ck := sessionCookie(t, resp, tc.cookie)
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure != tc.secure {
				t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/, Secure=%v", ck, tc.secure)
			}
			if len(ck.Value) != 43 {
				t.Errorf("session id %d characters, want 43 (256 bits, base64url)", len(ck.Value))
			}
			if ck.MaxAge != int(auth.DefaultAbsoluteTimeout/time.Second) {
				t.Errorf("Max-Age %d, want the absolute lifetime", ck.MaxAge)
			}
			// Only the hash is stored.
			var n int
			srv.Store.Read.QueryRow(`SELECT count(*) FROM sessions WHERE id_hash = ? OR csrf_token = ?`, ck.Value, ck.Value).Scan(&n)
			if n != 0 {
				t.Error("the session id is stored in plain text")
			}
		})
	}
}

func TestSessionRotationLogoutAndExpiry(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "a@example.com", auth.RoleAdmin, srv.Org.ID)
	creds := map[string]string{"email": "a@example.com", "password": testutil.Password}

	// A session id planted before login (fixation) is worthless after it.
	c := srv.Login(t, "a@example.com")
	first := c.HTTP.Jar.Cookies(mustURL(srv.URL))[0].Value
	var out struct{ CSRFToken string }
	if code := c.Call("POST", "/api/v1/session", creds, &out); code != 200 {
		t.Fatalf("second login: %d", code)
	}
	second := c.HTTP.Jar.Cookies(mustURL(srv.URL))[0].Value
	if first == second {
		t.Fatal("the session id did not rotate on login")
	}
	if _, err := srv.Auth.Session(context.Background(), first); err != auth.ErrNoSession {
		t.Fatalf("old session after login: %v, want ErrNoSession", err)
	}
	c.CSRF = out.CSRFToken
	if code := c.Call("GET", "/api/v1/me", nil, nil); code != 200 {
		t.Fatalf("me with the new session: %d", code)
	}

	// Logout revokes the session server side, not just the cookie.
	if code := c.Call("DELETE", "/api/v1/session", nil, nil); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	if _, err := srv.Auth.Session(context.Background(), second); err != auth.ErrNoSession {
		t.Fatalf("session after logout: %v", err)
	}
	replay := srv.Client(t)
	replay.HTTP.Jar.SetCookies(mustURL(srv.URL), []*http.Cookie{{Name: "keygate_session", Value: second}})
	if p := replay.Problem("GET", "/api/v1/me", nil); p.Code != "UNAUTHENTICATED" {
		t.Fatalf("replayed cookie: %s", p.Code)
	}

	// Idle expiry.
	c = srv.Login(t, "a@example.com")
	srv.Clock.Advance(auth.DefaultIdleTimeout - time.Minute)
	if code := c.Call("GET", "/api/v1/me", nil, nil); code != 200 {
		t.Fatalf("before idle timeout: %d", code)
	}
	srv.Clock.Advance(auth.DefaultIdleTimeout - time.Minute) // used a moment ago: still alive
	if code := c.Call("GET", "/api/v1/me", nil, nil); code != 200 {
		t.Fatalf("use refreshes the idle timer: %d", code)
	}
	srv.Clock.Advance(auth.DefaultIdleTimeout)
	if p := c.Problem("GET", "/api/v1/me", nil); p.Code != "UNAUTHENTICATED" {
		t.Fatalf("after idle timeout: %s", p.Code)
	}

	// Absolute expiry, even when used all the time.
	c = srv.Login(t, "a@example.com")
	for elapsed := time.Duration(0); elapsed < auth.DefaultAbsoluteTimeout-time.Hour; elapsed += time.Hour {
		srv.Clock.Advance(time.Hour)
		if code := c.Call("GET", "/api/v1/me", nil, nil); code != 200 {
			t.Fatalf("%s into the session: %d", elapsed, code)
		}
	}
	srv.Clock.Advance(2 * time.Hour)
	if p := c.Problem("GET", "/api/v1/me", nil); p.Code != "UNAUTHENTICATED" {
		t.Fatalf("after absolute timeout: %s", p.Code)
	}
}

func TestCSRF(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "a@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Login(t, "a@example.com")
	body := map[string]string{"name": "k"}
	wrong := "x" + c.CSRF[1:]
	if c.CSRF[0] == 'x' { // the token is random base62: make sure this one differs
		wrong = "y" + c.CSRF[1:]
	}
	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"cross-site Origin", []string{"Origin", "https://evil.example"}},
		{"same host, other scheme", []string{"Origin", strings.Replace(srv.URL, "http://", "https://", 1)}},
		{"Origin null", []string{"Origin", "null"}},
		{"no Origin, no Sec-Fetch-Site", []string{"Origin", ""}},
		{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site"}},
		{"Sec-Fetch-Site same-site", []string{"Sec-Fetch-Site", "same-site"}},
		{"missing token", []string{"X-CSRF-Token", ""}},
		{"wrong token", []string{"X-CSRF-Token", wrong}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := c.Problem("POST", "/api/v1/keys", body, tc.hdr...)
			if p.Status != 403 || p.Code != "CSRF" {
				t.Fatalf("%d %s, want 403 CSRF", p.Status, p.Code)
			}
		})
	}
	keysBefore, _ := srv.Keys.List(context.Background(), keysAll())
	if len(keysBefore.Keys) != 0 {
		t.Fatal("a refused request created a key")
	}
	// Sec-Fetch-Site same-origin with the token passes without Origin.
	if resp, b := c.Do("POST", "/api/v1/keys", body, "Origin", "", "Sec-Fetch-Site", "same-origin"); resp.StatusCode != 201 {
		t.Fatalf("same-origin with token: %d %s", resp.StatusCode, b)
	}
	// Reads need no token.
	if resp, _ := c.Do("GET", "/api/v1/keys", nil, "Origin", "https://evil.example", "X-CSRF-Token", ""); resp.StatusCode != 200 {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	// Login from another site is refused too (login CSRF).
	anon := srv.Client(t)
	anon.Origin = "https://evil.example"
	if p := anon.Problem("POST", "/api/v1/session", map[string]string{"email": "a@example.com", "password": testutil.Password}); p.Code != "CSRF" {
		t.Fatalf("cross-site login: %s", p.Code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "a@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Client(t)
	bad := map[string]string{"email": "a@example.com", "password": "wrong password!"}
	good := map[string]string{"email": "a@example.com", "password": testutil.Password}
	for i := 0; i < 5; i++ {
		if p := c.Problem("POST", "/api/v1/session", bad); p.Code != "BAD_CREDENTIALS" || p.Status != 401 {
			t.Fatalf("attempt %d: %d %s", i+1, p.Status, p.Code)
		}
	}
	resp, _ := c.Do("POST", "/api/v1/session", good)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt with the right password: %d, Retry-After %q; want 429 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if p := c.Problem("POST", "/api/v1/session", good); p.Code != "RATE_LIMITED" {
		t.Fatalf("code %s", p.Code)
	}
	srv.Clock.Advance(15 * time.Minute)
	if code := c.Call("POST", "/api/v1/session", good, nil); code != 200 {
		t.Fatalf("after the window: %d", code)
	}

	// Per client address: many accounts from one address.
	for i := 0; i < 20; i++ {
		c.Problem("POST", "/api/v1/session", map[string]string{"email": strings.Repeat("x", i+1) + "@example.com", "password": "whatever123"})
	}
	if p := c.Problem("POST", "/api/v1/session", map[string]string{"email": "fresh@example.com", "password": "whatever123"}); p.Code != "RATE_LIMITED" {
		t.Fatalf("after 20 failures from one address: %s", p.Code)
	}
}

func TestSetupToken(t *testing.T) {
	srv := testutil.NewServer(t)
	c := srv.Client(t)
	var st console.SetupStatus
	if c.Call("GET", "/api/v1/setup", nil, &st); !st.Needed {
		t.Fatal("setup not needed on a fresh store")
	}
	ctx := context.Background()
	link, err := srv.Console.SetupLink(ctx, "http://127.0.0.1:8788")
	if err != nil || !strings.HasPrefix(link, "http://127.0.0.1:8788/setup#token=") {
		t.Fatalf("link %q, %v", link, err)
	}
	token := strings.TrimPrefix(link, "http://127.0.0.1:8788/setup#token=")
	var n int
	srv.Store.Read.QueryRow(`SELECT count(*) FROM setup_tokens WHERE token_hash = ?`, token).Scan(&n)
	if n != 0 {
		t.Fatal("setup token stored in plain text")
	}
	in := map[string]string{"token": token, "email": "first@example.com", "name": "First", "password": testutil.Password}

	// Expiry: a token older than 15 minutes is refused; a new link replaces it.
	srv.Clock.Advance(15*time.Minute + time.Second)
	if p := c.Problem("POST", "/api/v1/setup", in); p.Code != "VALIDATION" || p.Fields[0].Field != "token" {
		t.Fatalf("expired token: %+v", p)
	}
	// Only the latest link works.
	link1, _ := srv.Console.SetupLink(ctx, "http://127.0.0.1:8788")
	link2, _ := srv.Console.SetupLink(ctx, "http://127.0.0.1:8788")
	in["token"] = strings.TrimPrefix(link1, "http://127.0.0.1:8788/setup#token=")
	if p := c.Problem("POST", "/api/v1/setup", in); p.Fields[0].Field != "token" {
		t.Fatalf("superseded token: %+v", p)
	}
	token2 := strings.TrimPrefix(link2, "http://127.0.0.1:8788/setup#token=")
	in2 := map[string]string{"token": token2, "email": "first@example.com", "name": "First", "password": "short"}
	if p := c.Problem("POST", "/api/v1/setup", in2); p.Fields[0].Field != "password" {
		t.Fatalf("short password: %+v", p)
	}
	in2["password"] = testutil.Password
	resp, body := c.Do("POST", "/api/v1/setup", in2)
	if resp.StatusCode != 200 {
		t.Fatalf("setup: %d %s", resp.StatusCode, body)
	}
	sessionCookie(t, resp, "keygate_session")
	if c.Call("GET", "/api/v1/me", nil, nil) != 200 {
		t.Fatal("setup does not sign the admin in")
	}
	es, _ := srv.Audit.List(ctx, audit.Filter{})
	if len(es) != 2 || es[1].Action != audit.SetupComplete || es[0].Action != audit.Login {
		t.Fatalf("audit after setup: %+v", es)
	}
	roles, _ := srv.Auth.Roles(ctx, mustUser(t, srv, "first@example.com"))
	if roles[srv.Org.ID] != auth.RoleAdmin {
		t.Fatalf("first user's roles %v", roles)
	}
	// Single use.
	in2["email"] = "second@example.com"
	if p := srv.Client(t).Problem("POST", "/api/v1/setup", in2); p.Fields[0].Field != "token" {
		t.Fatalf("reused token: %+v", p)
	}
	if c.Call("GET", "/api/v1/setup", nil, &st); st.Needed {
		t.Fatal("setup still needed")
	}
	if link, _ := srv.Console.SetupLink(ctx, "http://x"); link != "" {
		t.Fatal("a setup link is made although an admin exists")
	}
}

func mustUser(t *testing.T, srv *testutil.Server, email string) string {
	t.Helper()
	u, err := srv.Auth.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestRefusedLoginsDoNotFloodTheAudit: an attempt refused by the login limit costs an attacker
// nothing (no password check), so each one must not cost the store a synchronous write: the
// first refusal of a lockout is recorded, the rest are not.
func TestRefusedLoginsDoNotFloodTheAudit(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "a@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Client(t)
	bad := map[string]string{"email": "a@example.com", "password": "wrong password!"}
	count := func() (fails, limited int) {
		es, err := srv.Audit.List(context.Background(), audit.Filter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Action == audit.LoginFail {
				fails++
				if strings.Contains(e.Detail, "rate limited") {
					limited++
				}
			}
		}
		return fails, limited
	}
	for range 2 {
		for range 5 {
			c.Problem("POST", "/api/v1/session", bad)
		}
		for range 30 {
			if p := c.Problem("POST", "/api/v1/session", bad); p.Code != "RATE_LIMITED" {
				t.Fatalf("code %s, want RATE_LIMITED", p.Code)
			}
		}
		srv.Clock.Advance(15*time.Minute + time.Second)
	}
	if fails, limited := count(); fails != 12 || limited != 2 {
		t.Fatalf("%d login.fail entries (%d rate limited), want 12: 5 failures and one refusal per lockout", fails, limited)
	}
}
