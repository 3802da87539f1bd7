package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
)

func TestCORS(t *testing.T) {
	e := newEnv(t)
	hdr := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	const good, bad = "https://app.example.com", "https://evil.example.com"
	tests := []struct {
		name       string
		method     string
		hdr        map[string]string
		want       int
		wantOrigin string
	}{
		{"allowed origin", "GET", hdr("Origin", good, "x-api-key", e.key.Key), 200, good},
		{"allowed origin on a 401", "GET", hdr("Origin", good), 401, good},
		{"disallowed origin", "GET", hdr("Origin", bad, "x-api-key", e.key.Key), 200, ""},
		{"suffix trick", "GET", hdr("Origin", good+".evil.com", "x-api-key", e.key.Key), 200, ""},
		{"null origin", "GET", hdr("Origin", "null", "x-api-key", e.key.Key), 200, ""},
		{"no origin", "GET", hdr("x-api-key", e.key.Key), 200, ""},
		{"preflight allowed, no key needed", "OPTIONS", hdr("Origin", good, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "x-api-key, content-type, x-trace"), 204, good},
		{"preflight disallowed", "OPTIONS", hdr("Origin", bad, "Access-Control-Request-Method", "POST"), 403, ""},
		{"OPTIONS without preflight headers needs a key", "OPTIONS", hdr("Origin", good), 401, good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.seen.count()
			res := e.do(tt.method, "/x", tt.hdr, nil)
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
			if got := res.Header.Values("Access-Control-Allow-Origin"); tt.wantOrigin == "" && len(got) != 0 ||
				tt.wantOrigin != "" && (len(got) != 1 || got[0] != tt.wantOrigin) {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, tt.wantOrigin)
			}
			if acac := res.Header.Get("Access-Control-Allow-Credentials"); (acac == "true") != (tt.wantOrigin != "") {
				t.Errorf("Access-Control-Allow-Credentials %q", acac)
			}
			if !hasVaryOrigin(res.Header) {
				t.Errorf("no Vary: Origin")
			}
			if tt.method == "OPTIONS" && tt.want != 401 && e.seen.count() != before {
				t.Error("preflight reached the upstream")
			}
			if tt.want == 204 {
				ah := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
				for _, h := range []string{"x-api-key", "authorization", "content-type", "x-trace"} {
					if !strings.Contains(ah, h) {
						t.Errorf("Access-Control-Allow-Headers %q lacks %s", ah, h)
					}
				}
				if !strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") {
					t.Errorf("Access-Control-Allow-Methods %q", res.Header.Get("Access-Control-Allow-Methods"))
				}
			}
		})
	}
}

func TestUpstreamCORSHeadersAreReplaced(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Set("X-Request-Id", "upstream-id")
		w.Header().Set("Vary", "Accept-Encoding")
	}))
	defer up.Close()
	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/cors", Upstream: up.URL})
	res := e.do("GET", "/cors", map[string]string{"x-api-key": e.key.Key, "Origin": "https://evil.example.com", "X-Request-Id": "mine"}, nil)
	if res.Header.Get("Access-Control-Allow-Origin") != "" || res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("upstream CORS headers passed: %v", res.Header)
	}
	if got := res.Header.Values("X-Request-Id"); len(got) != 1 || got[0] != "mine" {
		t.Fatalf("X-Request-Id %q", got)
	}
	if !hasVaryOrigin(res.Header) {
		t.Fatalf("Vary %q", res.Header.Values("Vary"))
	}
}

// TestUpstreamCannotSetTheConsoleCookie: cookies are not bound to a port, so a cookie an
// upstream sets through the gateway lands on the console's host too; one named like the
// console's session would plant a session in the console (a fixation / login-CSRF path).
func TestUpstreamCannotSetTheConsoleCookie(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "keygate_session=planted; Path=/; HttpOnly")
		w.Header().Add("Set-Cookie", " __Secure-keygate_session=planted; Path=/; Secure")
		w.Header().Add("Set-Cookie", "theme=dark; Path=/")
	}))
	defer up.Close()
	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/cookies", Upstream: up.URL})
	res := e.do("GET", "/cookies", map[string]string{"x-api-key": e.key.Key}, nil)
	got := res.Header.Values("Set-Cookie")
	if len(got) != 1 || !strings.HasPrefix(got[0], "theme=dark") {
		t.Fatalf("Set-Cookie %q, want only the upstream's own theme cookie", got)
	}
}

