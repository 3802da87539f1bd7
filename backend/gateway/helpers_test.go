package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/usage"
)

// env is a gateway in front of an echo upstream, over real sockets.
type env struct {
	t      testing.TB
	st     *store.Store
	keys   *keys.Service
	routes *routes.Service
	org    orgs.Org
	clock  *clock.Fake
	gw     *gateway.Gateway
	srv    *testServer
	up     *httptest.Server
	key    keys.Created
	seen   *seenRequests
	usage  *usage.Recorder
}

// seenRequests records what reached the upstream.
type seenRequests struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *seenRequests) add(r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.mu.Unlock()
}

func (s *seenRequests) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *seenRequests) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return nil
	}
	return s.reqs[len(s.reqs)-1]
}

// echo is what the echo upstream answers: what it received.
type echo struct {
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query"`
	Host   string      `json:"host"`
	Header http.Header `json:"header"`
	Body   string      `json:"body"`
}

func echoHandler(seen *seenRequests) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r.Clone(context.Background()))
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echo{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, Header: r.Header, Body: string(body)})
	})
}

type envOption func(*gateway.Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, st: testutil.NewStore(t), clock: testutil.NewClock(), seen: &seenRequests{}}
	e.org = testutil.DefaultOrg(t, e.st)
	e.keys = keys.New(e.st, keys.WithClock(e.clock))
	e.routes = routes.New(e.st, e.clock)
	e.up = httptest.NewServer(echoHandler(e.seen))
	t.Cleanup(e.up.Close)
	if _, err := e.routes.Add(ctx, routes.Params{Prefix: "/", Upstream: e.up.URL}); err != nil {
		t.Fatal(err)
	}
	k, err := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: "test key", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e.key = k
	e.usage = usage.NewRecorder(e.st, usage.Options{Clock: e.clock})
	cfg := gateway.Config{Store: e.st, Keys: e.keys, Routes: e.routes, Clock: e.clock,
		AllowedOrigins: []string{"https://app.example.com"}, Usage: e.usage}
	for _, o := range opts {
		o(&cfg)
	}
	e.gw, err = gateway.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.gw.Run(runCtx) }()
	kctx, kcancel := context.WithCancel(ctx)
	kdone := make(chan struct{})
	go func() { defer close(kdone); e.keys.Run(kctx) }()
	e.srv = serveGateway(t, e.gw)
	t.Cleanup(func() {
		e.srv.Close()
		cancel()
		<-done
		kcancel()
		<-kdone
	})
	return e
}

// testServer is a gateway serving on a loopback listener.
type testServer struct {
	URL      string
	Listener net.Listener
	Close    func()
}

// serveGateway serves gw on a loopback port with the engine KEYGATE_TEST_ENGINE names: the
// event loops by default (as keygate serve runs), "fasthttp" for fasthttp alone, "nethttp" for
// the net/http one (Gateway as an http.Handler).
func serveGateway(t testing.TB, gw *gateway.Gateway) *testServer {
	t.Helper()
	engine := os.Getenv("KEYGATE_TEST_ENGINE")
	if engine == gateway.EngineNetHTTP {
		hs := httptest.NewServer(gw)
		return &testServer{URL: hs.URL, Listener: hs.Listener, Close: hs.Close}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if engine != gateway.EngineFastHTTP {
		stop, err := gw.ServeLoop(ln)
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		return &testServer{URL: "http://" + ln.Addr().String(), Listener: ln, Close: func() {
			once.Do(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				stop(ctx)
			})
		}}
	}
	fs := gw.FastServer()
	done := make(chan struct{})
	go func() { defer close(done); fs.Serve(ln) }()
	var once sync.Once
	return &testServer{URL: "http://" + ln.Addr().String(), Listener: ln, Close: func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			fs.ShutdownWithContext(ctx)
			<-done
		})
	}}
}

// addRoute adds a route and reloads the gateway.
func (e *env) addRoute(p routes.Params) routes.Route {
	e.t.Helper()
	r, err := e.routes.Add(context.Background(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.gw.Reload(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// do sends a request through the gateway.
func (e *env) do(method, path string, hdr map[string]string, body io.Reader) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func readEcho(t testing.TB, res *http.Response) echo {
	t.Helper()
	var ec echo
	if err := json.NewDecoder(res.Body).Decode(&ec); err != nil {
		t.Fatalf("decode upstream echo (status %d): %v", res.StatusCode, err)
	}
	return ec
}

func readProblem(t testing.TB, res *http.Response) gateway.Problem {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	var p gateway.Problem
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatalf("decode problem: %v", err)
	}
	if p.Status != res.StatusCode || p.Detail == "" || p.Title == "" || p.Type == "" {
		t.Fatalf("incomplete problem %+v for status %d", p, res.StatusCode)
	}
	return p
}

// rawRequest writes a raw HTTP/1.1 request on a new connection and returns the connection.
func rawRequest(t testing.TB, addr, req string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return c
}

// fakeSessions accepts the tokens it holds.
type fakeSessions map[string]gateway.SessionResult

func (f fakeSessions) VerifySession(_ context.Context, token string) (gateway.SessionResult, error) {
	if r, ok := f[token]; ok {
		return r, nil
	}
	return gateway.SessionResult{Code: keys.CodeNotFound}, nil
}

var _ gateway.SessionVerifier = fakeSessions(nil)

// openSecond opens the env's database file a second time, standing in for another process.
func openSecond(t testing.TB, e *env) (*store.Store, error) {
	st, err := store.OpenFile(context.Background(), e.st.Path)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { st.Close() })
	return st, nil
}
