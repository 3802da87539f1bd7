package gateway_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/routes"
)

func TestForwardedHeaders(t *testing.T) {
	sessions := fakeSessions{"good-session": {Code: keys.CodeValid, UserID: "usr_alice", OrgIDs: []string{"org_elsewhere"}}}
	e := newEnv(t, func(c *gateway.Config) { c.Sessions = sessions })
	e.addRoute(routes.Params{Prefix: "/strip", Upstream: e.up.URL + "/base", StripPrefix: true})
	e.addRoute(routes.Params{Prefix: "/query", Upstream: e.up.URL, QueryKeyParam: "api_key"})
	k := e.key.Key
	other, _ := keys.Generate("kg")

	tests := []struct {
		name  string
		path  string
		hdr   map[string]string
		check func(t *testing.T, ec echo)
	}{
		{"x-api-key stripped, identity set", "/x", map[string]string{"x-api-key": k}, func(t *testing.T, ec echo) {
			wantAbsent(t, ec, "X-Api-Key")
			wantHeader(t, ec, "X-Keygate-Key-Id", e.key.ID)
			wantHeader(t, ec, "X-Keygate-Key-Name", "test key")
			wantHeader(t, ec, "X-Keygate-Org-Id", e.org.ID)
			wantAbsent(t, ec, "X-Keygate-User-Id")
		}},
		{"bearer stripped", "/x", map[string]string{"Authorization": "Bearer " + k}, func(t *testing.T, ec echo) {
			wantAbsent(t, ec, "Authorization")
			wantHeader(t, ec, "X-Keygate-Key-Id", e.key.ID)
		}},
		{"another Keygate key in Authorization never leaks", "/x", map[string]string{"x-api-key": k, "Authorization": "Bearer " + other.Raw}, func(t *testing.T, ec echo) {
			wantAbsent(t, ec, "Authorization")
		}},
		{"upstream's own Authorization kept", "/x", map[string]string{"x-api-key": k, "Authorization": "Basic dXNlcjpwYXNz"}, func(t *testing.T, ec echo) {
			wantHeader(t, ec, "Authorization", "Basic dXNlcjpwYXNz")
		}},
		{"session cookie stripped, other cookies kept", "/x", map[string]string{"Cookie": "a=1; keygate_session=good-session; b=2",
			"Origin": "https://app.example.com", "Sec-Fetch-Site": "same-site"}, func(t *testing.T, ec echo) {
			wantHeader(t, ec, "Cookie", "a=1; b=2")
			wantHeader(t, ec, "X-Keygate-User-Id", "usr_alice")
			wantAbsent(t, ec, "X-Keygate-Key-Id")
		}},
		{"session cookie stripped even when a key authenticated", "/x", map[string]string{"x-api-key": k, "Cookie": "keygate_session=good-session"}, func(t *testing.T, ec echo) {
			wantAbsent(t, ec, "Cookie")
		}},
		{"every spelling of the session cookie stripped", "/x", map[string]string{"x-api-key": k,
			"Cookie": "a=1; keygate_session =s1;\t__Secure-keygate_session=s2; =keygate_session=s3; keygate_session; b=2"}, func(t *testing.T, ec echo) {
			wantHeader(t, ec, "Cookie", "a=1; b=2")
		}},
		{"query key stripped, order of the rest kept", "/query/x?z=1&api_key=" + k + "&a=2", nil, func(t *testing.T, ec echo) {
			if ec.Query != "z=1&a=2" {
				t.Errorf("query %q, want z=1&a=2", ec.Query)
			}
		}},
		{"spoofed identity headers replaced", "/x", map[string]string{"x-api-key": k, "X-Keygate-Key-Id": "key_evil",
			"X-Keygate-Org-Id": "org_evil", "X-Keygate-User-Id": "usr_admin", "X-Keygate-Role": "admin"}, func(t *testing.T, ec echo) {
			wantHeader(t, ec, "X-Keygate-Key-Id", e.key.ID)
			wantHeader(t, ec, "X-Keygate-Org-Id", e.org.ID)
			wantAbsent(t, ec, "X-Keygate-User-Id")
			wantAbsent(t, ec, "X-Keygate-Role")
		}},
		{"underscore spellings removed", "/x", map[string]string{"x-api-key": k, "X_Keygate_User_Id": "usr_admin", "X_Forwarded_For": "6.6.6.6"}, func(t *testing.T, ec echo) {
			for name := range ec.Header {
				if strings.Contains(name, "_") {
					t.Errorf("header %s reached the upstream", name)
				}
			}
		}},
		{"underscore spelling of x-api-key removed", "/x", map[string]string{"Authorization": "Bearer " + k, "X_Api_Key": k}, func(t *testing.T, ec echo) {
			for name, vs := range ec.Header {
				for _, v := range vs {
					if strings.Contains(v, k) {
						t.Errorf("the key reached the upstream in %s", name)
					}
				}
			}
		}},
		{"client X-Forwarded-* ignored", "/x", map[string]string{"x-api-key": k, "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil.example",
			"X-Forwarded-Proto": "https", "Forwarded": "for=6.6.6.6", "X-Real-Ip": "6.6.6.6", "X-Forwarded-Prefix": "/admin", "Host": "api.example.com"}, func(t *testing.T, ec echo) {
			wantHeader(t, ec, "X-Forwarded-For", "127.0.0.1")
			wantAbsent(t, ec, "X-Forwarded-Host") // the client's Host says nothing about the public URL
			wantHeader(t, ec, "X-Forwarded-Proto", "http")
			wantAbsent(t, ec, "Forwarded")
			wantAbsent(t, ec, "X-Real-Ip")
			wantAbsent(t, ec, "X-Forwarded-Prefix")
		}},
		{"client path overrides dropped", "/x", map[string]string{"x-api-key": k, "X-Original-URL": "/admin/delete",
			"x-rewrite-url": "/admin", "X_Original_URL": "/admin"}, func(t *testing.T, ec echo) {
			wantAbsent(t, ec, "X-Original-Url")
			wantAbsent(t, ec, "X-Rewrite-Url")
			wantAbsent(t, ec, "X_original_url")
		}},
		{"client path and method overrides of other stacks dropped", "/x", map[string]string{"x-api-key": k,
			"X-Original-URI": "/admin/delete", "x-original-path": "/admin", "X_Original_Path": "/admin",
			"X-Envoy-Original-Path": "/admin", "X-ORIGINAL-METHOD": "DELETE", "x_original_method": "DELETE",
			"X-Forwarded-Path": "/admin", "X-Forwarded-Uri": "/admin/delete", "x-forwarded-method": "DELETE",
			"X_Forwarded_Prefix": "/admin", "X_Forwarded_Uri": "/admin"}, func(t *testing.T, ec echo) {
			for name := range ec.Header {
				switch n := strings.ToLower(strings.ReplaceAll(name, "_", "-")); {
				case strings.HasPrefix(n, "x-original-"), n == "x-envoy-original-path",
					n == "x-forwarded-path", n == "x-forwarded-uri", n == "x-forwarded-method", n == "x-forwarded-prefix":
					t.Errorf("header %s reached the upstream", name)
				}
			}
		}},
		{"well-formed request id kept", "/x", map[string]string{"x-api-key": k, "X-Request-Id": "abc-123"}, func(t *testing.T, ec echo) {
			wantHeader(t, ec, "X-Request-Id", "abc-123")
		}},
		{"malformed request id replaced", "/x", map[string]string{"x-api-key": k, "X-Request-Id": "bad id\twith spaces"}, func(t *testing.T, ec echo) {
			if got := ec.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
				t.Errorf("X-Request-Id %q", got)
			}
		}},
		{"Connection header cannot remove identity headers", "/x", map[string]string{"x-api-key": k,
			"Connection": "X-Keygate-Key-Id, X-Keygate-Org-Id, X-Request-Id, X-Forwarded-For"}, func(t *testing.T, ec echo) {
			wantHeader(t, ec, "X-Keygate-Key-Id", e.key.ID)
			wantHeader(t, ec, "X-Keygate-Org-Id", e.org.ID)
			wantHeader(t, ec, "X-Forwarded-For", "127.0.0.1")
			if ec.Header.Get("X-Request-Id") == "" {
				t.Error("X-Request-Id removed")
			}
		}},
		{"strip prefix with base path", "/strip/pets/1", map[string]string{"x-api-key": k}, func(t *testing.T, ec echo) {
			if ec.Path != "/base/pets/1" {
				t.Errorf("path %q, want /base/pets/1", ec.Path)
			}
		}},
		{"strip prefix of the bare prefix", "/strip", map[string]string{"x-api-key": k}, func(t *testing.T, ec echo) {
			if ec.Path != "/base/" && ec.Path != "/base" {
				t.Errorf("path %q, want /base/", ec.Path)
			}
		}},
		{"no strip keeps the path", "/query/a/b", map[string]string{"x-api-key": k}, func(t *testing.T, ec echo) {
			if ec.Path != "/query/a/b" {
				t.Errorf("path %q", ec.Path)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do("GET", tt.path, tt.hdr, nil)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			tt.check(t, readEcho(t, res))
		})
	}
}

