package security_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/tests/harness"
)

func init() {
	attacks = append(attacks,
		attack{"session fixation", sessionFixation},
		attack{"cross-origin requests are refused (CSRF)", crossOriginCSRF},
		attack{"roles cannot be escalated", roleEscalation},
		attack{"path traversal on the SPA handler", spaTraversal},
	)
}

func sessionCookie(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "keygate_session" {
			return ck.Value
		}
	}
	return ""
}

// withSession returns a console client that presents exactly the given session cookie.
func (s *suite) withSession(ip, value string) *testutil.Client {
	c := s.console(ip)
	u, _ := url.Parse(s.srv.ConsoleURL)
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "keygate_session", Value: value, Path: "/"}})
	return c
}

func me(c *testutil.Client) (string, error) {
	var out struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
		Email string `json:"email"`
	}
	err := c.Send(context.Background(), http.MethodGet, "/api/v1/me", nil, &out)
	return out.User.Email + out.Email, err
}

func status(err error) int {
	var e *testutil.APIError
	if errors.As(err, &e) {
		return e.Status
	}
	if err == nil {
		return 200
	}
	return -1
}

func sessionFixation(t *testing.T, s *suite) {
	ip := s.ip()
	ctx := context.Background()
	// 1. A value chosen by an attacker and planted before login is never adopted.
	planted := "AttackerChosenSessionValue0123456789abcdefgh"
	c := s.withSession(ip, planted)
	if err := c.SignIn(ctx, memberEmail, passwords[memberEmail]); err != nil {
		t.Fatal(err)
	}
	s.rememberCookies(c.HTTP, s.srv.ConsoleURL)
	if got := sessionCookie(c.HTTP, s.srv.ConsoleURL); got == planted || got == "" {
		t.Fatalf("session cookie after login = %q", got)
	}
	if _, err := me(s.withSession(ip, planted)); status(err) != http.StatusUnauthorized {
		t.Errorf("the planted value is a session: %v", err)
	}

	// 2. A real session planted by an attacker (their own) is replaced when the victim signs in,
	// and the attacker's cookie never becomes the victim's session.
	attacker := s.login(t, ip, memberEmail)
	attackerSession := sessionCookie(attacker.HTTP, s.srv.ConsoleURL)
	victim := s.withSession(ip, attackerSession)
	if err := victim.SignIn(ctx, adminEmail, passwords[adminEmail]); err != nil {
		t.Fatal(err)
	}
	s.rememberCookies(victim.HTTP, s.srv.ConsoleURL)
	victimSession := sessionCookie(victim.HTTP, s.srv.ConsoleURL)
	if victimSession == attackerSession {
		t.Fatal("the session id did not rotate on login")
	}
	if who, err := me(s.withSession(ip, attackerSession)); err == nil && who == adminEmail {
		t.Error("the attacker's planted session now signs in as the victim")
	}
	if who, err := me(victim); err != nil || who != adminEmail {
		t.Errorf("victim session: %q %v", who, err)
	}

	// 3. Logout ends the session on the server, not just in the browser.
	stolen := victimSession
	if err := victim.Send(ctx, http.MethodDelete, "/api/v1/session", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := me(s.withSession(ip, stolen)); status(err) != http.StatusUnauthorized {
		t.Errorf("a logged-out session still works: %v", err)
	}
	// 4. The cookie's attributes.
	req, _ := http.NewRequest(http.MethodPost, s.srv.ConsoleURL+"/api/v1/session",
		strings.NewReader(`{"email":"`+devEmail+`","password":"`+passwords[devEmail]+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.srv.ConsoleURL)
	res, err := client(ip).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	sc := res.Header.Get("Set-Cookie")
	for _, ck := range res.Cookies() {
		s.remember(ck.Value, "session cookie")
	}
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, attr) {
			t.Errorf("session cookie lacks %s: %q", attr, sc)
		}
	}
}

