package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/ratelimit"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
)

// The event-loop engine's own paths: what a loop serves itself, what it checks off the loop,
// what it hands over to fasthttp, and how it relays upstream answers of every framing. The rest
// of the package's tests run on it too (serveGateway), these pin down where each request went.

func skipUnlessLoop(t *testing.T) {
	t.Helper()
	if e := os.Getenv("KEYGATE_TEST_ENGINE"); e != "" && e != gateway.EngineLoop {
		t.Skipf("the event loops' own paths (engine %s under test)", e)
	}
}

// loopCounts reads keygate_gateway_loop_requests_total.
func loopCounts(t *testing.T, gw *gateway.Gateway) (served, offloaded, handed int) {
	t.Helper()
	rec := httptest.NewRecorder()
	gw.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	get := func(path string) int {
		m := regexp.MustCompile(`keygate_gateway_loop_requests_total\{path="` + path + `"\} (\d+)`).FindStringSubmatch(rec.Body.String())
		if m == nil {
			t.Fatalf("no loop counter for %s in:\n%s", path, rec.Body.String())
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return get("loop"), get("offloaded"), get("handed_over")
}

// rawConn is a client connection that writes bytes as given and reads answers one by one.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, url string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) write(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

// read reads one answer to a request of method and returns it with its body read.
func (r *rawConn) read(method string) (*http.Response, string) {
	r.t.Helper()
	res, err := http.ReadResponse(r.br, &http.Request{Method: method})
	if err != nil {
		r.t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return res, string(b)
}

func get(path, key string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: " + key + "\r\n\r\n"
}

// warmLoop sends requests with e.key until one is served on a loop: the key is cached (the key
// service may drop its cache once as it starts following changes).
func warmLoop(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s0, _, _ := loopCounts(t, e.gw)
		c := dialRaw(t, e.srv.URL)
		c.write(get("/warm", e.key.Key))
		if res, _ := c.read("GET"); res.StatusCode != 200 {
			t.Fatalf("warm-up: %d", res.StatusCode)
		}
		c.c.Close()
		if s, _, _ := loopCounts(t, e.gw); s > s0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no request was served on a loop")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLoopServesCachedKeysAndChecksOthersOffTheLoop(t *testing.T) {
	skipUnlessLoop(t)
	e := newEnv(t)
	warmLoop(t, e)
	// A key not in the cache yet: its check goes off the loop, the connection stays.
	other, err := e.keys.Create(context.Background(), keys.CreateParams{OrgID: e.org.ID, Name: "other", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s0, o0, h0 := loopCounts(t, e.gw)
	c := dialRaw(t, e.srv.URL)
	c.write(get("/first", other.Key))
	res, body := c.read("GET")
	if res.StatusCode != 200 || !strings.Contains(body, `"path":"/first"`) {
		t.Fatalf("first request: %d %s", res.StatusCode, body)
	}
	// Now it is: two requests in one write (pipelined) are served on the loop, in order; so
	// is a missing key's 401.
	c.write(get("/second", other.Key) + get("/third", other.Key) + "GET /fourth HTTP/1.1\r\nHost: localhost\r\n\r\n")
	for _, p := range []string{"/second", "/third"} {
		res, body := c.read("GET")
		if res.StatusCode != 200 || !strings.Contains(body, `"path":"`+p+`"`) {
			t.Fatalf("%s: %d %s", p, res.StatusCode, body)
		}
	}
	if res, body := c.read("GET"); res.StatusCode != 401 || !strings.Contains(body, "MISSING_CREDENTIAL") {
		t.Fatalf("no key: %d %s", res.StatusCode, body)
	}
	s, o, h := loopCounts(t, e.gw)
	if s-s0 != 3 || o-o0 != 1 || h-h0 != 0 {
		t.Fatalf("loop counters moved by served %d, offloaded %d, handed over %d; want 3, 1, 0", s-s0, o-o0, h-h0)
	}
	// What the upstream saw of a loop-served request: the key gone, the identity there.
	up := e.seen.last()
	if up.Header.Get("X-Api-Key") != "" || up.Header.Get("X-Keygate-Key-Id") != other.ID {
		t.Fatalf("upstream saw X-Api-Key %q, X-Keygate-Key-Id %q", up.Header.Get("X-Api-Key"), up.Header.Get("X-Keygate-Key-Id"))
	}
	// The log has each request once, with its key.
	n := 0
	for _, en := range e.gw.Requests(gateway.Filter{}) {
		if en.Path == "/second" || en.Path == "/third" {
			n++
			if en.KeyID != other.ID || en.Status != 200 {
				t.Fatalf("log entry %+v", en)
			}
		}
	}
	if n != 2 {
		t.Fatalf("%d log entries for the pipelined requests, want 2", n)
	}
}

func TestLoopHandsOverWhatItDoesNotRead(t *testing.T) {
	skipUnlessLoop(t)
	e := newEnv(t)
	warmLoop(t, e)

	cases := []struct {
		name  string
		parts []string
		path  string
		body  string
	}{
		{"chunked upload", []string{"POST /chunked HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: " + e.key.Key +
			"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"}, "/chunked", "hello world"},
		{"HTTP/1.0", []string{"GET /old HTTP/1.0\r\nHost: localhost\r\nX-Api-Key: " + e.key.Key + "\r\n\r\n"}, "/old", ""},
		{"body not all here", []string{"POST /later HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: " + e.key.Key +
			"\r\nContent-Length: 10\r\n\r\n01234", "56789"}, "/later", "0123456789"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, h0 := loopCounts(t, e.gw)
			c := dialRaw(t, e.srv.URL)
			for _, p := range tc.parts {
				c.write(p)
				time.Sleep(50 * time.Millisecond)
			}
			res, body := c.read(strings.Fields(tc.parts[0])[0])
			if res.StatusCode != 200 || !strings.Contains(body, `"path":"`+tc.path+`"`) || !strings.Contains(body, `"body":"`+tc.body+`"`) {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
			if _, _, h := loopCounts(t, e.gw); h != h0+1 {
				t.Fatalf("handed over %d, want 1", h-h0)
			}
			if up := e.seen.last(); up.Header.Get("X-Api-Key") != "" || up.Header.Get("X-Keygate-Key-Id") != e.key.ID {
				t.Fatalf("upstream saw X-Api-Key %q, X-Keygate-Key-Id %q", up.Header.Get("X-Api-Key"), up.Header.Get("X-Keygate-Key-Id"))
			}
		})
	}
}

// TestLoopWaitsForAHeadInParts: a head that comes in several reads (a large one over a real
// network, a slow client) is read on the loop once it is whole; one that does not come whole
// within the head timeout is answered 408 and closed, as fasthttp answers it; a bare LF or a
// head over the limit still goes to fasthttp.
func TestLoopWaitsForAHeadInParts(t *testing.T) {
	skipUnlessLoop(t)
	e := newEnv(t, func(c *gateway.Config) { c.ReadHeaderTimeout = 400 * time.Millisecond })
	warmLoop(t, e)

	s0, o0, h0 := loopCounts(t, e.gw)
	c := dialRaw(t, e.srv.URL)
	req := get("/split", e.key.Key)
	for _, part := range []string{req[:5], req[5:30], req[30:]} {
		c.write(part)
		time.Sleep(100 * time.Millisecond)
	}
	if res, body := c.read("GET"); res.StatusCode != 200 || !strings.Contains(body, `"path":"/split"`) {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	// The same connection again, its next head in parts too.
	c.write(req[:40])
	time.Sleep(100 * time.Millisecond)
	c.write(req[40:])
	if res, _ := c.read("GET"); res.StatusCode != 200 {
		t.Fatalf("second request: %d", res.StatusCode)
	}
	if s, o, h := loopCounts(t, e.gw); s+o != s0+o0+2 || h != h0 {
		t.Fatalf("served from a loop %d, handed over %d; want 2 and 0", s+o-s0-o0, h-h0)
	}

	for _, tc := range []struct {
		name, first string
	}{
		{"new connection", "GET /slow HTTP/1.1\r\nHost: localhost\r\n"},
		{"after a request", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, e.srv.URL)
			if tc.first == "" {
				c.write(req)
				if res, _ := c.read("GET"); res.StatusCode != 200 {
					t.Fatalf("%d", res.StatusCode)
				}
				time.Sleep(600 * time.Millisecond) // idle for longer than the head timeout: not a head yet
				tc.first = "GET /slow HTTP/1.1\r\n"
			}
			start := time.Now()
			c.write(tc.first)
			res, body := c.read("GET")
			if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, string(gateway.CodeRequestTimeout)) || !res.Close {
				t.Fatalf("%d %s (close %v), want 408 %s and the connection closed", res.StatusCode, body, res.Close, gateway.CodeRequestTimeout)
			}
			if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
				t.Fatalf("answered after %v, want about the head timeout", d)
			}
			if _, err := c.br.ReadByte(); err == nil {
				t.Fatal("the connection is still open")
			}
		})
	}

	// Not read on the loop: a head with a bare LF (fasthttp's to refuse, as on the fasthttp
	// engine: it waits for a CRLF end and answers 408) and one over the limit (431).
	_, _, h0 = loopCounts(t, e.gw)
	before := e.seen.count()
	c = dialRaw(t, e.srv.URL)
	c.write("GET /x HTTP/1.1\nHost: localhost\nX-Api-Key: " + e.key.Key + "\n")
	time.Sleep(50 * time.Millisecond)
	c.write("\n")
	if res, _ := c.read("GET"); res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("bare LF: %d, want fasthttp's refusal", res.StatusCode)
	}
	if e.seen.count() != before {
		t.Fatal("a head with bare LFs reached the upstream")
	}
	c = dialRaw(t, e.srv.URL)
	c.write("GET /x HTTP/1.1\r\nHost: localhost\r\nX-Big: " + strings.Repeat("a", 1<<20))
	if res, _ := c.read("GET"); res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("large head: %d, want 431", res.StatusCode)
	}
	if _, _, h := loopCounts(t, e.gw); h != h0+2 {
		t.Fatalf("handed over %d, want 2", h-h0)
	}
}