func TestKeyNameWithNonASCIIIsEncoded(t *testing.T) {
	e := newEnv(t)
	k, err := e.keys.Create(context.Background(), keys.CreateParams{OrgID: e.org.ID, Name: "clé 100%", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ec := readEcho(t, e.do("GET", "/x", map[string]string{"x-api-key": k.Key}, nil))
	wantHeader(t, ec, "X-Keygate-Key-Name", "cl%C3%A9 100%25")
}

func TestTrustedProxy(t *testing.T) {
	proxies, err := gateway.ParseTrustedProxies([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *gateway.Config) { c.TrustedProxies = proxies })
	ec := readEcho(t, e.do("GET", "/x", map[string]string{"x-api-key": e.key.Key, "X-Forwarded-For": "203.0.113.7",
		"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}, nil))
	wantHeader(t, ec, "X-Forwarded-For", "203.0.113.7, 127.0.0.1")
	wantHeader(t, ec, "X-Forwarded-Proto", "https")
	wantHeader(t, ec, "X-Forwarded-Host", "api.example.com")
	if got := e.gw.Requests(gateway.Filter{Limit: 1}); len(got) != 1 || got[0].ClientAddr != "203.0.113.7" {
		t.Fatalf("logged client %+v, want 203.0.113.7", got)
	}
	// What a trusted proxy says about the public URL passes (Traefik's StripPrefix sets
	// X-Forwarded-Prefix); a path or method other than the one it sent the gateway never does,
	// nor any underscore spelling, which no proxy sends.
	ec = readEcho(t, e.do("GET", "/x", map[string]string{"x-api-key": e.key.Key, "X-Forwarded-Prefix": "/api",
		"X-Forwarded-Uri": "/api/x", "X-Original-URI": "/admin", "X-Envoy-Original-Path": "/admin",
		"X-Original-Method": "DELETE", "X_Forwarded_Prefix": "/admin"}, nil))
	wantHeader(t, ec, "X-Forwarded-Prefix", "/api")
	wantHeader(t, ec, "X-Forwarded-Uri", "/api/x")
	wantAbsent(t, ec, "X-Original-Uri")
	wantAbsent(t, ec, "X-Envoy-Original-Path")
	wantAbsent(t, ec, "X-Original-Method")
	wantAbsent(t, ec, "X_forwarded_prefix")
}

func wantHeader(t *testing.T, ec echo, name, want string) {
	t.Helper()
	if got := ec.Header.Values(name); len(got) != 1 || got[0] != want {
		t.Errorf("upstream saw %s = %q, want %q", name, got, want)
	}
}

func wantAbsent(t *testing.T, ec echo, name string) {
	t.Helper()
	if got, ok := ec.Header[http.CanonicalHeaderKey(name)]; ok {
		t.Errorf("upstream saw %s = %q, want it absent", name, got)
	}
}

func TestPathsAndRoutes(t *testing.T) {
	e := newEnv(t)
	if err := e.routes.RemoveByPrefix(context.Background(), "/"); err != nil {
		t.Fatal(err)
	}
	e.addRoute(routes.Params{Prefix: "/api", Upstream: e.up.URL})
	e.addRoute(routes.Params{Prefix: "/api/v2", Upstream: e.up.URL + "/two", StripPrefix: true})
	hdr := map[string]string{"x-api-key": e.key.Key}
	tests := []struct {
		path     string
		want     int
		wantPath string
		code     gateway.Code
	}{
		{"/api", 200, "/api", ""},
		{"/api/x", 200, "/api/x", ""},
		{"/apix", 404, "", gateway.CodeNoRoute},
		{"/api/v2/pets", 200, "/two/pets", ""},
		{"/api/v2x", 200, "/api/v2x", ""},
		// An escaped slash right after the prefix: the target sent upstream still starts with "/".
		{"/api/v2%2Fpets", 200, "/two/pets", ""},
		{"/api/v2%2F", 200, "/two/", ""},
		{"/other", 404, "", gateway.CodeNoRoute},
		{"/api/../admin", 400, "", gateway.CodeInvalidPath},
		{"/api/%2e%2e/admin", 400, "", gateway.CodeInvalidPath},
		{"/api//x", 400, "", gateway.CodeInvalidPath},
		{"/api/./x", 400, "", gateway.CodeInvalidPath},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			// Send the path exactly as written.
			c := rawRequest(t, e.srv.Listener.Addr().String(), "GET "+tt.path+" HTTP/1.1\r\nHost: x\r\nx-api-key: "+e.key.Key+"\r\nConnection: close\r\n\r\n")
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
			if tt.want == 200 {
				if ec := readEcho(t, res); ec.Path != tt.wantPath {
					t.Fatalf("upstream path %q, want %q", ec.Path, tt.wantPath)
				}
				return
			}
			if p := readProblem(t, res); p.Code != tt.code {
				t.Fatalf("code %s, want %s", p.Code, tt.code)
			}
		})
	}
	_ = hdr
}

func TestRouteChangesPickedUpWithinASecond(t *testing.T) {
	e := newEnv(t)
	other, err := openSecond(t, e)
	if err != nil {
		t.Fatal(err)
	}
	f := false
	if _, err := routes.New(other, nil).Add(context.Background(), routes.Params{Prefix: "/open", Upstream: e.up.URL, AuthRequired: &f}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for e.do("GET", "/open/x", nil, nil).StatusCode != 200 {
		if time.Since(start) > time.Second {
			t.Fatal("route added by another process not live within 1 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// switchAndEcho answers an upgrade to proto with 101 and then echoes what the client sends.
func switchAndEcho(w http.ResponseWriter, proto string) {
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\nConnection: Upgrade\r\n\r\n", proto)
	brw.Flush()
	io.Copy(c, brw)
}

func TestUpgrades(t *testing.T) {
	seen := make(chan http.Header, 10)
	// The upstream echoes bytes after a WebSocket handshake, and (misbehaving on purpose)
	// switches protocols for any Upgrade it is sent.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		proto := r.Header.Get("Upgrade")
		if proto == "" {
			io.WriteString(w, "plain")
			return
		}
		switchAndEcho(w, proto)
	}))
	defer up.Close()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
	}))
	defer evil.Close()

	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/ws", Upstream: up.URL})
	e.addRoute(routes.Params{Prefix: "/evil", Upstream: evil.URL})
	addr := e.srv.Listener.Addr().String()

	t.Run("websocket echo", func(t *testing.T) {
		c := rawRequest(t, addr, "GET /ws/chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nx-api-key: "+e.key.Key+"\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 101 {
			t.Fatalf("status %d, want 101", res.StatusCode)
		}
		h := <-seen
		if h.Get("X-Api-Key") != "" || h.Get("X-Keygate-Key-Id") != e.key.ID {
			t.Fatalf("upstream handshake headers %v", h)
		}
		for _, msg := range []string{"hello", "world"} {
			io.WriteString(c, msg)
			buf := make([]byte, len(msg))
			if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
				t.Fatalf("echo %q, %v", buf, err)
			}
		}
	})
	t.Run("websocket needs a key", func(t *testing.T) {
		c := rawRequest(t, addr, "GET /ws/chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 401 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("h2c is served as plain HTTP/1.1", func(t *testing.T) {
		c := rawRequest(t, addr, "GET /ws/x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"+
			"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nx-api-key: "+e.key.Key+"\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("status %d, want 200", res.StatusCode)
		}
		h := <-seen
		if h.Get("Upgrade") != "" || h.Get("Http2-Settings") != "" {
			t.Fatalf("upstream saw upgrade headers %v", h)
		}
	})
	t.Run("other upgrade protocols are dropped", func(t *testing.T) {
		c := rawRequest(t, addr, "GET /ws/x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: TLS/1.2\r\nx-api-key: "+e.key.Key+"\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		<-seen
	})
	t.Run("an unrequested 101 from the upstream is refused", func(t *testing.T) {
		c := rawRequest(t, addr, "GET /evil/x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nx-api-key: "+e.key.Key+"\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == 101 || res.StatusCode != 502 {
			t.Fatalf("status %d, want 502", res.StatusCode)
		}
	})
	t.Run("HTTP/2 prior knowledge is refused", func(t *testing.T) {
		before := len(seen)
		c := rawRequest(t, addr, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
		b, _ := io.ReadAll(c)
		if strings.HasPrefix(string(b), "HTTP/1.1 101") || strings.HasPrefix(string(b), "HTTP/1.1 200") {
			t.Fatalf("answer %q", b)
		}
		if len(seen) != before {
			t.Fatal("upstream reached")
		}
	})
}

func TestServerSentEventsFlushImmediately(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: second\n\n")
	}))
	defer up.Close()
	defer close(release)
	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/events", Upstream: up.URL})
	res := e.do("GET", "/events", map[string]string{"x-api-key": e.key.Key}, nil)
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(res.Body).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if l != "data: first\n" {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first event not delivered while the upstream is still streaming")
	}
}

func TestUpstreamErrors(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	e := newEnv(t, func(c *gateway.Config) { c.UpstreamTimeout = 300 * time.Millisecond })
	e.addRoute(routes.Params{Prefix: "/slow", Upstream: slow.URL})
	e.addRoute(routes.Params{Prefix: "/closed", Upstream: closed})
	e.addRoute(routes.Params{Prefix: "/nxdomain", Upstream: "http://keygate-test.invalid"})
	hdr := map[string]string{"x-api-key": e.key.Key}

	start := time.Now()
	res := e.do("GET", "/slow", hdr, nil)
	took := time.Since(start)
	if res.StatusCode != 504 || readProblem(t, res).Code != gateway.CodeUpstreamTimeout {
		t.Fatalf("slow upstream: %d", res.StatusCode)
	}
	// The timeout, not the upstream's own 3 s answer, ends the wait: no earlier than the
	// timeout, and far sooner than the upstream would answer. (How soon after the timeout is a
	// matter of scheduling on a loaded machine, so it is not asserted to the millisecond.)
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Fatalf("504 after %v, want after the 300 ms timeout and well before the upstream's 3 s", took)
	}
	for _, p := range []string{"/closed", "/nxdomain"} {
		res := e.do("GET", p, hdr, nil)
		if res.StatusCode != 502 || readProblem(t, res).Code != gateway.CodeUpstreamUnavailable {
			t.Fatalf("%s: %d", p, res.StatusCode)
		}
	}
	if !hasVaryOrigin(res.Header) || res.Header.Get("X-Request-Id") == "" {
		t.Error("error answer lacks Vary or X-Request-Id")
	}
}