func crossOriginCSRF(t *testing.T, s *suite) {
	ip := s.ip()
	ctx := context.Background()
	admin := s.login(t, ip, adminEmail)
	u, _ := url.Parse(s.srv.ConsoleURL)
	otherPort := *u
	otherPort.Host = u.Hostname() + ":1"
	send := func(name string, mutate func(*http.Request)) int {
		req, _ := http.NewRequest(http.MethodPost, s.srv.ConsoleURL+"/api/v1/keys", strings.NewReader(`{"name":"csrf-`+name+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", s.srv.ConsoleURL)
		req.Header.Set("X-CSRF-Token", admin.CSRF)
		mutate(req)
		res, err := admin.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusCreated {
			var k testutil.CreatedKey
			if json := string(b); strings.Contains(json, `"key"`) {
				k.Key = between(json, `"key":"`, `"`)
				s.remember(k.Key, "key created by "+name)
			}
		}
		return res.StatusCode
	}
	cases := []struct {
		name   string
		mutate func(*http.Request)
		want   int
	}{
		{"other-site", func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }, http.StatusForbidden},
		{"other-port", func(r *http.Request) { r.Header.Set("Origin", otherPort.String()) }, http.StatusForbidden},
		{"https-scheme", func(r *http.Request) { r.Header.Set("Origin", "https://"+u.Host) }, http.StatusForbidden},
		{"null-origin", func(r *http.Request) { r.Header.Set("Origin", "null") }, http.StatusForbidden},
		{"no-origin", func(r *http.Request) { r.Header.Del("Origin") }, http.StatusForbidden},
		{"cross-site-fetch", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, http.StatusForbidden},
		{"same-site-fetch", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }, http.StatusForbidden},
		{"no-token", func(r *http.Request) { r.Header.Del("X-CSRF-Token") }, http.StatusForbidden},
		{"wrong-token", func(r *http.Request) { r.Header.Set("X-CSRF-Token", otherFirst(admin.CSRF)) }, http.StatusForbidden},
		{"token-prefix", func(r *http.Request) { r.Header.Set("X-CSRF-Token", admin.CSRF[:len(admin.CSRF)-1]) }, http.StatusForbidden},
		{"form-post", func(r *http.Request) {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Body = io.NopCloser(strings.NewReader("name=csrf-form"))
			r.ContentLength = int64(len("name=csrf-form"))
		}, http.StatusUnsupportedMediaType},
		{"text-plain", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, http.StatusUnsupportedMediaType},
	}
	for _, c := range cases {
		if got := send(c.name, c.mutate); got != c.want && !(c.want == http.StatusUnsupportedMediaType && got == http.StatusForbidden) {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// The control: the same request from the page itself works.
	if got := send("same-origin", func(*http.Request) {}); got != http.StatusCreated {
		t.Fatalf("same-origin request with the token: %d", got)
	}
	var list struct {
		Keys []struct{ Name string } `json:"keys"`
	}
	if err := admin.Send(ctx, http.MethodGet, "/api/v1/keys?limit=500&status=all", nil, &list); err != nil {
		t.Fatal(err)
	}
	for _, k := range list.Keys {
		if strings.HasPrefix(k.Name, "csrf-") && k.Name != "csrf-same-origin" {
			t.Errorf("a refused cross-origin request created key %q", k.Name)
		}
	}
	// Login itself from another site (login CSRF) is refused.
	req, _ := http.NewRequest(http.MethodPost, s.srv.ConsoleURL+"/api/v1/session",
		strings.NewReader(`{"email":"`+memberEmail+`","password":"`+passwords[memberEmail]+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://evil.example")
	res, err := client(ip).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("cross-site login: %d, Set-Cookie %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
}

// otherFirst changes the first character of s.
func otherFirst(s string) string {
	if s[0] == 'x' {
		return "y" + s[1:]
	}
	return "x" + s[1:]
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

func roleEscalation(t *testing.T, s *suite) {
	ip := s.ip()
	ctx := context.Background()
	member := s.login(t, ip, memberEmail)
	dev := s.login(t, ip, devEmail)
	other := s.login(t, ip, otherEmail) // admin of organization B only
	memberID, devID, adminID := s.userIDs[memberEmail], s.userIDs[devEmail], s.userIDs[adminEmail]

	type try struct {
		who          string
		c            *testutil.Client
		method, path string
		body         any
	}
	refused := []try{
		{"member", member, http.MethodPost, "/api/v1/keys", map[string]any{"name": "escalated"}},
		{"member", member, http.MethodPost, "/api/v1/keys/" + s.keyA.ID + "/revoke", map[string]any{}},
		{"member", member, http.MethodPatch, "/api/v1/members/" + memberID, map[string]any{"role": "admin"}},
		{"member", member, http.MethodPost, "/api/v1/members", map[string]any{"email": "new@example.com", "role": "admin", "password": "new-password-123"}},
		{"member", member, http.MethodPost, "/api/v1/routes", map[string]any{"prefix": "/evil", "upstream": "http://127.0.0.1:9"}},
		{"member", member, http.MethodPut, "/api/v1/gateway/settings", map[string]any{"allowedOrigins": []string{"http://evil.example"}}},
		{"member", member, http.MethodPost, "/api/v1/orgs", map[string]any{"name": "Mine"}},
		{"developer", dev, http.MethodPatch, "/api/v1/members/" + devID, map[string]any{"role": "admin"}},
		{"developer", dev, http.MethodPost, "/api/v1/members", map[string]any{"email": "dev2@example.com", "role": "admin", "password": "new-password-123"}},
		{"developer", dev, http.MethodPatch, "/api/v1/members/" + adminID, map[string]any{"role": "member"}},
		{"developer", dev, http.MethodDelete, "/api/v1/members/" + adminID, nil},
		{"developer", dev, http.MethodPost, "/api/v1/routes", map[string]any{"prefix": "/evil", "upstream": "http://127.0.0.1:9"}},
		{"developer", dev, http.MethodPatch, "/api/v1/orgs/" + s.orgA, map[string]any{"name": "Renamed"}},
		{"org B admin", other, http.MethodGet, "/api/v1/keys?org=" + s.orgA, nil},
		{"org B admin", other, http.MethodPost, "/api/v1/keys", map[string]any{"org": s.orgA, "name": "foreign"}},
		{"org B admin", other, http.MethodPost, "/api/v1/keys/" + s.keyA.ID + "/revoke", map[string]any{"org": s.orgA}},
		{"org B admin", other, http.MethodPost, "/api/v1/keys/" + s.keyA.ID + "/revoke", map[string]any{"org": s.orgB}},
		{"org B admin", other, http.MethodPatch, "/api/v1/members/" + adminID, map[string]any{"org": s.orgA, "role": "member"}},
		{"org B admin", other, http.MethodPost, "/api/v1/members", map[string]any{"org": s.orgA, "email": otherEmail, "role": "admin"}},
		{"org B admin", other, http.MethodGet, "/api/v1/audit?org=" + s.orgA, nil},
		{"org B admin", other, http.MethodGet, "/api/v1/members?org=" + s.orgA, nil},
		{"org B admin", other, http.MethodPost, "/api/v1/routes", map[string]any{"prefix": "/evil", "upstream": "http://127.0.0.1:9"}},
	}
	for _, r := range refused {
		err := r.c.Send(ctx, r.method, r.path, r.body, nil)
		if st := status(err); st != http.StatusForbidden && st != http.StatusNotFound {
			t.Errorf("%s %s %s: %d (%v), want 403 or 404", r.who, r.method, r.path, st, err)
		}
	}
	// Nothing changed: key A still works, roles are as they were.
	req := s.newReq(http.MethodGet, "/still", nil)
	req.Header.Set("x-api-key", s.keyA.Key)
	if st, code, _ := s.gw(t, ip, req); st != http.StatusOK {
		t.Errorf("key A after the attempts: %d %s", st, code)
	}
	admin := s.login(t, ip, adminEmail)
	var members struct {
		Members []struct {
			Role string `json:"role"`
			User struct {
				Email string `json:"email"`
			} `json:"user"`
			Email string `json:"email"`
		} `json:"members"`
	}
	if err := admin.Send(ctx, http.MethodGet, "/api/v1/members?org="+s.orgA, nil, &members); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{adminEmail: "admin", devEmail: "developer", memberEmail: "member"}
	for _, m := range members.Members {
		email := m.User.Email + m.Email
		if w, ok := want[email]; ok && m.Role != w {
			t.Errorf("%s is now %s", email, m.Role)
		}
		if email == otherEmail || email == "new@example.com" || email == "dev2@example.com" {
			t.Errorf("%s became a member of organization A", email)
		}
	}
	// The control: a developer may create keys in its organization.
	k, err := dev.CreateKey(ctx, "dev key")
	if err != nil {
		t.Fatalf("developer create key: %v", err)
	}
	s.remember(k.Key, "developer's key")
}

func spaTraversal(t *testing.T, s *suite) {
	ip := s.ip()
	secretsOnDisk := []string{"root:x:0:0", "SQLite format 3", "module github.com/keygate/keygate", "[password]"}
	dbRel, _ := filepath.Rel("/", filepath.Join(s.dir, "keygate.db"))
	paths := []string{
		"/../../../../../../etc/passwd",
		"/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
		"/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
		"/assets/..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
		"/assets/..%5c..%5c..%5cetc%5cpasswd",
		"/.%2e/.%2e/.%2e/.%2e/.%2e/.%2e/" + dbRel,
		"/../../../../../../../../" + dbRel,
		"//etc/passwd",
		"/%252e%252e/%252e%252e/etc/passwd",
		"/index.html%00.js",
		"/keygate.db",
		"/../go.mod",
		"/assets/../../../../go.mod",
	}
	for _, p := range paths {
		payload := "GET " + p + " HTTP/1.1\r\nHost: " + s.consoleAddr() + "\r\nConnection: close\r\n\r\n"
		answer := raw(t, ip, s.consoleAddr(), payload, 5*time.Second)
		for _, leak := range secretsOnDisk {
			if strings.Contains(answer, leak) {
				t.Errorf("GET %s leaked %q", p, leak)
			}
		}
		rs := responses(t, answer)
		if len(rs) == 0 {
			t.Errorf("GET %s: no response", p)
			continue
		}
		switch rs[0].StatusCode {
		case http.StatusOK, http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
			http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Errorf("GET %s: %d", p, rs[0].StatusCode)
		}
		if rs[0].StatusCode/100 == 3 {
			if loc := rs[0].Header.Get("Location"); strings.Contains(loc, "..") || strings.HasPrefix(loc, "//") {
				t.Errorf("GET %s redirects to %q", p, loc)
			}
		}
	}
}

// setupTokenReuse runs on a fresh data directory: the one-time setup token works once.
func setupTokenReuse(t *testing.T, s *suite) {
	ip := s.ip()
	ctx := context.Background()
	dir := filepath.Join(filepath.Dir(s.dir), "fresh")
	srv, err := harness.Start(s.bin, dir, harness.Options{LogPath: filepath.Join(filepath.Dir(s.dir), "fresh.log")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	line, ok := srv.WaitForLine("#token=", 5*time.Second)
	if !ok {
		t.Fatal("no setup link printed on a first start")
	}
	token := line[strings.Index(line, "#token=")+len("#token="):]
	s.remember(token, "setup token")
	if strings.Contains(srv.ConsoleURL, "#") || token == "" {
		t.Fatalf("setup link %q", line)
	}
	c := testutil.NewClient(nil, srv.ConsoleURL)
	c.HTTP = client(ip)
	do := func(c *testutil.Client, token, email string) error {
		return c.Send(ctx, http.MethodPost, "/api/v1/setup", map[string]string{
			"token": token, "email": email, "name": "First", "password": "first-admin-password-1"}, nil)
	}
	s.remember("first-admin-password-1", "setup password")
	if err := do(c, otherFirst(token), "wrong@example.com"); status(err) < 400 || status(err) >= 500 {
		t.Errorf("a wrong token: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.ConsoleURL+"/api/v1/setup",
		strings.NewReader(`{"token":"`+token+`","email":"evil@example.com","password":"evil-password-123"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://evil.example")
	if res, err := client(ip).Do(req); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("setup from another origin: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	if err := do(c, token, "first@example.com"); err != nil {
		t.Fatalf("setup with the printed token: %v", err)
	}
	s.rememberCookies(c.HTTP, srv.ConsoleURL)
	second := testutil.NewClient(nil, srv.ConsoleURL)
	second.HTTP = client(ip)
	if err := do(second, token, "second@example.com"); status(err) < 400 || status(err) >= 500 {
		t.Errorf("the setup token worked twice: %v", err)
	}
	if err := second.SignIn(ctx, "second@example.com", "first-admin-password-1"); err == nil {
		t.Error("a second admin was created with a used setup token")
	}
	var got struct {
		Needed bool `json:"needed"`
	}
	if err := second.Send(ctx, http.MethodGet, "/api/v1/setup", nil, &got); err != nil || got.Needed {
		t.Errorf("setup still needed after it was completed: %+v %v", got, err)
	}
}
