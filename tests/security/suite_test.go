package security_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/tests/harness"
)

// Accounts of the suite. Passwords are secrets too: the sweep looks for them.
const (
	adminEmail  = "admin@example.com"
	devEmail    = "dev@example.com"
	memberEmail = "member@example.com"
	otherEmail  = "other-admin@example.com" // admin of organization B only
	burstEmail  = "burst@example.com"       // the target of the concurrent-login attack
)

var passwords = map[string]string{
	adminEmail:  "admin-Password-7f3k2",
	devEmail:    "developer-Password-9q8w",
	memberEmail: "member-Password-1z2x3",
	otherEmail:  "other-Password-5t6y7u",
	burstEmail:  "burst-Password-3e4r5t",
}

// publicGatewayHost is the gateway's configured public host (--gateway-url https://…).
const publicGatewayHost = "api.keygate.test"

// seen is one request as the upstream received it.
type seen struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   int
}

// upstream records what reaches it, by X-Request-Id (which the gateway keeps when the
// client's is well formed) and in arrival order.
type upstream struct {
	mu   sync.Mutex
	byID map[string][]seen
	all  []seen
	srv  *httptest.Server
}

func newUpstream() *upstream {
	u := &upstream{byID: map[string][]seen{}}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: int(n)}
		u.mu.Lock()
		id := r.Header.Get("X-Request-Id")
		u.byID[id] = append(u.byID[id], s)
		u.all = append(u.all, s)
		u.mu.Unlock()
		// /plant/…?sc=LINE&csd=VALUE answers with those Set-Cookie and Clear-Site-Data lines:
		// what a hostile or compromised upstream can send.
		if strings.Contains(r.URL.Path, "/plant") {
			for _, l := range r.URL.Query()["sc"] {
				w.Header().Add("Set-Cookie", l)
			}
			for _, l := range r.URL.Query()["csd"] {
				w.Header().Add("Clear-Site-Data", l)
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "upstream ok")
	}))
	return u
}

func (u *upstream) get(id string) []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.byID[id]...)
}

// any reports whether some request the upstream received satisfies f.
func (u *upstream) any(f func(seen) bool) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, s := range u.all {
		if f(s) {
			return true
		}
	}
	return false
}

// suite is the running server and everything the attacks need.
type suite struct {
	bin, dir, logPath string
	srv               *harness.Server
	up                *upstream
	orgA, orgB        string
	keyA, keyB        testutil.CreatedKey // organization A and B
	userIDs           map[string]string

	secretsMu sync.Mutex
	secrets   map[string]string // secret → what it is

	nextIP atomic.Uint32
}

// remember adds a secret for the final sweep.
func (s *suite) remember(secret, what string) {
	if secret == "" {
		return
	}
	s.secretsMu.Lock()
	s.secrets[secret] = what
	s.secretsMu.Unlock()
}

// ip gives each attack its own loopback source address (127.0.0.2, .3, …) so that per-address
// limits (failed authentications, logins) of one attack do not leak into another.
func (s *suite) ip() string {
	n := s.nextIP.Add(1) + 1
	return fmt.Sprintf("127.0.%d.%d", n/250, n%250+2)
}

func dialerFrom(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
}

// client is an HTTP client that connects from ip and never follows redirects.
func client(ip string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{DialContext: dialerFrom(ip).DialContext},
	}
}

// console is a console client that connects from ip.
func (s *suite) console(ip string) *testutil.Client {
	c := testutil.NewClient(nil, s.srv.ConsoleURL)
	c.HTTP = client(ip)
	return c
}

// login signs email in from ip and remembers the session cookie and CSRF token as secrets.
func (s *suite) login(t *testing.T, ip, email string) *testutil.Client {
	t.Helper()
	c := s.console(ip)
	if err := c.SignIn(context.Background(), email, passwords[email]); err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	s.rememberCookies(c.HTTP, s.srv.ConsoleURL)
	return c
}

func (s *suite) rememberCookies(c *http.Client, base string) {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		s.remember(ck.Value, "session cookie")
	}
}

func (s *suite) gatewayAddr() string { return strings.TrimPrefix(s.srv.GatewayURL, "http://") }
func (s *suite) consoleAddr() string { return strings.TrimPrefix(s.srv.ConsoleURL, "http://") }

// raw sends payload over a fresh connection from ip and reads until the server closes the
// connection or d passes; it returns what was read.
func raw(t *testing.T, ip, addr, payload string, d time.Duration) string {
	t.Helper()
	conn, err := dialerFrom(ip).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(conn, payload); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	return string(b)
}