// TestBareLFAnswersAreAnsweredAtOnce: an upstream answer whose lines end with a bare LF (RFC
// 9112 §2.2 lets a recipient take LF alone as the end of a line) is read as soon as it has
// arrived, on the event loops and on the fasthttp engine: forwarded when the head is otherwise
// sound, a 502 when it is not. fasthttp on its own waits for a CRLFCRLF that never comes, until
// the upstream timeout (5 s here); the answer must come long before that. (The net/http engine
// reads such answers with net/http's rules: it passes a 103 on and does not refuse the last two
// heads; only the fasthttp server is asked then.)
func TestBareLFAnswersAreAnsweredAtOnce(t *testing.T) {
	answers := []string{
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\nContent-Length: 2\r\n\r\nok", // one bare LF
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nok",                             // the empty line's
		"HTTP/1.1 200 OK\nContent-Length: 2\n\r\nok",
		"HTTP/1.1 103 Early Hints\nLink: </a.css>; rel=preload\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\nBad Name: x\nContent-Length: 2\n\nok",
		"HTTP/1.1 200 OK\nX-Folded: a\n b\nContent-Length: 2\n\nok",
	}
	e := newEnv(t, func(c *gateway.Config) { c.UpstreamTimeout = 5 * time.Second })
	e.addRoute(routes.Params{Prefix: "/raw", Upstream: rawUpstream(t, answers), StripPrefix: true})
	addrs := []string{serveFastToo(t, e.gw)}
	if os.Getenv("KEYGATE_TEST_ENGINE") != gateway.EngineNetHTTP {
		addrs = append(addrs, strings.TrimPrefix(e.srv.URL, "http://"))
	}
	for _, addr := range addrs {
		for i, answer := range answers {
			start := time.Now()
			got := sendRaw(t, addr, fmt.Sprintf("GET /raw/%d HTTP/1.1\r\nHost: h\r\nX-Api-Key: %s\r\n\r\n", i, e.key.Key))
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("%s: %q answered after %v, want at once (the timeout is 5 s)", addr, answer, took)
			}
			want, body := http.StatusOK, "ok"
			if strings.Contains(answer, "Bad Name") || strings.Contains(answer, "\n b") {
				want, body = http.StatusBadGateway, ""
			}
			if got.Status != want || body != "" && got.Body != body {
				t.Errorf("%s: %q: %d %q, want %d %q", addr, answer, got.Status, got.Body, want, body)
			}
		}
	}
}