func newServer(t *testing.T, e *env, opts ...envOption) *gateway.Server {
	t.Helper()
	cfg := gateway.Config{Store: e.st, Keys: e.keys, Routes: e.routes, Clock: e.clock, Listen: "127.0.0.1:0"}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := gateway.NewServer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s
}

func TestHeaderLimit431(t *testing.T) {
	e := newEnv(t)
	s := newServer(t, e)
	addr := strings.TrimPrefix(s.URL(), "http://")
	send := func(total int) int {
		head := "GET /x HTTP/1.1\r\nHost: " + addr + "\r\nx-api-key: " + e.key.Key + "\r\nConnection: close\r\n"
		pad := total - len(head) - len("X-Pad: \r\n") - len("\r\n")
		req := head + "X-Pad: " + strings.Repeat("a", pad) + "\r\n\r\n"
		if len(req) != total {
			t.Fatalf("built %d bytes, want %d", len(req), total)
		}
		c := rawRequest(t, addr, req)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode == 431 {
			// The answer is a problem like every other the gateway gives.
			if p := readProblem(t, res); p.Code != gateway.CodeHeadersTooLarge || p.Status != 431 {
				t.Fatalf("431 answer %+v", p)
			}
		}
		return res.StatusCode
	}
	if got := send(32<<10 - 100); got != 200 {
		t.Fatalf("request head just under 32 KiB: %d", got)
	}
	if got := send(32<<10 + 100); got != 431 {
		t.Fatalf("request head just over 32 KiB: %d, want 431", got)
	}
	if got := send(200 << 10); got != 431 {
		t.Fatalf("200 KiB head: %d, want 431", got)
	}
}

func TestServerStartStopStatus(t *testing.T) {
	e := newEnv(t)
	cfg := gateway.Config{Store: e.st, Keys: e.keys, Routes: e.routes, Listen: "127.0.0.1:0"}
	s, err := gateway.NewServer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.Running {
		t.Fatal("running before Start")
	}
	for range 2 { // can be started again after Stop (the desktop window's start/stop button)
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != gateway.ErrRunning {
			t.Fatalf("second Start: %v", err)
		}
		st := s.Status()
		if !st.Running || st.StartedAt == nil || !strings.HasPrefix(st.URL, "http://127.0.0.1:") {
			t.Fatalf("status %+v", st)
		}
		res, err := http.Get(st.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Fatalf("status %d", res.StatusCode)
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if s.Status().Running {
			t.Fatal("running after Stop")
		}
		if _, err := http.Get(st.URL + "/x"); err == nil {
			t.Fatal("still answering after Stop")
		}
	}
}

func TestListenAddressChecks(t *testing.T) {
	for _, tt := range []struct {
		addr   string
		remote bool
		ok     bool
		warn   bool
	}{
		{"127.0.0.1:8787", false, true, false},
		{"[::1]:8787", false, true, false},
		{"localhost:8787", false, true, false},
		{"0.0.0.0:8787", false, false, false},
		{":8787", false, false, false},
		{"192.0.2.1:8787", false, false, false},
		{"0.0.0.0:8787", true, true, true},
		{"nonsense", true, false, false},
	} {
		warn, err := gateway.CheckListen(tt.addr, tt.remote)
		if (err == nil) != tt.ok || (warn != "") != tt.warn {
			t.Errorf("CheckListen(%q, %v) = %q, %v", tt.addr, tt.remote, warn, err)
		}
	}
}

func TestGracefulShutdownDrains(t *testing.T) {
	arrived := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(400 * time.Millisecond)
		io.WriteString(w, "finished")
	}))
	defer up.Close()
	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/slow", Upstream: up.URL})
	// A key service of its own, without the env's background flusher, so that only Stop can
	// have written the usage checked at the end.
	ks := keys.New(e.st, keys.WithClock(e.clock))
	s := newServer(t, e, func(c *gateway.Config) { c.Keys = ks })
	url := s.URL()

	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", url+"/slow", nil)
		req.Header.Set("x-api-key", e.key.Key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		done <- result{string(b), err}
	}()
	<-arrived
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("new connections accepted while draining")
	}
	r := <-done
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	// Usage is flushed on stop.
	k, err := e.keys.Get(context.Background(), "", e.key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k.UsageCount < 1 || k.LastUsedAt == nil {
		t.Fatalf("usage not flushed: %+v", k)
	}
}