// responses parses every HTTP response in a raw answer.
func responses(t *testing.T, rawAnswer string) []*http.Response {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(rawAnswer))
	var out []*http.Response
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		body, _ := io.ReadAll(res.Body)
		res.Body = io.NopCloser(bytes.NewReader(body))
		out = append(out, res)
	}
}

// problemCode reads the code of a problem+json body.
func problemCode(b []byte) string {
	var p struct{ Code string }
	json.Unmarshal(b, &p)
	return p.Code
}

var reqSeq atomic.Uint64

// requestID returns a fresh well-formed X-Request-Id for tracing a request to the upstream.
func requestID(tag string) string { return fmt.Sprintf("sec-%s-%d", tag, reqSeq.Add(1)) }

// gw sends one request to the gateway from ip and returns status, problem code and what the
// upstream saw of it.
func (s *suite) gw(t *testing.T, ip string, req *http.Request) (int, string, []seen) {
	t.Helper()
	id := req.Header.Get("X-Request-Id")
	if id == "" {
		id = requestID("gw")
		req.Header.Set("X-Request-Id", id)
	}
	res, err := client(ip).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, problemCode(b), s.up.get(id)
}

func (s *suite) newReq(method, path string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, s.srv.GatewayURL+path, body)
	if err != nil {
		panic(err)
	}
	return req
}

func cli(t *testing.T, s *suite, stdin string, args ...string) string {
	t.Helper()
	r, err := harness.CLI(context.Background(), s.bin, s.dir, stdin, args...)
	if err != nil || r.Code != 0 {
		t.Fatalf("keygate %s: exit %d %v %s", strings.Join(args, " "), r.Code, err, r.Stderr)
	}
	return r.Stdout
}

func setup(t *testing.T) *suite {
	t.Helper()
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	s := &suite{bin: bin, dir: filepath.Join(root, "data"), logPath: filepath.Join(root, "serve.log"),
		up: newUpstream(), secrets: map[string]string{}, userIDs: map[string]string{}}
	t.Cleanup(s.up.srv.Close)

	var list struct{ Orgs []struct{ ID, Name string } }
	json.Unmarshal([]byte(cli(t, s, "", "orgs", "list", "--json")), &list)
	if len(list.Orgs) == 0 {
		t.Fatal("no default organization")
	}
	s.orgA = list.Orgs[0].ID
	var b struct{ ID string }
	json.Unmarshal([]byte(cli(t, s, "", "orgs", "create", "Org B", "--json")), &b)
	s.orgB = b.ID
	if s.orgB == "" {
		t.Fatal("org B not created")
	}

	for _, u := range []struct{ email, role, org string }{
		{adminEmail, "admin", s.orgA}, {devEmail, "developer", s.orgA}, {memberEmail, "member", s.orgA}, {otherEmail, "admin", s.orgB}, {burstEmail, "member", s.orgA},
	} {
		out := cli(t, s, passwords[u.email]+"\n", "users", "add", "--email", u.email, "--role", u.role, "--org", u.org, "--json")
		var m struct {
			UserID string `json:"userId"`
		}
		json.Unmarshal([]byte(out), &m)
		s.userIDs[u.email] = m.UserID
		s.remember(passwords[u.email], "password of "+u.email)
	}

	cli(t, s, "", "routes", "add", "/", s.up.srv.URL)
	cli(t, s, "", "routes", "add", "/qk", s.up.srv.URL, "--query-key", "api_key")
	cli(t, s, "", "routes", "add", "/small", s.up.srv.URL, "--max-body", "1024")
	cli(t, s, "", "routes", "add", "/orgb", s.up.srv.URL, "--org", s.orgB)
	cli(t, s, "", "routes", "add", "/public", s.up.srv.URL, "--public")
	cli(t, s, "", "routes", "add", "/sess", s.up.srv.URL, "--console-session")
	// A route whose OpenAPI document is a server file holding a secret, and one that fetches
	// its document from the upstream (counted there).
	secretDoc := filepath.Join(root, "private", "secret-spec.yaml")
	os.MkdirAll(filepath.Dir(secretDoc), 0o700)
	os.WriteFile(secretDoc, []byte("openapi: [TOPSECRET-file-content-4242\n"), 0o600)
	cli(t, s, "", "routes", "add", "/leak", s.up.srv.URL, "--openapi", secretDoc, "--org", s.orgB)
	cli(t, s, "", "routes", "add", "/fetched", s.up.srv.URL, "--openapi", s.up.srv.URL+"/spec/openapi.json")

	json.Unmarshal([]byte(cli(t, s, "", "keys", "create", "--name", "key A", "--json")), &s.keyA)
	json.Unmarshal([]byte(cli(t, s, "", "keys", "create", "--name", "key B", "--org", s.orgB, "--json")), &s.keyB)
	if s.keyA.Key == "" || s.keyB.Key == "" {
		t.Fatal("keys not created")
	}
	s.remember(s.keyA.Key, "key A")
	s.remember(s.keyB.Key, "key B")

	s.srv, err = harness.Start(bin, s.dir, harness.Options{LogPath: s.logPath, Args: []string{"--log-level", "debug",
		"--gateway-url", "https://" + publicGatewayHost}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-s.srv.Done():
		default:
			s.srv.Kill()
		}
	})
	return s
}