func TestClientGoneIsLogged499(t *testing.T) {
	arrived := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	defer up.Close()
	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/hang", Upstream: up.URL})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/hang", nil)
	req.Header.Set("x-api-key", e.key.Key)
	go func() { <-arrived; cancel() }()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("request not cancelled")
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got := e.gw.Requests(gateway.Filter{Route: "/hang"}); len(got) == 1 {
			if got[0].Status != 499 || got[0].ErrorCode != string(gateway.CodeClientClosed) {
				t.Fatalf("logged %d %s", got[0].Status, got[0].ErrorCode)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no log entry")
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/small", Upstream: e.up.URL, MaxBodyBytes: 10})
	hdr := map[string]string{"x-api-key": e.key.Key}
	if res := e.do("POST", "/small", hdr, strings.NewReader("0123456789")); res.StatusCode != 200 {
		t.Fatalf("10 bytes: %d", res.StatusCode)
	}
	res := e.do("POST", "/small", hdr, strings.NewReader("0123456789X"))
	if res.StatusCode != 413 || readProblem(t, res).Code != gateway.CodePayloadTooLarge {
		t.Fatalf("11 bytes with Content-Length: %d", res.StatusCode)
	}
	// Chunked: no Content-Length to trust, the limit applies while streaming.
	res = e.do("POST", "/small", hdr, io.MultiReader(strings.NewReader(strings.Repeat("x", 100))))
	if res.StatusCode != 413 {
		t.Fatalf("chunked 100 bytes: %d", res.StatusCode)
	}
	if res := e.do("POST", "/x", hdr, strings.NewReader(strings.Repeat("x", 8<<20))); res.StatusCode != 200 { // over fasthttp's default body limit
		t.Fatalf("no limit on other routes: %d", res.StatusCode)
	}
}

// stubValidators refuses requests whose "bad" query parameter is set.
type stubValidators struct{ loads int }

func (s *stubValidators) RequestValidator(_ context.Context, r routes.Route) (func(http.Handler) http.Handler, error) {
	s.loads++
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Query().Has("bad") {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(400)
				io.WriteString(w, `{"type":"about:blank","title":"Bad Request","status":400,"code":"VALIDATION","detail":"bad"}`)
				return
			}
			next.ServeHTTP(w, req)
		})
	}, nil
}

