package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/openapi"
	"github.com/keygate/keygate/backend/openapi/documents"
	"github.com/keygate/keygate/backend/testutil"
)

func TestSPA(t *testing.T) {
	srv := testutil.NewServer(t)
	c := srv.Client(t)
	for _, tc := range []struct {
		path   string
		status int
		ctype  string
		body   string
		cache  string
	}{
		{"/", 200, "text/html; charset=utf-8", "<title>Keygate</title>", "no-cache"},
		{"/keys", 200, "text/html; charset=utf-8", "<title>Keygate</title>", "no-cache"},
		{"/settings/members", 200, "text/html; charset=utf-8", "<title>Keygate</title>", "no-cache"},
		{"/assets/app-1a2b.js", 200, "text/javascript; charset=utf-8", "console.log", "public, max-age=31536000, immutable"},
		{"/assets/app-1a2b.css", 200, "text/css; charset=utf-8", "body", "public, max-age=31536000, immutable"},
		{"/assets/missing.js", 404, "", "", ""},
		// Traversal is cleaned away: what is left is an unknown client route, so the app.
		{"/../../etc/passwd", 200, "text/html; charset=utf-8", "<title>Keygate</title>", "no-cache"},
		{"/%2e%2e/%2e%2e/etc/passwd", 200, "text/html; charset=utf-8", "<title>Keygate</title>", "no-cache"},
		{"/assets/..%2f..%2fgo.mod", 404, "", "", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := c.Do("GET", tc.path, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				if strings.Contains(string(body), "root:") {
					t.Fatal("path traversal")
				}
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != tc.ctype {
				t.Errorf("content type %q, want %q", ct, tc.ctype)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != tc.cache {
				t.Errorf("cache control %q, want %q", cc, tc.cache)
			}
			if !strings.Contains(string(body), tc.body) {
				t.Errorf("body %q lacks %q", body, tc.body)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
				t.Error("security headers missing")
			}
		})
	}
	if resp, _ := c.Do("POST", "/keys", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST to a page: %d", resp.StatusCode)
	}
}

func TestSPANotBuilt(t *testing.T) {
	srv := testutil.NewServerWith(t, testutil.ServerOptions{Handler: console.HandlerOptions{
		Assets: fstest.MapFS{".gitkeep": {Data: nil}}}})
	resp, body := srv.Client(t).Do("GET", "/keys", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "not built") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	// The API works without the frontend.
	if resp, _ := srv.Client(t).Do("GET", "/api/v1/setup", nil); resp.StatusCode != 200 {
		t.Fatalf("API without frontend: %d", resp.StatusCode)
	}
}

func TestMountsMetricsAndOpenAPI(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("keygate_requests_total 1\n")) })
	docs := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("doc " + r.URL.Path)) })
	srv := testutil.NewServerWith(t, testutil.ServerOptions{Handler: console.HandlerOptions{Metrics: metrics, OpenAPI: docs}})
	c := srv.Client(t)
	if _, b := c.Do("GET", "/metrics", nil); !strings.Contains(string(b), "keygate_requests_total") {
		t.Fatalf("metrics: %s", b)
	}
	if _, b := c.Do("GET", "/openapi/console.json", nil); string(b) != "doc /openapi/console.json" {
		t.Fatalf("openapi: %s", b)
	}
}

func TestDesktopModeHTTP(t *testing.T) {
	srv := testutil.NewServerWith(t, testutil.ServerOptions{Desktop: true})
	c := srv.Client(t) // no login
	var me console.Me
	if code := c.Call("GET", "/api/v1/me", nil, &me); code != 200 || me.Mode != "desktop" || me.Orgs[0].Role != "admin" {
		t.Fatalf("me: %d %+v", code, me)
	}
	if code := c.Call("POST", "/api/v1/keys", map[string]string{"name": "k"}, nil); code != 201 {
		t.Fatalf("create key as the local user: %d", code)
	}
	// Still no cross-site writes.
	if p := c.Problem("POST", "/api/v1/keys", map[string]string{"name": "k"}, "Origin", "https://evil.example"); p.Code != "CSRF" {
		t.Fatalf("cross-site on desktop: %s", p.Code)
	}
	if p := c.Problem("POST", "/api/v1/session", map[string]string{"email": "a@example.com", "password": "x"}); p.Code != "UNSUPPORTED" {
		t.Fatalf("login on desktop: %s", p.Code)
	}
	var st console.SetupStatus
	if c.Call("GET", "/api/v1/setup", nil, &st); st.Needed {
		t.Fatal("desktop needs no setup")
	}
}

func TestOpenAPIDocument(t *testing.T) {
	ctx := context.Background()
	doc, err := openapi.Console(ctx, documents.ConsoleOperations(), openapi.ConsoleOptions{ServerURL: "http://127.0.0.1:8788"})
	if err != nil {
		t.Fatal(err)
	}
	if err := openapi.Validate(ctx, doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, item := range doc.Paths.Map() {
		n += len(item.Operations())
	}
	http := 0
	for _, o := range console.Operations() {
		if o.Mode != console.ModeCLI {
			http++
		}
	}
	if n != http {
		t.Fatalf("document has %d operations, the table %d with an HTTP route", n, http)
	}
}