// TestSecurity runs every attack against one server (in parallel, each from its own source
// address), then stops it and sweeps its logs and database files for secrets.
func TestSecurity(t *testing.T) {
	s := setup(t)
	t.Run("attacks", func(t *testing.T) {
		for _, a := range attacks {
			t.Run(a.name, func(t *testing.T) {
				t.Parallel()
				a.run(t, s)
			})
		}
	})
	t.Run("setup token cannot be reused", func(t *testing.T) { setupTokenReuse(t, s) })
	// Alone, after the others: it lowers the retention setting for the whole instance.
	t.Run("class 10: a flood cannot grow the logs beyond the retention setting", func(t *testing.T) { retentionBounds(t, s) })

	// Swept twice: while running (the WAL and shared-memory files hold recent writes) and
	// after a clean stop (everything checkpointed into keygate.db).
	t.Run("no secret in logs or database files while running", func(t *testing.T) { sweep(t, s) })
	if err := s.srv.Stop(); err != nil {
		t.Errorf("keygate serve did not stop cleanly: %v", err)
	}
	t.Run("log lines cannot be forged", func(t *testing.T) { logLinesWellFormed(t, s.logPath) })
	t.Run("no secret in logs or database after stopping", func(t *testing.T) { sweep(t, s) })
}

type attack struct {
	name string
	run  func(*testing.T, *suite)
}

// attacks is filled by the files that define them.
var attacks []attack

// logLinesWellFormed checks that every line the server wrote is a structured log line or one
// of the lines serve prints: a newline smuggled into a logged value would start a line of its
// own.
func logLinesWellFormed(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	printed := []string{"Keygate gateway:", "Keygate console:", "Demo API:", "No admin yet", "http://", "Stopping", "Stopped", "keygate: warning"}
	for i, line := range strings.Split(string(b), "\n") {
		l := strings.TrimSpace(line)
		if l == "" || strings.HasPrefix(l, "time=") {
			continue
		}
		ok := false
		for _, p := range printed {
			ok = ok || strings.HasPrefix(l, p)
		}
		if !ok {
			t.Errorf("log line %d is neither a structured log line nor serve's own output: %q", i+1, l)
		}
	}
}

// sweep searches every file the servers wrote — logs, databases with their -wal and -shm,
// anything else in the data directories — for every secret the suite handled: keys (whole and
// without their prefix), passwords, session cookies, setup tokens.
func sweep(t *testing.T, s *suite) {
	var files []string
	filepath.Walk(filepath.Dir(s.dir), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	s.secretsMu.Lock()
	defer s.secretsMu.Unlock()
	if len(s.secrets) < 10 {
		t.Fatalf("only %d secrets collected: the sweep would prove nothing", len(s.secrets))
	}
	needles := map[string]string{}
	for secret, what := range s.secrets {
		needles[secret] = what
		if strings.HasPrefix(what, "key") || strings.Contains(what, "'s key") {
			if _, body, ok := strings.Cut(secret, "_"); ok && len(body) >= 20 {
				needles[body] = what + " (without its prefix)"
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for needle, what := range needles {
			if strings.HasSuffix(f, ".log") && strings.HasPrefix(what, "setup token") {
				continue // serve prints the one-time setup link by design
			}
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s found in %s", what, f)
			}
		}
	}
	// The control: what is meant to be stored is found, so the search does look inside.
	db, err := os.ReadFile(filepath.Join(s.dir, "keygate.db"))
	if err != nil || !bytes.Contains(db, []byte(s.keyA.ID)) && !s.inWAL(s.keyA.ID) {
		t.Errorf("the sweep cannot see key A's id in the database (%v): it would miss a secret too", err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	t.Logf("%d secrets searched for in %d files: %s", len(s.secrets), len(files), strings.Join(names, ", "))
}

func (s *suite) inWAL(needle string) bool {
	b, _ := os.ReadFile(filepath.Join(s.dir, "keygate.db-wal"))
	return bytes.Contains(b, []byte(needle))
}