func TestRequestValidationPerRoute(t *testing.T) {
	v := &stubValidators{}
	e := newEnv(t, func(c *gateway.Config) { c.Validators = v })
	e.addRoute(routes.Params{Prefix: "/checked", Upstream: e.up.URL, ValidateRequests: true, OpenAPISource: "x.json"})
	hdr := map[string]string{"x-api-key": e.key.Key}
	if res := e.do("GET", "/checked/x?bad=1", hdr, nil); res.StatusCode != 400 {
		t.Fatalf("invalid request: %d", res.StatusCode)
	}
	if res := e.do("GET", "/checked/x", hdr, nil); res.StatusCode != 200 {
		t.Fatalf("valid request: %d", res.StatusCode)
	}
	if res := e.do("GET", "/x?bad=1", hdr, nil); res.StatusCode != 200 {
		t.Fatalf("route without validation: %d", res.StatusCode)
	}
	// Validation never runs before authentication.
	if res := e.do("GET", "/checked/x?bad=1", nil, nil); res.StatusCode != 401 {
		t.Fatalf("no key: %d", res.StatusCode)
	}
	loads := v.loads
	if err := e.gw.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v.loads != loads {
		t.Fatal("document reloaded for an unchanged route")
	}
}

// TestEarlyAnswersKeepTheConnectionUsable: a request answered before its body was read (here
// 413) neither resets the client nor poisons the connection for the next request on it.
func TestEarlyAnswersKeepTheConnectionUsable(t *testing.T) {
	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/small", Upstream: e.up.URL, MaxBodyBytes: 10})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	t.Cleanup(client.CloseIdleConnections)
	send := func(method, path string, body io.Reader) int {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, body)
		req.Header.Set("x-api-key", e.key.Key)
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	for i, c := range []struct {
		method, path string
		body         io.Reader
		want         int
	}{
		{"POST", "/small", strings.NewReader(strings.Repeat("x", 64<<10)), 413},
		{"GET", "/x", nil, 200},
		{"POST", "/small", io.MultiReader(strings.NewReader(strings.Repeat("x", 64<<10))), 413},
		{"GET", "/x", nil, 200},
	} {
		if got := send(c.method, c.path, c.body); got != c.want {
			t.Fatalf("step %d: %s %s: %d, want %d", i, c.method, c.path, got, c.want)
		}
	}
	// A 401 to a request with a body, on the same connection.
	req, _ := http.NewRequest("POST", e.srv.URL+"/x", strings.NewReader(strings.Repeat("x", 64<<10)))
	res, err := client.Do(req)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("401 with a body: %v %v", res, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if got := send("GET", "/x", nil); got != 200 {
		t.Fatalf("after the early answers: %d", got)
	}
}

// TestHeadAndExpectContinue: a HEAD answer keeps the upstream's length and sends no body; a
// client waiting for 100 Continue gets it from the gateway and its body reaches the upstream.
func TestHeadAndExpectContinue(t *testing.T) {
	var expectSeen atomic.Value // the Expect header the upstream got, if any
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("Expect"); v != "" {
			expectSeen.Store(v)
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)+5))
		io.WriteString(w, "body:")
		w.Write(b)
	}))
	defer up.Close()
	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/h", Upstream: up.URL})
	addr := e.srv.Listener.Addr().String()

	c := rawRequest(t, addr, "HEAD /h HTTP/1.1\r\nHost: x\r\nx-api-key: "+e.key.Key+"\r\n\r\n"+
		"GET /h HTTP/1.1\r\nHost: x\r\nx-api-key: "+e.key.Key+"\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, &http.Request{Method: "HEAD"})
	if err != nil || res.StatusCode != 200 || res.ContentLength != 5 {
		t.Fatalf("HEAD: %v %v", res, err)
	}
	// The next answer starts right after the HEAD answer's head: no body was sent for it.
	res, err = http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET after HEAD: %v %v", res, err)
	}
	if b, _ := io.ReadAll(res.Body); string(b) != "body:" {
		t.Fatalf("GET body %q", b)
	}

	c = rawRequest(t, addr, "POST /h HTTP/1.1\r\nHost: x\r\nx-api-key: "+e.key.Key+"\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
	br = bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first line %q, %v; want 100 Continue", line, err)
	}
	for l := "x"; l != "\r\n" && err == nil; { // the interim answer's header lines, if any
		l, err = br.ReadString('\n')
	}
	io.WriteString(c, "hello")
	res, err = http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("after 100 Continue: %v %v", res, err)
	}
	if b, _ := io.ReadAll(res.Body); string(b) != "body:hello" {
		t.Fatalf("body %q", b)
	}
	// The gateway answered the Expect itself; forwarded, it would make the upstream send a
	// second 100 Continue, which some engines relay to a client that already went ahead.
	if v := expectSeen.Load(); v != nil {
		t.Fatalf("upstream got Expect: %v", v)
	}
}