// scriptedUpstream is an upstream whose answers are written by hand: answer writes what it
// owes for each request (read with http.ReadRequest, body drained) to c and says whether the
// connection stays open.
func scriptedUpstream(t *testing.T, answer func(c net.Conn, req *http.Request) (keep bool)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if !answer(c, req) {
						return
					}
				}
			}(c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// framingUpstream answers each path with a different framing, written by hand.
func framingUpstream(t *testing.T) string {
	return scriptedUpstream(t, func(c net.Conn, req *http.Request) bool {
		var out string
		closeAfter := false
		switch req.URL.Path {
		case "/chunked":
			out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
				"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Sum: 7\r\n\r\n"
		case "/close":
			out = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"
			closeAfter = true
		case "/early":
			out = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
				"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter"
		case "/empty":
			out = "HTTP/1.1 204 No Content\r\nX-Seen: yes\r\n\r\n"
		case "/head":
			out = "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n"
		case "/broken":
			out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
			closeAfter = true
		case "/stream":
			// The first event, then a pause: a client must see it before the rest.
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+
				"e\r\ndata: first\n\n\r\n")
			time.Sleep(300 * time.Millisecond)
			out = "f\r\ndata: second\n\n\r\n0\r\n\r\n"
		default:
			out = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
		}
		io.WriteString(c, out)
		return !closeAfter
	})
}