func TestRequestLog(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/a?secret=1", map[string]string{"x-api-key": e.key.Key, "Cookie": "keygate_session=abc; theme=dark", "X-Custom": "ok"}, nil)
	e.do("GET", "/b", map[string]string{"Authorization": "Bearer " + e.key.Key, "X-Echo": e.key.Key}, nil)
	e.do("GET", "/c", nil, nil)

	got := e.gw.Requests(gateway.Filter{})
	if len(got) != 3 {
		t.Fatalf("%d entries", len(got))
	}
	if got[0].Path != "/c" || got[0].Status != 401 || got[0].ErrorCode != "MISSING_CREDENTIAL" {
		t.Fatalf("newest %+v", got[0])
	}
	if got[2].Path != "/a" || got[2].KeyID != e.key.ID || got[2].KeyName != "test key" || got[2].OrgID != e.org.ID || got[2].Route != "/" {
		t.Fatalf("oldest %+v", got[2])
	}
	if got := e.gw.Requests(gateway.Filter{Status: "4xx"}); len(got) != 1 {
		t.Fatalf("4xx filter: %d", len(got))
	}
	if got := e.gw.Requests(gateway.Filter{KeyID: e.key.ID}); len(got) != 2 {
		t.Fatalf("key filter: %d", len(got))
	}
	if got := e.gw.Requests(gateway.Filter{OrgID: e.org.ID, IncludeAnonymous: false}); len(got) != 2 {
		t.Fatalf("org filter: %d", len(got))
	}
	// Persisted within a couple of seconds, with no secret anywhere in the table.
	var rows []gateway.Entry
	deadline := time.Now().Add(10 * time.Second)
	for len(rows) < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		var err error
		if rows, err = gateway.QueryRequests(context.Background(), e.st, gateway.Filter{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("%d persisted rows", len(rows))
	}
	if rows[2].Headers.Get("X-Custom") != "[redacted]" || rows[2].Headers.Get("X-Api-Key") != "[redacted]" ||
		rows[2].Headers.Get("User-Agent") == "[redacted]" || rows[2].Headers.Get("User-Agent") == "" {
		t.Fatalf("persisted headers %v", rows[2].Headers)
	}
	for _, entries := range [][]gateway.Entry{got, rows} {
		for _, en := range entries {
			for name, vs := range en.Headers {
				for _, v := range vs {
					if strings.Contains(v, e.key.Key) || strings.Contains(v, "abc") {
						t.Errorf("secret in logged header %s: %q", name, v)
					}
				}
			}
		}
	}
	var n int
	if err := e.st.Read.QueryRow(`SELECT count(*) FROM request_log WHERE headers LIKE ? OR path LIKE '%secret%'`,
		"%"+e.key.Key[3:20]+"%").Scan(&n); err != nil || n != 0 {
		t.Fatalf("secret found in %d rows (%v)", n, err)
	}
}

func TestRequestLogIsBounded(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.RequestLogSize = 5; c.RequestLogKeep = 7 })
	for range 12 {
		e.do("GET", "/x", nil, nil)
	}
	if got := e.gw.Requests(gateway.Filter{}); len(got) != 5 {
		t.Fatalf("ring holds %d, want 5", len(got))
	}
}

