package gateway_test

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/store"
)

func TestLoggedHeaders(t *testing.T) {
	key := "kg_" + strings.Repeat("a", 32) // not checksummed: only its shape matters below
	in := http.Header{
		"Accept":               {"application/json"},
		"User-Agent":           {"curl/8"},
		"Content-Type":         {"text/plain"},
		"Private-Token":        {"glpat-secret"},
		"X-Upstream-Token":     {"up-secret"},
		"X-Amz-Security-Token": {"amz-secret"},
		"X-Api-Keyy":           {key + "x"},
		"Authorization":        {"Bearer tok-secret"},
		"Cookie":               {"app=cookie-secret"},
		"X-Custom":             {"a", "b"},
	}
	got := gateway.LoggedHeaders(in)
	if len(got) != len(in) {
		t.Fatalf("names %v, want all of %v", got, in)
	}
	for _, k := range []string{"Accept", "User-Agent", "Content-Type"} {
		if got.Get(k) != in.Get(k) {
			t.Errorf("%s = %q, want %q", k, got.Get(k), in.Get(k))
		}
	}
	for k, vs := range got {
		for _, v := range vs {
			if strings.Contains(v, "secret") || strings.Contains(v, key) {
				t.Errorf("%s keeps its value %q", k, v)
			}
		}
	}
	if v := got["X-Custom"]; len(v) != 2 || v[0] != gateway.Redacted {
		t.Errorf("X-Custom = %q, want one [redacted] per value", v)
	}
	// An allowlisted header still loses a key pasted into it, and is cut to 512 bytes.
	many := http.Header{"User-Agent": {"tool " + mustKey(t) + " " + strings.Repeat("x", 600)}}
	if v := gateway.LoggedHeaders(many).Get("User-Agent"); strings.Contains(v, "kg_") || len(v) > 512 || !strings.HasPrefix(v, "tool [redacted]") {
		t.Errorf("User-Agent logged as %q", v)
	}
}