func TestLoopRelaysEveryFraming(t *testing.T) {
	skipUnlessLoop(t)
	up := framingUpstream(t)
	e := newEnv(t, routeFirst(t, routes.Params{Prefix: "/f", Upstream: up, StripPrefix: true}))
	warmLoop(t, e)
	s0, _, h0 := loopCounts(t, e.gw)

	c := dialRaw(t, e.srv.URL)
	c.write(get("/f/chunked", e.key.Key))
	res, body := c.read("GET")
	if res.StatusCode != 200 || body != "abcdefg" || len(res.TransferEncoding) == 0 || res.Trailer.Get("X-Sum") != "" {
		t.Fatalf("chunked: %d %q %v trailer %v", res.StatusCode, body, res.TransferEncoding, res.Trailer)
	}
	c.write(get("/f/early", e.key.Key))
	if res, body := c.read("GET"); res.StatusCode != 200 || body != "after" {
		t.Fatalf("after an interim answer: %d %q", res.StatusCode, body)
	}
	c.write(get("/f/empty", e.key.Key))
	if res, body := c.read("GET"); res.StatusCode != 204 || body != "" || res.Header.Get("X-Seen") != "yes" {
		t.Fatalf("204: %d %q %v", res.StatusCode, body, res.Header)
	}
	c.write("HEAD /f/head HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: " + e.key.Key + "\r\n\r\n")
	if res, body := c.read("HEAD"); res.StatusCode != 200 || body != "" || res.ContentLength != 42 {
		t.Fatalf("HEAD: %d %q length %d", res.StatusCode, body, res.ContentLength)
	}
	// A body that ends when the upstream closes reaches the client chunked, and the client's
	// connection lives on.
	c.write(get("/f/close", e.key.Key))
	if res, body := c.read("GET"); res.StatusCode != 200 || body != "until the end" || res.Close {
		t.Fatalf("close-delimited: %d %q close %v", res.StatusCode, body, res.Close)
	}
	c.write(get("/f/chunked", e.key.Key))
	if _, body := c.read("GET"); body != "abcdefg" {
		t.Fatalf("after a close-delimited answer: %q", body)
	}

	// An event stream arrives as it is sent.
	sc := dialRaw(t, e.srv.URL)
	sc.write(get("/f/stream", e.key.Key))
	res, err := http.ReadResponse(sc.br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	if waited := time.Since(start); waited > 250*time.Millisecond {
		t.Fatalf("the first event came after %v, with the second", waited)
	}

	// A chunked body the upstream breaks off: the client's answer ends early (its connection
	// closes), never with bytes the upstream did not frame.
	bc := dialRaw(t, e.srv.URL)
	bc.write(get("/f/broken", e.key.Key))
	res, err = http.ReadResponse(bc.br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(res.Body); err == nil || len(b) != 0 {
		t.Fatalf("broken chunked body read as %q, %v", b, err)
	}

	if s, _, h := loopCounts(t, e.gw); s-s0 != 8 || h != h0 {
		t.Fatalf("served on the loop %d (want 8), handed over %d (want 0)", s-s0, h-h0)
	}
}

func TestLoopUpstreamFailures(t *testing.T) {
	skipUnlessLoop(t)
	e := newEnv(t, func(c *gateway.Config) { c.UpstreamTimeout = 300 * time.Millisecond })
	// Nothing listens on a port just closed.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + ln.Addr().String()
	ln.Close()
	e.addRoute(routes.Params{Prefix: "/down", Upstream: down})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	e.addRoute(routes.Params{Prefix: "/slow", Upstream: slow.URL})
	warmLoop(t, e)

	c := dialRaw(t, e.srv.URL)
	c.write(get("/down", e.key.Key))
	if res, body := c.read("GET"); res.StatusCode != 502 || !strings.Contains(body, "UPSTREAM_UNAVAILABLE") {
		t.Fatalf("down: %d %s", res.StatusCode, body)
	}
	start := time.Now()
	c.write(get("/slow", e.key.Key))
	if res, body := c.read("GET"); res.StatusCode != 504 || !strings.Contains(body, "UPSTREAM_TIMEOUT") {
		t.Fatalf("slow: %d %s", res.StatusCode, body)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("504 after %v, timeout 300ms", took)
	}
	// The connection serves on after both.
	c.write(get("/again", e.key.Key))
	if res, _ := c.read("GET"); res.StatusCode != 200 {
		t.Fatalf("after the failures: %d", res.StatusCode)
	}

	// A client that leaves while its request waits upstream is logged 499.
	lc := dialRaw(t, e.srv.URL)
	lc.write(get("/slow/left", e.key.Key))
	time.Sleep(100 * time.Millisecond)
	lc.c.Close()
	waitLogged(t, e, "/slow/left", 499)
}

// waitLogged waits until the request log has path with status.
func waitLogged(t *testing.T, e *env, path string, status int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := 0
		for _, en := range e.gw.Requests(gateway.Filter{}) {
			if en.Path == path {
				got = en.Status
			}
		}
		if got == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is logged with %d, want %d", path, got, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An upstream that closes a kept-alive connection while it is idle: the next request, sent on
// it, is sent again on a fresh connection, not answered 502.
func TestLoopRetriesAStalePooledConnection(t *testing.T) {
	skipUnlessLoop(t)
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				// Keep-alive promised, then the connection is closed before the next request.
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				time.Sleep(100 * time.Millisecond)
				c.Close()
			}(c)
		}
	}()
	e.addRoute(routes.Params{Prefix: "/stale", Upstream: "http://" + ln.Addr().String()})
	warmLoop(t, e)
	c := dialRaw(t, e.srv.URL)
	for i := 0; i < 3; i++ {
		c.write(get("/stale", e.key.Key))
		if res, body := c.read("GET"); res.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, res.StatusCode, body)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if n := len(conns); n != 3 {
		t.Fatalf("%d upstream connections for 3 requests, each after the last was closed", n)
	}
}