// TestPersistedRequestLogIsPruned: the table keeps the newest RequestLogKeep rows. (The ring is
// larger than that here, so more rows than the bound are written and pruning has to happen.)
func TestPersistedRequestLogIsPruned(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.RequestLogSize = 50; c.RequestLogKeep = 7 })
	for i := range 12 {
		e.do("GET", fmt.Sprintf("/x/%d", i), nil, nil)
	}
	deadline := time.Now().Add(10 * time.Second)
	var n int
	for n == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing persisted")
		}
		time.Sleep(50 * time.Millisecond)
		e.st.Read.QueryRow(`SELECT count(*) FROM request_log`).Scan(&n)
	}
	if n != 7 {
		t.Fatalf("%d rows kept, want 7", n)
	}
	rows, err := gateway.QueryRequests(context.Background(), e.st, gateway.Filter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Path != "/x/11" || rows[6].Path != "/x/5" {
		t.Fatalf("kept %s … %s, want the newest: /x/11 … /x/5", rows[0].Path, rows[6].Path)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	// The second request with the key is answered from the cache — unless the keys service's
	// change feed, started with the environment just after the key was created, drops the
	// cache in between (it did in about one run of two): then the next request is.
	sent := 0
	for hits, _ := e.keys.CacheStats(); hits == 0 && sent < 10; hits, _ = e.keys.CacheStats() {
		e.do("GET", "/x", map[string]string{"x-api-key": e.key.Key}, nil)
		sent++
	}
	hits, _ := e.keys.CacheStats()
	if hits == 0 {
		t.Fatalf("%d requests with one key, no cache hit", sent)
	}
	e.do("GET", "/x", nil, nil)
	rec := httptest.NewRecorder()
	e.gw.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`keygate_gateway_requests_total{route="/",code="200"} ` + strconv.Itoa(sent),
		`keygate_gateway_requests_total{route="/",code="401"} 1`,
		`keygate_gateway_request_duration_seconds_count{route="/"} ` + strconv.Itoa(sent+1),
		`keygate_gateway_request_duration_seconds_bucket{route="/",le="+Inf"} ` + strconv.Itoa(sent+1),
		`keygate_key_cache_hits_total ` + strconv.FormatUint(hits, 10),
		"# TYPE keygate_gateway_requests_total counter",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("content type %q", rec.Header().Get("Content-Type"))
	}
}

// TestMetricsAddUpOverLoops: requests spread over many connections (so over every event
// loop, each counting in its own shard) are all in the metrics once, none is left in flight,
// and no two get the same request id.
func TestMetricsAddUpOverLoops(t *testing.T) {
	e := newEnv(t)
	const conns, each = 8, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]bool{}
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{}} // a connection of its own
			defer c.CloseIdleConnections()
			for range each {
				req, _ := http.NewRequest("GET", e.srv.URL+"/x", nil)
				req.Header.Set("x-api-key", e.key.Key)
				res, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Errorf("status %d", res.StatusCode)
				}
				mu.Lock()
				if id := res.Header.Get("X-Request-Id"); id == "" || ids[id] {
					t.Errorf("request id %q missing or given twice", id)
				} else {
					ids[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rec := httptest.NewRecorder()
	e.gw.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	want := []string{
		`keygate_gateway_requests_total{route="/",code="200"} ` + strconv.Itoa(conns*each),
		`keygate_gateway_request_duration_seconds_count{route="/"} ` + strconv.Itoa(conns*each),
		"keygate_gateway_inflight_requests 0\n",
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %q:\n%s", w, body)
		}
	}
	if os.Getenv("KEYGATE_TEST_ENGINE") == "" { // the event loops: each request on one or off it
		var onLoop, off int
		for _, l := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(l, `keygate_gateway_loop_requests_total{path="loop"} `); ok {
				onLoop, _ = strconv.Atoi(v)
			}
			if v, ok := strings.CutPrefix(l, `keygate_gateway_loop_requests_total{path="offloaded"} `); ok {
				off, _ = strconv.Atoi(v)
			}
		}
		if onLoop+off != conns*each || onLoop < conns*each/2 {
			t.Errorf("loops served %d and offloaded %d of %d requests", onLoop, off, conns*each)
		}
	}
	if hits, misses := e.keys.CacheStats(); hits+misses < conns*each {
		t.Errorf("%d verifications counted (%d hits, %d misses), want %d", hits+misses, hits, misses, conns*each)
	}
}