// TestSlowPathLogOwnsItsStrings: a request on a validating route (fasthttpadaptor's path) keeps
// its own method, path and headers in the request log after later requests reuse the
// connection's buffers.
func TestSlowPathLogOwnsItsStrings(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.Validators = &stubValidators{} })
	e.addRoute(routes.Params{Prefix: "/checked", Upstream: e.up.URL, ValidateRequests: true, OpenAPISource: "x.json"})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	t.Cleanup(client.CloseIdleConnections)
	send := func(method, path, ua string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, nil)
		req.Header.Set("x-api-key", e.key.Key)
		req.Header.Set("User-Agent", ua)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	send("GET", "/checked/first-0000", "agent-first-0000")
	for i := range 50 {
		send("PUT", fmt.Sprintf("/checked/other-%04d", i), fmt.Sprintf("agent-other-%04d", i))
	}
	found := false
	for _, en := range e.gw.Requests(gateway.Filter{OrgID: e.org.ID, Limit: 1000}) {
		if strings.HasPrefix(en.Path, "/checked/first") || en.Method == "GET" {
			found = true
			if en.Method != "GET" || en.Path != "/checked/first-0000" {
				t.Fatalf("first request logged as %s %s", en.Method, en.Path)
			}
			if ua := en.Headers.Get("User-Agent"); ua != "" && ua != "agent-first-0000" {
				t.Fatalf("first request's User-Agent logged as %q", ua)
			}
		}
	}
	if !found {
		t.Fatal("first request not in the log")
	}
}