func TestLoopDrainsOnStop(t *testing.T) {
	skipUnlessLoop(t)
	e := newEnv(t)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		fmt.Fprint(w, "done")
	}))
	t.Cleanup(slow.Close)
	e.addRoute(routes.Params{Prefix: "/slow", Upstream: slow.URL})
	warmLoop(t, e)
	idle := dialRaw(t, e.srv.URL)
	idle.write(get("/idle", e.key.Key))
	idle.read("GET")
	busy := dialRaw(t, e.srv.URL)
	busy.write(get("/slow", e.key.Key))
	time.Sleep(100 * time.Millisecond)

	stopped := make(chan struct{})
	go func() { e.srv.Close(); close(stopped) }()
	// The idle connection is closed at once; the busy one gets its answer, with Connection:
	// close, and the drain ends after it.
	if _, err := idle.br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection during the drain: %v, want EOF", err)
	}
	select {
	case <-stopped:
		t.Fatal("the drain ended before the request in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	res, body := busy.read("GET")
	if res.StatusCode != 200 || body != "done" || !res.Close {
		t.Fatalf("in flight during the drain: %d %q close %v", res.StatusCode, body, res.Close)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the drain did not end")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(e.srv.URL, "http://"), time.Second); err == nil {
		t.Fatal("the listener still accepts after the drain")
	}
}

// A client that reads a large answer slowly gets all of it, and the gateway does not hold it:
// past clientLagMax behind, the rest is relayed off the loop as the client takes it.
func TestLoopRelaysToASlowReaderWithoutHoldingTheAnswer(t *testing.T) {
	skipUnlessLoop(t)
	e := newEnv(t)
	const size = 48 << 20
	for _, framing := range []string{"length", "chunked", "handed-over"} {
		t.Run(framing, func(t *testing.T) {
			var sent atomic.Int64
			big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if framing == "length" {
					w.Header().Set("Content-Length", strconv.Itoa(size))
				}
				chunk := bytes.Repeat([]byte("0123456789abcdef"), 4<<10)
				for n := 0; n < size; n += len(chunk) {
					m, err := w.Write(chunk)
					sent.Add(int64(m))
					if err != nil {
						return
					}
				}
			}))
			t.Cleanup(big.Close)
			e.addRoute(routes.Params{Prefix: "/big-" + framing, Upstream: big.URL})
			warmLoop(t, e)
			c := dialRaw(t, e.srv.URL)
			c.c.(*net.TCPConn).SetReadBuffer(64 << 10)
			c.c.SetDeadline(time.Now().Add(60 * time.Second))
			if framing == "handed-over" { // a chunked upload (empty): fasthttp serves it, through the loop
				c.write("GET /big-" + framing + " HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: " + e.key.Key +
					"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
			} else {
				c.write(get("/big-"+framing, e.key.Key))
			}
			// Read nothing for a while: the upstream is held back, far short of the answer.
			time.Sleep(500 * time.Millisecond)
			if n := sent.Load(); n > 24<<20 {
				t.Fatalf("the upstream sent %d MiB while the client read nothing", n>>20)
			}
			// Then read it all, slowly at first.
			res, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatal(err)
			}
			var got int64
			b := make([]byte, 256<<10)
			for {
				n, err := res.Body.Read(b)
				if n > 0 && !bytes.Equal(b[:n], bytes.Repeat([]byte("0123456789abcdef"), (n+15)/16)[:n]) && got%16 == 0 {
					t.Fatalf("bytes at %d are not the upstream's", got)
				}
				got += int64(n)
				if got < 4<<20 {
					time.Sleep(time.Millisecond)
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after %d bytes: %v", got, err)
				}
			}
			if got != size {
				t.Fatalf("the client got %d bytes of %d", got, size)
			}
			// The connection serves on.
			c.write(get("/after", e.key.Key))
			if res, _ := c.read("GET"); res.StatusCode != 200 {
				t.Fatalf("after the slow answer: %d", res.StatusCode)
			}
		})
	}
}