func TestSettingsReload(t *testing.T) {
	e := newEnv(t)
	if e.gw.UpstreamTimeout() != routes.DefaultUpstreamTimeout {
		t.Fatalf("timeout %v", e.gw.UpstreamTimeout())
	}
	if _, err := e.routes.UpdateSettings(context.Background(), routes.Settings{
		AllowedOrigins: []string{"https://docs.example.com"}, UpstreamTimeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.gw.UpstreamTimeout() != 5*time.Second {
		if time.Now().After(deadline) {
			t.Fatal("timeout setting not picked up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	res := e.do("GET", "/x", map[string]string{"Origin": "https://docs.example.com", "x-api-key": e.key.Key}, nil)
	if res.Header.Get("Access-Control-Allow-Origin") != "https://docs.example.com" {
		t.Fatal("stored origin not allowed")
	}
	// Flag origins stay allowed alongside stored ones.
	res = e.do("GET", "/x", map[string]string{"Origin": "https://app.example.com", "x-api-key": e.key.Key}, nil)
	if res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatal("configured origin dropped")
	}
}

// TestSettingsChangedBeforeRunAreFollowed: a setting stored after New read the settings but
// before Run subscribed to the change feed (the feed already running for another subscriber,
// so no start-up Resync comes) is still picked up.
func TestSettingsChangedBeforeRunAreFollowed(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	defer st.Changes().Subscribe(func(store.Change) {})()
	for !st.Changes().Listening() {
		time.Sleep(5 * time.Millisecond)
	}
	rs := routes.New(st, testutil.NewClock())
	gw, err := gateway.New(ctx, gateway.Config{Store: st, Keys: keys.New(st), Routes: rs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.UpdateSettings(ctx, routes.Settings{UpstreamTimeout: 7 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if gw.UpstreamTimeout() != routes.DefaultUpstreamTimeout {
		t.Fatal("the gateway followed the feed before Run")
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); gw.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); gw.UpstreamTimeout() != 7*time.Second; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a setting stored before Run subscribed was never picked up")
		}
	}
}

func TestConsoleOrigins(t *testing.T) {
	got := gateway.ConsoleOrigins("127.0.0.1:8788")
	l := gateway.NewOriginList(got)
	for _, o := range []string{"http://127.0.0.1:8788", "http://localhost:8788"} {
		if !l.Allows(o) {
			t.Errorf("%s not allowed (%v)", o, got)
		}
	}
	if l.Allows("http://localhost:9999") {
		t.Error("other port allowed")
	}
}

// TestRequestLogMasksBeforeCutting: long header values are cut to 512 bytes; a key that
// straddles the cut must still be hidden, not logged as a no-longer-key-shaped stub that
// carries the first characters of its secret.
func TestRequestLogMasksBeforeCutting(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 500) + " " + e.key.Key
	e.do("GET", "/x", map[string]string{"x-api-key": e.key.Key, "X-Note": long}, nil)
	got := e.gw.Requests(gateway.Filter{Limit: 1})
	if len(got) != 1 {
		t.Fatalf("%d entries", len(got))
	}
	v := got[0].Headers.Get("X-Note")
	if len(v) > 512 {
		t.Errorf("value of %d bytes kept, want at most 512", len(v))
	}
	// The first 4 characters are public (the key's "start"); the next ones are not.
	if secret := e.key.Key[len("kg_"):]; strings.Contains(v, secret[4:8]) {
		t.Errorf("logged %q holds part of the key's secret", v[500:])
	}
}

func TestValidStatusFilter(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "4xx": true, "2XX": true, "401": true, "599": true,
		"6xx": false, "0xx": false, "401abc": false, "4 01": false, "+401": false, "099": false, "600": false, "x": false,
	} {
		if got := gateway.ValidStatusFilter(s); got != want {
			t.Errorf("ValidStatusFilter(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestServerStopRightAfterStart: a Stop that comes before the engine has begun serving (the
// desktop app quit as it opens, with its gateway starting) returns, and frees the port.
func TestServerStopRightAfterStart(t *testing.T) {
	e := newEnv(t)
	s, err := gateway.NewServer(context.Background(), gateway.Config{Store: e.st, Keys: e.keys, Routes: e.routes, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Stop(context.Background()) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Stop right after Start did not return")
		}
	}
}