// TestRedactMigration builds a database as an older Keygate left it, with secrets in request
// log header values, and checks that opening it with this one keeps only allowlisted values —
// in the rows, and in the bytes of the database file.
func TestRedactMigration(t *testing.T) {
	files, _ := filepath.Glob("../store/migrations/sqlite/*.sql")
	sort.Strings(files)
	var redact, redactFile string
	var before []string
	for _, f := range files {
		if strings.HasSuffix(f, "_request_log_redact.sql") {
			b, _ := os.ReadFile(f)
			redact, redactFile = string(b), f
			break
		}
		b, _ := os.ReadFile(f)
		before = append(before, string(b))
	}
	if redact == "" {
		t.Fatal("no *_request_log_redact.sql migration")
	}
	// The migration's list, in both dialects, is the gateway's allowlist.
	pg, err := os.ReadFile(filepath.Join("../store/migrations/postgres", filepath.Base(redactFile)))
	if err != nil {
		t.Fatal(err)
	}
	for _, sqlText := range []string{redact, string(pg)} {
		m := regexp.MustCompile(`IN \(([^)]*)\)`).FindStringSubmatch(sqlText)
		var listed []string
		for _, q := range regexp.MustCompile(`'([a-z-]+)'`).FindAllStringSubmatch(m[1], -1) {
			listed = append(listed, q[1])
		}
		sort.Strings(listed)
		if !reflect.DeepEqual(listed, gateway.LoggedValueHeaders()) {
			t.Fatalf("migration lists %v, gateway logs %v", listed, gateway.LoggedValueHeaders())
		}
	}

	path := filepath.Join(t.TempDir(), "keygate.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range before {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	db.Exec(`CREATE TABLE schema_version (version INTEGER NOT NULL)`)
	db.Exec(`INSERT INTO schema_version (version) VALUES (?)`, len(before))
	if _, err := db.Exec(`INSERT INTO request_log (at, request_id, method, path, status, latency_us, headers) VALUES
		(1, 'r1', 'GET', '/', 200, 1, '{"Private-Token":["glpat-old-secret"],"User-Agent":["curl/8"],"X-Two":["old-secret-1","old-secret-2"]}'),
		(2, 'r2', 'GET', '/', 200, 1, 'not json old-secret')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := store.OpenFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := gateway.QueryRequests(context.Background(), st, gateway.Filter{}, nil)
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	h := rows[1].Headers
	if h.Get("Private-Token") != gateway.Redacted || h.Get("User-Agent") != "curl/8" || len(h["X-Two"]) != 2 || h["X-Two"][1] != gateway.Redacted {
		t.Errorf("migrated headers %v (%+v)", h, rows)
	}
	var raw string
	st.Read.QueryRow(`SELECT headers FROM request_log WHERE request_id = 'r2'`).Scan(&raw)
	if raw != "{}" {
		t.Errorf("unparseable headers became %q, want {}", raw)
	}
	st.Close()
	for _, f := range []string{path, path + "-wal"} {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("old-secret")) {
			t.Errorf("an old header value is still in the bytes of %s", filepath.Base(f))
		}
	}
}

func TestForwardedHost(t *testing.T) {
	pub, _ := url.Parse("https://api.example.com")
	in := http.Header{"X-Forwarded-Host": {"evil.example"}, "X-Forwarded-Proto": {"https"}}
	for _, tt := range []struct {
		name         string
		public       *url.URL
		trusted, tls bool
		in           http.Header
		host, proto  string
	}{
		{"client headers ignored", nil, false, false, in, "", "http"},
		{"TLS connection", nil, false, true, in, "", "https"},
		{"configured public URL", pub, false, false, in, "api.example.com", "https"},
		{"public URL wins over a trusted proxy", pub, true, false, in, "api.example.com", "https"},
		{"trusted proxy", nil, true, false, in, "evil.example", "https"},
		{"trusted proxy, odd proto", nil, true, false, http.Header{"X-Forwarded-Proto": {"gopher"}}, "", "http"},
		{"trusted proxy, odd host", nil, true, false, http.Header{"X-Forwarded-Host": {"a b\r\n"}}, "", "http"},
	} {
		host, proto := gateway.ForwardedHost(tt.public, tt.trusted, tt.in, tt.tls)
		if host != tt.host || proto != tt.proto {
			t.Errorf("%s: %q %q, want %q %q", tt.name, host, proto, tt.host, tt.proto)
		}
	}
}

func TestCleanUpstreamResponse(t *testing.T) {
	h := http.Header{
		"Set-Cookie":                  {"app=1", "keygate_session=x", "=keygate_session=y", " KEYGATE_SESSION =z", "__Secure-keygate_session=w", "other=2"},
		"Set-Cookie2":                 {"keygate_session=v"},
		"Clear-Site-Data":             {`"cookies"`},
		"X-Request-Id":                {"upstream"},
		"Access-Control-Allow-Origin": {"*"},
		"Content-Type":                {"text/html"},
	}
	gateway.CleanUpstreamResponse(h)
	if got := h["Set-Cookie"]; !reflect.DeepEqual(got, []string{"app=1", "other=2"}) {
		t.Errorf("Set-Cookie %q", got)
	}
	for _, k := range []string{"Set-Cookie2", "Clear-Site-Data", "X-Request-Id", "Access-Control-Allow-Origin"} {
		if _, ok := h[k]; ok {
			t.Errorf("%s kept", k)
		}
	}
	if h.Get("Content-Type") != "text/html" {
		t.Error("Content-Type lost")
	}
}

func TestHostAllowed(t *testing.T) {
	hosts := gateway.LoopbackHosts("127.0.0.1:8787", "api.example.com")
	for _, h := range []string{"127.0.0.1:8787", "localhost:8787", "LOCALHOST:8787", "[::1]:8787", "api.example.com", "localhost.:8787", "API.example.com.", "[::1]:8787"} {
		if !gateway.HostAllowed(h, hosts) {
			t.Errorf("%q refused", h)
		}
	}
	// "[localhost]:8787": brackets are for IP literals only (RFC 3986 §3.2.2).
	for _, h := range []string{"", "evil.example:8787", "localhost", "127.0.0.1:80", "127.0.0.1.evil.example:8787", "localhost:8788",
		"[localhost]:8787", "localhost..:8787", "[::1].:8787"} {
		if gateway.HostAllowed(h, hosts) {
			t.Errorf("%q allowed", h)
		}
	}
	if gateway.LoopbackHosts("0.0.0.0:8787") != nil || gateway.LoopbackHosts("192.0.2.1:80") != nil {
		t.Error("a non-loopback listener got a Host allowlist")
	}
}

func mustKey(t *testing.T) string {
	k, err := keys.Generate("kg")
	if err != nil {
		t.Fatal(err)
	}
	return k.Raw
}