// slowLimiter is a limiter counted elsewhere (as Redis is): each call waits.
type slowLimiter struct {
	ratelimit.Limiter
	wait time.Duration
}

func (s slowLimiter) Take(ctx context.Context, key string, r ratelimit.Rate, now time.Time) (ratelimit.Decision, error) {
	time.Sleep(s.wait)
	return s.Limiter.Take(ctx, key, r, now)
}

func (s slowLimiter) Peek(ctx context.Context, key string, r ratelimit.Rate, now time.Time) (ratelimit.Decision, error) {
	time.Sleep(s.wait)
	return s.Limiter.Peek(ctx, key, r, now)
}

// With limits counted elsewhere, authenticated requests are checked off the loop — the limit
// still holds, and a request whose client leaves while it is checked is logged 499 and never
// forwarded; the loop meanwhile serves other connections.
func TestLoopChecksOffTheLoopWhatWaits(t *testing.T) {
	skipUnlessLoop(t)
	e := newEnv(t, func(c *gateway.Config) {
		c.Limiter = slowLimiter{ratelimit.NewMemory(1000), 300 * time.Millisecond}
		c.Engine = gateway.EngineLoop
	})
	limited, err := e.keys.Create(context.Background(), keys.CreateParams{OrgID: e.org.ID, Name: "limited", CreatedBy: "test",
		RateLimit: 1, RateWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, o0, _ := loopCounts(t, e.gw)
	c := dialRaw(t, e.srv.URL)
	c.write(get("/one", limited.Key))
	if res, _ := c.read("GET"); res.StatusCode != 200 {
		t.Fatalf("first: %d", res.StatusCode)
	}
	c.write(get("/two", limited.Key))
	if res, body := c.read("GET"); res.StatusCode != 429 || !strings.Contains(body, "RATE_LIMITED") {
		t.Fatalf("second: %d %s", res.StatusCode, body)
	}
	if _, o, _ := loopCounts(t, e.gw); o-o0 != 2 {
		t.Fatalf("offloaded %d, want 2", o-o0)
	}

	// A client that leaves while its request is checked.
	before := e.seen.count()
	gone := dialRaw(t, e.srv.URL)
	gone.write(get("/gone", e.key.Key))
	time.Sleep(50 * time.Millisecond)
	gone.c.Close()
	// Meanwhile the loop answers another connection at once (a public route: no check).
	addPublicRoute(e)
	publicAnsweredWithin(t, e, 200*time.Millisecond, "a check off the loop")
	before++ // (the public request reached it)
	waitLogged(t, e, "/gone", 499)
	if n := e.seen.count(); n != before {
		t.Fatalf("the upstream got %d requests from a client that had left", n-before)
	}
}

// routeFirst is a newEnv option that adds route p before anything follows the store's change
// feed. A route added later (addRoute) reaches the feed twice on SQLite: at once, named, from
// this process, and up to a poll later as a change of the revision, which the feed cannot name
// and which so drops the key service's cache — a request then checked off the loop, where a
// test counts what its loops served.
func routeFirst(t *testing.T, p routes.Params) envOption {
	return func(c *gateway.Config) {
		if _, err := c.Routes.Add(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
}

// addPublicRoute routes /open to the env's upstream without a key.
func addPublicRoute(e *env) {
	public := false
	e.addRoute(routes.Params{Prefix: "/open", Upstream: e.up.URL, AuthRequired: &public})
}

// publicAnsweredWithin sends a request for the public route (addPublicRoute) on a connection of
// its own and fails when the answer takes longer than within: the loop was held by what.
func publicAnsweredWithin(t *testing.T, e *env, within time.Duration, what string) {
	t.Helper()
	start := time.Now()
	other := dialRaw(t, e.srv.URL)
	other.write("GET /open/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if res, _ := other.read("GET"); res.StatusCode != 200 {
		t.Fatalf("other: %d", res.StatusCode)
	}
	if took := time.Since(start); took > within {
		t.Fatalf("a public request waited %v behind %s", took, what)
	}
}

// slowForeignKeys is the key service, but telling whether a string that is not a Keygate key
// is an imported one (a store lookup) takes a while.
type slowForeignKeys struct {
	*keys.Service
	wait time.Duration
}

func (k slowForeignKeys) Verify(ctx context.Context, raw string) (keys.Result, error) {
	if _, err := keys.Parse(raw); err != nil {
		time.Sleep(k.wait)
	}
	return k.Service.Verify(ctx, raw)
}

// TestLoopLooksUpForeignAuthorizationOffTheLoop: a request checked off the loop is written for
// its upstream on the loop; whether its Authorization header holds an imported key (a store
// lookup) is found out before it comes back, so the loop never waits on it.
func TestLoopLooksUpForeignAuthorizationOffTheLoop(t *testing.T) {
	skipUnlessLoop(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one loop: a wait on it would hold every connection
	open := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(open.Close)
	public := false
	e := newEnv(t, func(c *gateway.Config) {
		c.Limiter = slowLimiter{ratelimit.NewMemory(1000), 100 * time.Millisecond} // every keyed request goes off the loop
		c.Keys = slowForeignKeys{c.Keys.(*keys.Service), time.Second}
	}, routeFirst(t, routes.Params{Prefix: "/open", Upstream: open.URL, AuthRequired: &public})) // (publicAnsweredWithin)
	// Once the key service knows no imported key exists, a loop takes such a header itself. It
	// forgets when it starts following changes (Subscribe, the feed's first Resync): it must
	// have known for three polls on end.
	known := time.Time{}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := e.keys.Verify(context.Background(), "upstream-token"); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.keys.VerifyCached("upstream-token", time.Now()); !ok || !e.st.Changes().Listening() {
			known = time.Time{}
		} else if known.IsZero() {
			known = time.Now()
		} else if time.Since(known) > 3*store.PollEvery {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the key service does not learn that no imported key exists")
		}
	}
	_, o0, h0 := loopCounts(t, e.gw)
	c := dialRaw(t, e.srv.URL)
	c.write("GET /keyed HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: " + e.key.Key + "\r\nAuthorization: Bearer upstream-token\r\n\r\n")
	time.Sleep(250 * time.Millisecond) // its checks are done; the lookup is under way
	publicAnsweredWithin(t, e, 500*time.Millisecond, "a lookup for another request")
	if res, _ := c.read("GET"); res.StatusCode != 200 {
		t.Fatalf("keyed: %d", res.StatusCode)
	}
	if _, o, h := loopCounts(t, e.gw); o != o0+1 || h != h0 {
		t.Fatalf("offloaded %d, handed over %d; want 1 and 0", o-o0, h-h0)
	}
	if up := e.seen.last(); up.URL.Path != "/keyed" || up.Header.Get("Authorization") != "Bearer upstream-token" {
		t.Fatalf("the upstream got %s with Authorization %q", up.URL.Path, up.Header.Get("Authorization"))
	}
}

// TestLoopForwardsWhatFasthttpForwards: a loop writes the upstream's request itself, from the
// client's header lines (appendRewritten), where the fasthttp engine edits its parsed head.
// Both must deliver the same request: for each head below — every credential, cookies with
// the console's session, hop-by-hop headers and those Connection names, headers the gateway
// owns in any spelling, repeated and padded headers, bodies — the loop's upstream sees what
// fasthttp's does.
func TestLoopForwardsWhatFasthttpForwards(t *testing.T) {
	skipUnlessLoop(t)
	e := newEnv(t)
	warmLoop(t, e)
	fastAddr := serveFastToo(t, e.gw)

	k := e.key.Key
	rid := "X-Request-Id: fixed-id-1\r\n" // (a generated id differs between the two)
	heads := []string{
		"GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + k + "\r\nUser-Agent: t/1\r\nAccept: */*\r\n" + rid,
		"GET /c HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " + k + "\r\nCookie: a=1; keygate_session=s; b=2\r\nCookie: c=3\r\n" + rid,
		"GET /c HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + k + "\r\nAuthorization: Basic dTpw\r\nCookie: keygate_session=s\r\n" + rid,
		"GET /d HTTP/1.1\r\nhost: h\r\nx-api-key: " + k + "\r\nConnection: X-Drop, keep-alive\r\nX-Drop: 1\r\nKeep-Alive: timeout=5\r\n" +
			"TE: trailers\r\nProxy-Authorization: Basic eDp5\r\nProxy-Connection: keep-alive\r\nX-Keep: 2\r\n" + rid,
		"GET /e HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + k + "\r\nX-Keygate-Key-Id: spoof\r\nX_Keygate_Key_Id: spoof\r\nx-keygate-org-id: spoof\r\n" +
			"X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\nX_Forwarded_For: 10.0.0.2\r\nForwarded: for=1.2.3.4\r\n" +
			"X-Real-Ip: 1.2.3.4\r\nX-Original-Url: /admin\r\nX-Envoy-Original-Path: /admin\r\nX_Http_Method_Override: DELETE\r\n" + rid,
		"GET /f HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + k + "\r\nX-Multi: a\r\nX-Multi: b\r\nX-Pad:   padded value \t\r\nAccept-Encoding: gzip\r\n" + rid,
		"POST /g HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + k + "\r\nContent-Type: application/json\r\nContent-Length: 13\r\n" + rid + "\r\n{\"a\":[1,2,3]}",
		"POST /g HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + k + "\r\nContent-Type: text/csv\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n" + rid + "\r\nabc",
		"PUT /h HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + k + "\r\nContent-Length: 0\r\n" + rid,
		"DELETE /i HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + k + "\r\n" + rid,
		"HEAD /j HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + k + "\r\n" + rid,
		"GET /k HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + k + "\r\nConnection: close\r\n" + rid,
	}
	send := func(addr, head string) (string, *http.Response, echo) {
		t.Helper()
		if !strings.Contains(head, "\r\n\r\n") {
			head += "\r\n"
		}
		c := rawRequest(t, addr, head)
		defer c.Close()
		method, _, _ := strings.Cut(head, " ")
		res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		defer res.Body.Close()
		var got echo
		if method != http.MethodHead {
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
				t.Fatalf("%q: %d, %v", head, res.StatusCode, err)
			}
		}
		return method, res, got
	}
	loopAddr := strings.TrimPrefix(e.srv.URL, "http://")
	for _, head := range heads {
		s0, o0, _ := loopCounts(t, e.gw)
		before := e.seen.count()
		method, loopRes, onLoop := send(loopAddr, head)
		loopSeen := e.seen.last()
		// (Served, or checked off the loop when the key service dropped its cache: forwarded
		// from the loop either way.)
		if s, o, _ := loopCounts(t, e.gw); s+o != s0+o0+1 || e.seen.count() != before+1 {
			t.Fatalf("%q was not forwarded from a loop (%d served, %d forwarded)", head, s-s0, e.seen.count()-before)
		}
		_, fastRes, onFast := send(fastAddr, head)
		fastSeen := e.seen.last()
		if loopRes.StatusCode != 200 || fastRes.StatusCode != 200 {
			t.Fatalf("%q: %d on a loop, %d on fasthttp", head, loopRes.StatusCode, fastRes.StatusCode)
		}
		if method == http.MethodHead { // no echo: what the upstream's handler saw
			onLoop = echo{Method: loopSeen.Method, Path: loopSeen.URL.Path, Query: loopSeen.URL.RawQuery, Host: loopSeen.Host, Header: loopSeen.Header}
			onFast = echo{Method: fastSeen.Method, Path: fastSeen.URL.Path, Query: fastSeen.URL.RawQuery, Host: fastSeen.Host, Header: fastSeen.Header}
		}
		if !reflect.DeepEqual(onLoop, onFast) {
			t.Errorf("%q reached the upstream differently:\n loop:     %+v\n fasthttp: %+v", head, onLoop, onFast)
		}
		if onLoop.Header.Get("X-Keygate-Key-Id") != e.key.ID || onLoop.Header.Get("X-Api-Key") != "" {
			t.Errorf("%q: the upstream saw key id %q and X-Api-Key %q", head, onLoop.Header.Get("X-Keygate-Key-Id"), onLoop.Header.Get("X-Api-Key"))
		}
	}
}

// rawUpstream answers the request for /N with answers[N], as bytes, and keeps its connections
// open (but for answers that close them).
func rawUpstream(t *testing.T, answers []string) string {
	return scriptedUpstream(t, func(c net.Conn, req *http.Request) bool {
		n, err := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/"))
		if err != nil || n >= len(answers) {
			return false
		}
		_, err = io.WriteString(c, answers[n])
		return err == nil && !strings.Contains(answers[n], "Connection: close")
	})
}

// TestLoopAnswersWhatFasthttpAnswers: a loop writes the client's answer head itself from the
// upstream's lines (appendAnswer), where the fasthttp engine edits its parsed head. For each
// answer below — hop-by-hop headers and those Connection names, headers the gateway sets
// itself, the console's cookies, every framing, heads with lines ending in a bare LF, heads both
// refuse (502) — the client gets the same answer from both. Both engines check the upstream's
// head with parseAnswer, so the heads fasthttp alone would pass on — a folded line (RFC 9112
// §5.2 lets a gateway refuse it), a field name that is not a token, a control character in a
// value — are a 502 on both, and a bare-LF head fasthttp alone would wait on is read at once.
func TestLoopAnswersWhatFasthttpAnswers(t *testing.T) {
	skipUnlessLoop(t)
	answers := []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nServer: up/1\r\nX-Custom: a\r\nX-Custom: b\r\n\r\n{}",
		"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nConnection: X-Hop, keep-alive\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\n" +
			"Trailer: X-T\r\nUpgrade: h2c\r\nContent-Type: text/plain\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nX-Request-Id: upstream-id\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials: true\r\n" +
			"Access-Control-Expose-Headers: X-Secret\r\nClear-Site-Data: \"*\"\r\nSet-Cookie2: a=b\r\nVary: Accept\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nSet-Cookie: keygate_session=forged; Path=/\r\nSet-Cookie: app=1; Path=/; HttpOnly\r\nSet-Cookie: __Secure-keygate_session=x; Secure\r\n" +
			"Content-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end",
		"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nEtag: \"v1\"\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nRatelimit-Limit: 1\r\nX-Keygate-Quota-Remaining: 1\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok",
		"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 299 Whatever Reason\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Type: a\r\nContent-Type: b\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	}
	// Lines ending in a bare LF: forwarded as the same answer with CRLFs.
	bareLF := len(answers)
	answers = append(answers,
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		"HTTP/1.1 201 Created\r\nContent-Type: text/plain\nX-A: 1\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nok",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\r\nok",
		"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nConnection: X-Hop\nX-Hop: 1\n\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 103 Early Hints\nLink: </a.css>\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok")
	// Heads a loop refuses as malformed, which fasthttp alone would pass on (or unfold, or trim).
	refused := len(answers)
	answers = append(answers,
		"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-A: 1\r\nX-Folded: a\r\n\tb\r\nX-B: 2\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\nX-Folded: a\n b\nContent-Length: 2\n\nok",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nBad\tName: x\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-Name\t: x\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nBad(Name): x\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-Nul\x00: x\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-Del: a\x7fb\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-Cr: a\rb\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-Cr: a\rContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\n: empty\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nNo colon\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\nBad Name: x\nContent-Length: 2\n\nok",
		"HTTP/1.1 103 Early Hints\r\nBad Name: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/raw", Upstream: rawUpstream(t, answers), StripPrefix: true})
	warmLoop(t, e)
	fastAddr := serveFastToo(t, e.gw)

	send := func(addr string, i int) rawAnswer {
		t.Helper()
		return sendRaw(t, addr, fmt.Sprintf("GET /raw/%d HTTP/1.1\r\nHost: h\r\nX-Api-Key: %s\r\nOrigin: https://app.example.com\r\nX-Request-Id: rid-%d\r\n\r\n", i, e.key.Key, i))
	}
	loopAddr := strings.TrimPrefix(e.srv.URL, "http://")
	for i := range answers {
		s0, o0, _ := loopCounts(t, e.gw)
		onLoop := send(loopAddr, i)
		if s, o, _ := loopCounts(t, e.gw); s+o != s0+o0+1 { // (relayed from the loop either way)
			t.Fatalf("answer %d was not relayed on a loop", i)
		}
		if i >= refused && onLoop.Status != http.StatusBadGateway {
			t.Errorf("answer %d: %d on a loop, want 502", i, onLoop.Status)
		} else if i >= bareLF && i < refused && (onLoop.Status >= 300 || onLoop.Body != "ok") {
			t.Errorf("answer %d: %d %q on a loop, want it forwarded", i, onLoop.Status, onLoop.Body)
		}
		onFast := send(fastAddr, i)
		if !reflect.DeepEqual(onLoop, onFast) {
			t.Errorf("answer %d reached the client differently:\n loop:     %+v\n fasthttp: %+v", i, onLoop, onFast)
		}
	}
}

// TestLoopAnswersItsOwnLikeFasthttp: the gateway's own answers (problems) are written by a loop
// itself (appendProblem), where the fasthttp engine serializes its Response. For each request
// below the client gets the same answer from both: status, headers (but Date) and body.
func TestLoopAnswersItsOwnLikeFasthttp(t *testing.T) {
	skipUnlessLoop(t)
	e := newEnv(t)
	warmLoop(t, e)
	fastAddr := serveFastToo(t, e.gw)

	rid := "X-Request-Id: own-1\r\n"
	heads := []string{
		"GET /a HTTP/1.1\r\nHost: h\r\n" + rid,
		"GET /a HTTP/1.1\r\nHost: h\r\nOrigin: https://app.example.com\r\n" + rid,
		"GET /a HTTP/1.1\r\nHost: h\r\nOrigin: https://evil.example\r\n" + rid,
		"HEAD /a HTTP/1.1\r\nHost: h\r\n" + rid,
		"GET /a HTTP/1.1\r\nHost: h\r\nX-Api-Key: kg_not-a-key\r\n" + rid,
		"GET /a HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer kg_short\r\nConnection: close\r\n" + rid,
		"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n" + rid + "\r\nhello",
		"GET /a/%2e%2e/b HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + e.key.Key + "\r\n" + rid,
		"OPTIONS /a HTTP/1.1\r\nHost: h\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: PUT\r\n" + rid,
	}
	send := func(addr, head string) rawAnswer {
		t.Helper()
		if !strings.Contains(head, "\r\n\r\n") {
			head += "\r\n"
		}
		return sendRaw(t, addr, head)
	}
	loopAddr := strings.TrimPrefix(e.srv.URL, "http://")
	for _, head := range heads {
		s0, o0, _ := loopCounts(t, e.gw)
		onLoop := send(loopAddr, head)
		if s, o, _ := loopCounts(t, e.gw); s+o != s0+o0+1 { // (a key the cache cannot tell: off the loop)
			t.Fatalf("%q was not answered from a loop", head)
		}
		onFast := send(fastAddr, head)
		if onLoop.Status < 204 {
			t.Errorf("%q: %d, want the gateway's own answer", head, onLoop.Status)
		}
		if !reflect.DeepEqual(onLoop, onFast) {
			t.Errorf("%q was answered differently:\n loop:     %+v\n fasthttp: %+v", head, onLoop, onFast)
		}
	}
}

// serveFastToo serves gw with the fasthttp engine as well, on a port of its own: the tests
// above compare what each engine does with the same bytes.
func serveFastToo(t *testing.T, gw *gateway.Gateway) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := gw.FastServer()
	go fs.Serve(ln)
	t.Cleanup(func() { fs.Shutdown() })
	return ln.Addr().String()
}

// rawAnswer is an answer as a client reads it, without its Date (which every answer must have).
type rawAnswer struct {
	Status int
	Header http.Header
	Body   string
}

// sendRaw writes req (a whole request) to addr on a connection of its own and reads the answer.
func sendRaw(t *testing.T, addr, req string) rawAnswer {
	t.Helper()
	c := rawRequest(t, addr, req)
	defer c.Close()
	method, _, _ := strings.Cut(req, " ")
	res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q from %s: %v", req, addr, err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("%q from %s: %v", req, addr, err)
	}
	if res.Header.Get("Date") == "" {
		t.Errorf("%q from %s: no Date", req, addr)
	}
	res.Header.Del("Date")
	return rawAnswer{res.StatusCode, res.Header, string(b)}
}
