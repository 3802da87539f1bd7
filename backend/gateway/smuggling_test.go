package gateway_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/gateway"
)

// TestAmbiguousRequestsAreRefused: where HTTP/1.1 parsers disagree (fasthttp, net/http, the
// upstream's, a proxy's in front), the gateway refuses the request with 400 and closes the
// connection, and nothing of it — nor anything hidden in it — reaches the upstream. Each case
// carries a would-be smuggled request after the head.
func TestAmbiguousRequestsAreRefused(t *testing.T) {
	fastEngineOnly(t)
	e := newEnv(t)
	addr := e.srv.Listener.Addr().String()
	key := "x-api-key: " + e.key.Key + "\r\n"
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n" + key + "\r\n"
	for _, tt := range []struct{ name, req string }{
		{"two different Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: 0\r\nContent-Length: 60\r\n\r\n" + smuggled},
		{"two equal Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: 4\r\nContent-Length: 4\r\n\r\nabcd"},
		{"Content-Length list", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: 4, 4\r\n\r\nabcd"},
		{"signed Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: +4\r\n\r\nabcd"},
		{"hex Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: 0x4\r\n\r\nabcd"},
		{"Content-Length and Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"Transfer-Encoding and Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: chunked\r\nContent-Length: 60\r\n\r\n0\r\n\r\n" + smuggled},
		{"Transfer-Encoding identity", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: identity\r\n\r\n" + smuggled},
		{"Transfer-Encoding chunked, identity", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled},
		{"Transfer-Encoding gzip, chunked", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"Transfer-Encoding xchunked", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"two Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"space before the colon", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding : chunked\r\nContent-Length: 60\r\n\r\n" + smuggled},
		{"folded Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding:\r\n chunked\r\nContent-Length: 60\r\n\r\n" + smuggled},
		{"folded header", "GET /a HTTP/1.1\r\nHost: x\r\n" + key + "X-Note: one\r\n\ttwo\r\n\r\n"},
		{"bare LF inside the head", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "X-Note: a\nContent-Length: 60\r\n\r\n" + smuggled},
		{"bare CR in a value", "GET /a HTTP/1.1\r\nHost: x\r\n" + key + "X-Note: a\rb\r\n\r\n"},
		{"NUL in a value", "GET /a HTTP/1.1\r\nHost: x\r\n" + key + "X-Note: a\x00b\r\n\r\n"},
		{"space in a header name", "GET /a HTTP/1.1\r\nHost: x\r\n" + key + "X Note: a\r\n\r\n"},
		{"two Host headers", "GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n" + key + "\r\n"},
		{"unknown protocol version", "GET /a HTTP/1.2\r\nHost: x\r\n" + key + "\r\n"},
		{"space in the target", "GET /a b HTTP/1.1\r\nHost: x\r\n" + key + "\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.seen.count()
			c := rawRequest(t, addr, tt.req)
			c.SetDeadline(time.Now().Add(3 * time.Second))
			br := bufio.NewReader(c)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", res.StatusCode)
			}
			// Whether the gateway's check or fasthttp's parser refused it, the answer names
			// the reason.
			var p struct{ Code string }
			if err := json.Unmarshal(body, &p); err != nil || p.Code != "MALFORMED_REQUEST" {
				t.Errorf("answer %q, want a MALFORMED_REQUEST problem", body)
			}
			// Nothing more is read from a connection whose framing is in doubt.
			if rest, _ := io.ReadAll(br); len(rest) > 0 {
				t.Errorf("connection went on after the refusal: %q", rest)
			}
			if n := e.seen.count(); n != before {
				t.Errorf("the upstream received %d request(s), last %s", n-before, e.seen.last().URL.Path)
			}
		})
	}
}

// TestBareLFRequestIsNeverServed: a head whose every line ends in a bare LF never ends for
// fasthttp (it waits for CRLF CRLF until the read timeout): it is not answered, and nothing of
// it reaches the upstream.
func TestBareLFRequestIsNeverServed(t *testing.T) {
	fastEngineOnly(t)
	e := newEnv(t)
	c := rawRequest(t, e.srv.Listener.Addr().String(), "GET /a HTTP/1.1\nHost: x\nx-api-key: "+e.key.Key+"\n\n")
	c.SetDeadline(time.Now().Add(time.Second))
	if res, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil && res.StatusCode < 400 {
		t.Fatalf("answered %d", res.StatusCode)
	}
	if n := e.seen.count(); n != 0 {
		t.Fatalf("the upstream received %d request(s)", n)
	}
}

// TestUnambiguousVariantsPass: what RFC 9112 allows and every parser reads alike still passes.
func TestUnambiguousVariantsPass(t *testing.T) {
	e := newEnv(t)
	addr := e.srv.Listener.Addr().String()
	key := "x-api-key: " + e.key.Key + "\r\n"
	for _, tt := range []struct{ name, req, body string }{
		{"chunked body", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", "abcd"},
		{"Chunked in capitals", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n2\r\nab\r\n0\r\n\r\n", "ab"},
		{"tab after the colon", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length:\t2\r\nConnection: close\r\n\r\nab", "ab"},
		// Naming a framing header in Connection must not strip the body's length on the way up.
		{"Connection names Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: 3\r\nConnection: Content-Length, close\r\n\r\nabc", "abc"},
		{"Connection names Host", "POST /a HTTP/1.1\r\nHost: x\r\n" + key + "Content-Length: 2\r\nConnection: Host, close\r\n\r\nab", "ab"},
		{"HTTP/1.0", "GET /a HTTP/1.0\r\nHost: x\r\n" + key + "\r\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := rawRequest(t, addr, tt.req)
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := e.seen.last(); got == nil || got.URL.Path != "/a" {
				t.Fatalf("upstream saw %v", got)
			}
			if ec := readEcho(t, res); ec.Body != tt.body {
				t.Fatalf("upstream got body %q, want %q", ec.Body, tt.body)
			}
		})
	}
}

// TestPipelinedRequestsAreEachAuthenticated: a second request after a complete chunked body is
// a request of its own, checked like any other (here: without a key, so refused).
func TestPipelinedRequestsAreEachAuthenticated(t *testing.T) {
	e := newEnv(t)
	addr := e.srv.Listener.Addr().String()
	c := rawRequest(t, addr, "POST /a HTTP/1.1\r\nHost: x\r\nx-api-key: "+e.key.Key+"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+
		"GET /smuggled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	var codes []int
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		codes = append(codes, res.StatusCode)
	}
	if len(codes) != 2 || codes[0] != 200 || codes[1] != 401 {
		t.Fatalf("answers %v, want [200 401]", codes)
	}
	for _, p := range []string{"/smuggled"} {
		if last := e.seen.last(); last != nil && last.URL.Path == p {
			t.Fatalf("%s reached the upstream", p)
		}
	}
}

// fastEngineOnly skips a test of the fasthttp engine's own parsing when the suite runs against
// the net/http engine (KEYGATE_TEST_ENGINE=nethttp).
func fastEngineOnly(t *testing.T) {
	if os.Getenv("KEYGATE_TEST_ENGINE") == gateway.EngineNetHTTP {
		t.Skip("the net/http engine parses requests itself")
	}
}