// TestSlowPathChunkedBodyOverLimit: a chunked body over the route's limit on a validating route
// is answered 413 and never reaches the upstream.
func TestSlowPathChunkedBodyOverLimit(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.Validators = &stubValidators{} })
	e.addRoute(routes.Params{Prefix: "/checked", Upstream: e.up.URL, ValidateRequests: true, OpenAPISource: "x.json",
		MaxBodyBytes: 10})
	before := e.seen.count()
	body := strings.Repeat("x", 64)
	c := rawRequest(t, e.srv.Listener.Addr().String(), "POST /checked/x HTTP/1.1\r\nHost: a\r\nX-Api-Key: "+e.key.Key+
		"\r\nTransfer-Encoding: chunked\r\n\r\n"+fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 413 {
		t.Fatalf("status %d, want 413", res.StatusCode)
	}
	if p := readProblem(t, res); p.Code != gateway.CodePayloadTooLarge {
		t.Fatalf("code %q", p.Code)
	}
	if n := e.seen.count(); n != before {
		t.Fatalf("upstream received %d requests", n-before)
	}
	// Under the limit, a chunked body still goes through.
	c = rawRequest(t, e.srv.Listener.Addr().String(), "POST /checked/x HTTP/1.1\r\nHost: a\r\nX-Api-Key: "+e.key.Key+
		"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	if res, err = http.ReadResponse(bufio.NewReader(c), nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("small chunked body: %v %v", res, err)
	}
}

// TestSlowPathBodyIsReadBeforeForwarding: on a validating route either engine reads the body
// whole before the upstream hears of the request: a body that breaks off or is malformed
// mid-stream is answered 400 and reaches nothing; one that arrives whole is forwarded whole.
func TestSlowPathBodyIsReadBeforeForwarding(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.Validators = &stubValidators{} })
	e.addRoute(routes.Params{Prefix: "/checked", Upstream: e.up.URL, ValidateRequests: true, OpenAPISource: "x.json",
		MaxBodyBytes: 100})
	head := "POST /checked/x HTTP/1.1\r\nHost: a\r\nX-Api-Key: " + e.key.Key + "\r\nTransfer-Encoding: chunked\r\n\r\n"
	before := e.seen.count()
	for name, body := range map[string]string{
		"a chunk size that is not hex": "5\r\nhello\r\nzz\r\nxx\r\n0\r\n\r\n",
		"a chunk longer than it said":  "2\r\nhello\r\n0\r\n\r\n",
	} {
		c := rawRequest(t, e.srv.Listener.Addr().String(), head+body)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", name, res.StatusCode)
		}
		res.Body.Close()
	}
	// Cut off after the first chunk: the client hangs up; nothing is forwarded.
	c := rawRequest(t, e.srv.Listener.Addr().String(), head+"5\r\nhello\r\n")
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
	if n := e.seen.count(); n != before {
		t.Fatalf("the upstream received %d requests with broken bodies", n-before)
	}
	c = rawRequest(t, e.srv.Listener.Addr().String(), head+"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("a whole chunked body: %v %v", res, err)
	}
	var ec echo
	if err := json.NewDecoder(res.Body).Decode(&ec); err != nil || ec.Body != "hello world" {
		t.Fatalf("the upstream got body %q (%v)", ec.Body, err)
	}
}

// TestSlowAnswersOutlastTheHeadTimeout: the head's read timeout bounds the head only. A request
// without a body whose upstream answers after it has passed is answered, and its connection
// serves the next request; a WebSocket whose upstream handshake comes after it tunnels, and
// the tunnel outlives it too.
func TestSlowAnswersOutlastTheHeadTimeout(t *testing.T) {
	const head = 200 * time.Millisecond
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * head)
		proto := r.Header.Get("Upgrade")
		if proto == "" {
			io.WriteString(w, "slow")
			return
		}
		switchAndEcho(w, proto)
	}))
	defer up.Close()
	e := newEnv(t, func(c *gateway.Config) { c.ReadHeaderTimeout = head })
	e.addRoute(routes.Params{Prefix: "/slow", Upstream: up.URL})
	addr := e.srv.Listener.Addr().String()

	get := "GET /slow/x HTTP/1.1\r\nHost: x\r\nx-api-key: " + e.key.Key + "\r\n\r\n"
	c := rawRequest(t, addr, get)
	br := bufio.NewReader(c)
	for i := range 2 {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || string(body) != "slow" {
			t.Fatalf("request %d: %d %q", i+1, res.StatusCode, body)
		}
		if i == 0 {
			io.WriteString(c, get) // the same connection, after the first head's timeout
		}
	}

	ws := rawRequest(t, addr, "GET /slow/chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nx-api-key: "+e.key.Key+"\r\n\r\n")
	wbr := bufio.NewReader(ws)
	res, err := http.ReadResponse(wbr, nil)
	if err != nil || res.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	for _, msg := range []string{"hello", "world"} {
		time.Sleep(head) // quiet in the tunnel for longer than the head's timeout
		io.WriteString(ws, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(wbr, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q, %v", buf, err)
		}
	}
}

// TestImportedKeyInAuthorizationIsStripped: a request authenticated by its x-api-key that
// also sends another key as a Bearer token does not hand that key to the upstream — also when
// it is an imported key in another format, which has no shape to tell it by. A Bearer token
// that is no key (the upstream's own) still passes.
func TestImportedKeyInAuthorizationIsStripped(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	foreign := "ba_" + strings.Repeat("q", 40)
	upstreamOwn := "eyJhbGciOiJIUzI1NiJ9.upstream-own-token"
	send := func(bearer string) echo {
		t.Helper()
		return readEcho(t, e.do("GET", "/x", map[string]string{"x-api-key": e.key.Key, "Authorization": "Bearer " + bearer}, nil))
	}
	// Before any import: a string of no key's shape is the upstream's business.
	if got := send(foreign).Header.Get("Authorization"); got != "Bearer "+foreign {
		t.Fatalf("before the import: Authorization %q", got)
	}
	if _, err := e.keys.Import(ctx, e.org.ID, "test", []keys.Record{{Name: "imported", Foreign: true,
		Secrets: []keys.Secret{{Hash: sha256.Sum256([]byte(foreign))}}}}, false); err != nil {
		t.Fatal(err)
	}
	if ec := send(foreign); ec.Header.Get("Authorization") != "" {
		t.Errorf("the imported key reached the upstream in Authorization: %q", ec.Header.Get("Authorization"))
	}
	if got := send(upstreamOwn).Header.Get("Authorization"); got != "Bearer "+upstreamOwn {
		t.Errorf("a token that is no key: Authorization %q, want it forwarded", got)
	}
}

// TestValidatedBodiesKeepTheirLength: a body the slower path (request validation) reads into
// memory reaches the upstream whole and with a Content-Length — also when the client streamed
// it chunked — since some upstreams refuse chunked requests.
func TestValidatedBodiesKeepTheirLength(t *testing.T) {
	v := &stubValidators{}
	e := newEnv(t, func(c *gateway.Config) { c.Validators = v })
	e.addRoute(routes.Params{Prefix: "/checked", Upstream: e.up.URL, ValidateRequests: true, OpenAPISource: "x.json"})
	hdr := map[string]string{"x-api-key": e.key.Key, "Content-Type": "application/json"}
	const body = `{"name":"rex"}`
	for _, c := range []struct {
		name string
		body io.Reader
	}{
		{"with a length", strings.NewReader(body)},
		{"chunked", io.MultiReader(strings.NewReader(body))},
	} {
		res := e.do("POST", "/checked/pets", hdr, c.body)
		var got echo
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %d %v", c.name, res.StatusCode, err)
		}
		up := e.seen.last()
		if got.Body != body || up.ContentLength != int64(len(body)) || len(up.TransferEncoding) != 0 {
			t.Errorf("%s: upstream got %q with length %d, transfer encoding %v; want %q with length %d",
				c.name, got.Body, up.ContentLength, up.TransferEncoding, body, len(body))
		}
	}
}

// TestInterimAnswersAreNotPassedOn: interim answers an upstream sends before its final one
// (100 Continue unasked, 102, 103 Early Hints with its own headers) reach the client on no
// engine, and the final answer, or the 502 when the upstream goes away after an interim one,
// still carries every header the gateway adds: request id, Vary, CORS, rate limit. On the
// net/http engine ReverseProxy relayed them and then emptied the header map, so the gateway's
// own headers were missing from the final answer, and a 103's Set-Cookie reached the client
// unchecked.
func TestInterimAnswersAreNotPassedOn(t *testing.T) {
	answers := []string{
		"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nSet-Cookie: keygate_session=forged; Path=/\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b.css>\r\n\r\n" +
			"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", // then the upstream closes
	}
	up := scriptedUpstream(t, func(c net.Conn, req *http.Request) bool {
		n, err := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/"))
		if err != nil || n >= len(answers) {
			return false
		}
		io.WriteString(c, answers[n])
		return n != 2
	})
	e := newEnv(t)
	e.addRoute(routes.Params{Prefix: "/raw", Upstream: up, StripPrefix: true})
	k, err := e.keys.Create(context.Background(), keys.CreateParams{OrgID: e.org.ID, Name: "rated", CreatedBy: "test",
		RateLimit: 100, RateWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{200, 201, 502} {
		c := rawRequest(t, e.srv.Listener.Addr().String(), fmt.Sprintf("GET /raw/%d HTTP/1.1\r\nHost: h\r\n"+
			"Origin: https://app.example.com\r\nX-Api-Key: %s\r\nConnection: close\r\n\r\n", i, k.Key))
		c.SetDeadline(time.Now().Add(10 * time.Second))
		raw, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if n := strings.Count(string(raw), "HTTP/1.1 "); n != 1 || !strings.HasPrefix(string(raw), fmt.Sprintf("HTTP/1.1 %d ", want)) {
			t.Fatalf("answer %d: want one %d head, got:\n%s", i, want, raw)
		}
		res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(raw))), nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		h := res.Header
		if h.Get("X-Request-Id") == "" || !hasVaryOrigin(h) || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			h.Get("RateLimit-Limit") != "100" || h.Get("RateLimit-Remaining") != strconv.Itoa(99-i) {
			t.Errorf("answer %d lacks the gateway's headers:\n%s", i, raw)
		}
		if h.Get("Link") != "" || h.Get("Set-Cookie") != "" {
			t.Errorf("answer %d carries an interim answer's headers:\n%s", i, raw)
		}
	}
}
