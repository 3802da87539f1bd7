package security_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func init() {
	attacks = append(attacks,
		attack{"spoofed identity headers are replaced and credentials stripped", spoofedIdentity},
		attack{"Connection header cannot remove identity headers", connectionTricks},
		attack{"h2c upgrade never reaches the upstream", h2cUpgrade},
		attack{"conflicting Content-Length and Transfer-Encoding", smuggling},
		attack{"oversized headers get 431", oversizedHeaders},
		attack{"oversized bodies get 413", oversizedBody},
		attack{"slowloris is cut off by the header timeout", slowloris},
		attack{"keys in the query string are refused unless the route allows them", queryKeys},
		attack{"a key of another organization is refused on a route bound to one", crossOrg},
		attack{"path traversal through the gateway", gatewayTraversal},
		attack{"X-Forwarded-For spoofing", forwardedForSpoofing},
		attack{"log injection through paths and headers", logInjection},
	)
}

func spoofedIdentity(t *testing.T, s *suite) {
	ip := s.ip()
	req := s.newReq(http.MethodGet, "/whoami", nil)
	req.Header.Set("x-api-key", s.keyA.Key)
	req.Header.Set("X-Keygate-Key-Id", "key_forged")
	req.Header.Set("X-Keygate-Key-Name", "forged")
	req.Header.Set("X-Keygate-Org-Id", s.orgB)
	req.Header.Set("X-Keygate-User-Id", "usr_forged")
	req.Header.Set("X-Keygate-Role", "admin")
	req.Header["X_Keygate_User_Id"] = []string{"usr_underscore"} // some upstreams fold _ into -
	req.Header.Set("Authorization", "Bearer "+s.keyB.Key)        // a second key must not ride along
	req.AddCookie(&http.Cookie{Name: "keygate_session", Value: "not-a-session"})
	req.AddCookie(&http.Cookie{Name: "app", Value: "kept"})
	status, code, got := s.gw(t, ip, req)
	if status != http.StatusOK || len(got) != 1 {
		t.Fatalf("status %d %s, upstream saw %d requests", status, code, len(got))
	}
	h := got[0].Header
	want := map[string]string{"X-Keygate-Key-Id": s.keyA.ID, "X-Keygate-Key-Name": "key A", "X-Keygate-Org-Id": s.orgA}
	for k, v := range want {
		if vs := h.Values(k); len(vs) != 1 || vs[0] != v {
			t.Errorf("upstream got %s = %q, want exactly %q", k, vs, v)
		}
	}
	for k, vs := range h {
		lk := strings.ToLower(strings.ReplaceAll(k, "_", "-"))
		if strings.HasPrefix(lk, "x-keygate-") && want[http.CanonicalHeaderKey(k)] == "" {
			t.Errorf("client-supplied %s: %q reached the upstream", k, vs)
		}
		for _, v := range vs {
			if strings.Contains(v, s.keyA.Key) || strings.Contains(v, s.keyB.Key) || strings.Contains(v, "not-a-session") {
				t.Errorf("a credential reached the upstream in %s", k)
			}
		}
	}
	if c := h.Get("Cookie"); c != "app=kept" {
		t.Errorf("upstream Cookie = %q, want only the application's cookie", c)
	}
}

func connectionTricks(t *testing.T, s *suite) {
	ip := s.ip()
	id := requestID("conn")
	// Connection names headers a hop must drop: naming the identity headers, the request id
	// and the credential must not make the gateway drop the ones it sets, nor keep the key.
	payload := "GET /conn HTTP/1.1\r\nHost: " + s.gatewayAddr() + "\r\n" +
		"x-api-key: " + s.keyA.Key + "\r\n" +
		"X-Request-Id: " + id + "\r\n" +
		"Connection: close, X-Keygate-Key-Id, X-Keygate-Org-Id, X-Keygate-Key-Name, X-Request-Id, X-Forwarded-For\r\n\r\n"
	rs := responses(t, raw(t, ip, s.gatewayAddr(), payload, 10*time.Second))
	if len(rs) != 1 || rs[0].StatusCode != http.StatusOK {
		t.Fatalf("responses %v", statuses(rs))
	}
	got := s.up.get(id)
	if len(got) != 1 {
		t.Fatalf("upstream saw %d requests with the request id", len(got))
	}
	h := got[0].Header
	if h.Get("X-Keygate-Key-Id") != s.keyA.ID || h.Get("X-Keygate-Org-Id") != s.orgA || h.Get("X-Keygate-Key-Name") == "" {
		t.Errorf("identity headers removed by Connection: %v", h)
	}
	if h.Get("X-Forwarded-For") == "" {
		t.Error("X-Forwarded-For removed by Connection")
	}
	if h.Get("x-api-key") != "" {
		t.Error("the key reached the upstream")
	}
	// And a Connection header naming the credential does not make the request skip
	// authentication: without a key it is 401 and never forwarded.
	id2 := requestID("conn")
	payload = "GET /conn HTTP/1.1\r\nHost: " + s.gatewayAddr() + "\r\nX-Request-Id: " + id2 + "\r\nConnection: close, x-api-key, Authorization\r\n\r\n"
	rs = responses(t, raw(t, ip, s.gatewayAddr(), payload, 10*time.Second))
	if len(rs) != 1 || rs[0].StatusCode != http.StatusUnauthorized || len(s.up.get(id2)) != 0 {
		t.Errorf("without a key: responses %v, upstream saw %d", statuses(rs), len(s.up.get(id2)))
	}
}

func statuses(rs []*http.Response) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.StatusCode)
	}
	return out
}

func h2cUpgrade(t *testing.T, s *suite) {
	ip := s.ip()
	for _, withKey := range []bool{true, false} {
		id := requestID("h2c")
		key := ""
		if withKey {
			key = "x-api-key: " + s.keyA.Key + "\r\n"
		}
		payload := "GET /h2c HTTP/1.1\r\nHost: " + s.gatewayAddr() + "\r\n" + key +
			"X-Request-Id: " + id + "\r\n" +
			"Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
		answer := raw(t, ip, s.gatewayAddr(), payload, 5*time.Second)
		rs := responses(t, answer)
		if len(rs) == 0 {
			t.Fatalf("no HTTP/1.1 response: %q", answer)
		}
		if rs[0].StatusCode == http.StatusSwitchingProtocols {
			t.Fatalf("the gateway switched protocols to h2c (key %v)", withKey)
		}
		want := http.StatusUnauthorized
		if withKey {
			want = http.StatusOK
		}
		if rs[0].StatusCode != want && rs[0].StatusCode != http.StatusBadRequest {
			t.Errorf("h2c upgrade (key %v): %d, want %d or 400", withKey, rs[0].StatusCode, want)
		}
		for _, got := range s.up.get(id) {
			if got.Header.Get("Upgrade") != "" || got.Header.Get("Http2-Settings") != "" {
				t.Errorf("the upgrade reached the upstream: %v", got.Header)
			}
		}
		if !withKey && len(s.up.get(id)) != 0 {
			t.Error("an unauthenticated upgrade request was forwarded")
		}
	}
}

func smuggling(t *testing.T, s *suite) {
	ip := s.ip()
	host := "Host: " + s.gatewayAddr() + "\r\n"
	key := "x-api-key: " + s.keyA.Key + "\r\n"
	// A request hidden in a body: whatever framing the gateway picks, the hidden request (which
	// has no key) must never reach the upstream, and what the upstream sees must match what the
	// gateway answered.
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: " + s.gatewayAddr() + "\r\nConnection: close\r\n\r\n"
	cases := []struct{ name, payload string }{
		{"CL and TE", "POST /cl-te HTTP/1.1\r\n" + host + key + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE and CL", "POST /te-cl HTTP/1.1\r\n" + host + key + "Transfer-Encoding: chunked\r\nContent-Length: " + fmt.Sprint(5+len(smuggled)) + "\r\n\r\n0\r\n\r\n" + smuggled},
		{"two Content-Lengths", "POST /cl-cl HTTP/1.1\r\n" + host + key + "Content-Length: 0\r\nContent-Length: " + fmt.Sprint(len(smuggled)) + "\r\n\r\n" + smuggled},
		{"obfuscated TE", "POST /te-obf HTTP/1.1\r\n" + host + key + "Transfer-Encoding: xchunked\r\nContent-Length: " + fmt.Sprint(len(smuggled)) + "\r\n\r\n" + smuggled},
		{"TE list", "POST /te-list HTTP/1.1\r\n" + host + key + "Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE with space", "POST /te-sp HTTP/1.1\r\n" + host + key + "Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" + smuggled},
	}
	for _, c := range cases {
		answer := raw(t, ip, s.gatewayAddr(), c.payload, 3*time.Second)
		rs := responses(t, answer)
		if len(rs) == 0 {
			t.Errorf("%s: no response", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, statuses(rs))
		// A second response on the connection is the hidden request answered on its own;
		// it has no key, so it must be a 401.
		for i, r := range rs[1:] {
			if r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: response %d to the hidden request is %d", c.name, i+2, r.StatusCode)
			}
		}
	}
	if s.up.any(func(x seen) bool { return x.Path == "/smuggled" }) {
		t.Error("a request smuggled in a body reached the upstream")
	}
	// The ambiguous requests themselves: Go refuses two different Content-Lengths and unknown
	// codings with 400/501; none of those may have been forwarded.
	for _, p := range []string{"/cl-cl", "/te-obf", "/te-sp"} {
		if s.up.any(func(x seen) bool { return x.Path == p }) {
			t.Errorf("ambiguous request %s was forwarded", p)
		}
	}
}

func oversizedHeaders(t *testing.T, s *suite) {
	ip := s.ip()
	// The whole request head is limited to 32 KiB.
	for _, c := range []struct {
		size int
		want int
	}{{16 << 10, http.StatusOK}, {31 << 10, http.StatusOK}, {33 << 10, http.StatusRequestHeaderFieldsTooLarge}, {256 << 10, http.StatusRequestHeaderFieldsTooLarge}} {
		id := requestID("hdr")
		head := "GET /big HTTP/1.1\r\nHost: " + s.gatewayAddr() + "\r\nx-api-key: " + s.keyA.Key + "\r\nX-Request-Id: " + id + "\r\nConnection: close\r\n"
		pad := c.size - len(head) - len("X-Pad: \r\n\r\n")
		payload := head + "X-Pad: " + strings.Repeat("a", pad) + "\r\n\r\n"
		rs := responses(t, raw(t, ip, s.gatewayAddr(), payload, 10*time.Second))
		if len(rs) != 1 || rs[0].StatusCode != c.want {
			t.Errorf("%d-byte head: %v, want %d", len(payload), statuses(rs), c.want)
		}
		if c.want != http.StatusOK && len(s.up.get(id)) != 0 {
			t.Errorf("%d-byte head was forwarded", len(payload))
		}
	}
}

func oversizedBody(t *testing.T, s *suite) {
	ip := s.ip()
	// /small allows 1024 bytes.
	for _, c := range []struct {
		name    string
		n       int
		chunked bool
		want    int
	}{{"1024 bytes", 1024, false, http.StatusOK}, {"1025 bytes", 1025, false, http.StatusRequestEntityTooLarge},
		{"1 MiB", 1 << 20, false, http.StatusRequestEntityTooLarge}, {"1 MiB chunked", 1 << 20, true, http.StatusRequestEntityTooLarge}} {
		var body io.Reader = strings.NewReader(strings.Repeat("b", c.n))
		if c.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		req := s.newReq(http.MethodPost, "/small/upload", body)
		req.Header.Set("x-api-key", s.keyA.Key)
		status, code, got := s.gw(t, ip, req)
		if status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, status, code, c.want)
		}
		if c.want == http.StatusRequestEntityTooLarge {
			if code != "PAYLOAD_TOO_LARGE" {
				t.Errorf("%s: code %q", c.name, code)
			}
			for _, g := range got {
				if g.Body > 1024 {
					t.Errorf("%s: the upstream received %d bytes of an oversized body", c.name, g.Body)
				}
			}
		}
	}
}

func slowloris(t *testing.T, s *suite) {
	ip := s.ip()
	// A client that sends its head one header at a time, forever, must be cut off by the
	// header timeout (10 s) on both listeners.
	const limit = 10*time.Second + 5*time.Second
	done := make(chan string, 2)
	for _, addr := range []string{s.gatewayAddr(), s.consoleAddr()} {
		go func() {
			conn, err := dialerFrom(ip).Dial("tcp", addr)
			if err != nil {
				done <- err.Error()
				return
			}
			defer conn.Close()
			start := time.Now()
			io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+s.gatewayAddr()+"\r\n")
			for i := 0; time.Since(start) < limit+5*time.Second; i++ {
				if _, err := fmt.Fprintf(conn, "X-Slow-%d: a\r\n", i); err != nil {
					break
				}
				conn.SetReadDeadline(time.Now().Add(time.Second))
				buf := make([]byte, 512)
				if n, err := conn.Read(buf); n > 0 || err == io.EOF || err != nil && !isTimeout(err) {
					break // the server answered (408) or closed
				}
			}
			if d := time.Since(start); d > limit {
				done <- fmt.Sprintf("%s kept a slow header open for %v", addr, d.Round(time.Second))
				return
			}
			done <- ""
		}()
	}
	for i := 0; i < 2; i++ {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	te, ok := err.(timeout)
	return ok && te.Timeout()
}

func queryKeys(t *testing.T, s *suite) {
	ip := s.ip()
	for _, p := range []string{"api_key", "key", "apikey", "x-api-key", "access_token", "token"} {
		req := s.newReq(http.MethodGet, "/q?"+p+"="+s.keyA.Key, nil)
		status, code, got := s.gw(t, ip, req)
		if status != http.StatusUnauthorized || code != "MISSING_CREDENTIAL" || len(got) != 0 {
			t.Errorf("?%s=KEY on a route without query keys: %d %s, forwarded %d", p, status, code, len(got))
		}
	}
	// /qk allows api_key: it works, and the key is taken out of the forwarded query.
	req := s.newReq(http.MethodGet, "/qk/items?a=1&api_key="+s.keyA.Key+"&b=2", nil)
	status, code, got := s.gw(t, ip, req)
	if status != http.StatusOK || len(got) != 1 {
		t.Fatalf("?api_key on /qk: %d %s", status, code)
	}
	if strings.Contains(got[0].Query, s.keyA.Key) || strings.Contains(got[0].Query, "api_key") {
		t.Errorf("the key reached the upstream in the query %q", got[0].Query)
	}
	// Only the route's own parameter: another name is still refused there.
	req = s.newReq(http.MethodGet, "/qk/items?key="+s.keyA.Key, nil)
	if status, _, got := s.gw(t, ip, req); status != http.StatusUnauthorized || len(got) != 0 {
		t.Errorf("?key on /qk: %d, forwarded %d", status, len(got))
	}
}

func crossOrg(t *testing.T, s *suite) {
	ip := s.ip()
	req := s.newReq(http.MethodGet, "/orgb/data", nil)
	req.Header.Set("x-api-key", s.keyA.Key)
	if status, code, got := s.gw(t, ip, req); status != http.StatusForbidden || code != "FORBIDDEN" || len(got) != 0 {
		t.Errorf("org A key on org B's route: %d %s, forwarded %d", status, code, len(got))
	}
	req = s.newReq(http.MethodGet, "/orgb/data", nil)
	req.Header.Set("Authorization", "Bearer "+s.keyA.Key)
	if status, _, got := s.gw(t, ip, req); status != http.StatusForbidden || len(got) != 0 {
		t.Errorf("org A key as Bearer on org B's route: %d, forwarded %d", status, len(got))
	}
	req = s.newReq(http.MethodGet, "/orgb/data", nil)
	req.Header.Set("x-api-key", s.keyB.Key)
	if status, code, got := s.gw(t, ip, req); status != http.StatusOK || len(got) != 1 || got[0].Header.Get("X-Keygate-Org-Id") != s.orgB {
		t.Errorf("org B key on org B's route: %d %s", status, code)
	}
	// Two keys at once (A in x-api-key, B as Bearer): x-api-key wins, so still refused.
	req = s.newReq(http.MethodGet, "/orgb/data", nil)
	req.Header.Set("x-api-key", s.keyA.Key)
	req.Header.Set("Authorization", "Bearer "+s.keyB.Key)
	if status, _, got := s.gw(t, ip, req); status == http.StatusOK && len(got) > 0 && got[0].Header.Get("X-Keygate-Key-Id") == s.keyA.ID {
		t.Errorf("org A key passed org B's route alongside an org B key")
	}
}

func gatewayTraversal(t *testing.T, s *suite) {
	ip := s.ip()
	for _, p := range []string{"/orgb/../x", "/qk/..%2f..%2fx", "/a/./b", "/%2e%2e/orgb/x", "//orgb/x", "/orgb/%2e%2e/%2e%2e/x"} {
		id := requestID("trav")
		payload := "GET " + p + " HTTP/1.1\r\nHost: " + s.gatewayAddr() + "\r\nx-api-key: " + s.keyA.Key + "\r\nX-Request-Id: " + id + "\r\nConnection: close\r\n\r\n"
		rs := responses(t, raw(t, ip, s.gatewayAddr(), payload, 5*time.Second))
		for _, g := range s.up.get(id) {
			if strings.Contains(g.Path, "..") || strings.Contains(g.Path, "/./") || strings.HasPrefix(g.Path, "//") {
				t.Errorf("%s reached the upstream as %q", p, g.Path)
			}
			if strings.HasPrefix(g.Path, "/orgb") {
				t.Errorf("%s reached org B's route with an org A key", p)
			}
		}
		t.Logf("%s: %v", p, statuses(rs))
	}
}

func forwardedForSpoofing(t *testing.T, s *suite) {
	ip := s.ip()
	req := s.newReq(http.MethodGet, "/xff", nil)
	req.Header.Set("x-api-key", s.keyA.Key)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Forwarded", "for=203.0.113.7;proto=https")
	req.Header.Set("X-Real-Ip", "203.0.113.7")
	status, _, got := s.gw(t, ip, req)
	if status != http.StatusOK || len(got) != 1 {
		t.Fatalf("status %d", status)
	}
	h := got[0].Header
	if xff := h.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != ip {
		t.Errorf("upstream X-Forwarded-For %q, want exactly the peer %s", xff, ip)
	}
	// The suite's gateway runs with --gateway-url https://api.keygate.test: that, and never
	// what the client sent, is what the upstream hears.
	if v := h.Values("X-Forwarded-Host"); len(v) != 1 || v[0] != publicGatewayHost {
		t.Errorf("X-Forwarded-Host %q, want exactly the configured %s", v, publicGatewayHost)
	}
	if v := h.Values("X-Forwarded-Proto"); len(v) != 1 || v[0] != "https" {
		t.Errorf("X-Forwarded-Proto %q, want exactly the configured https", v)
	}
	for _, k := range []string{"Forwarded", "X-Real-Ip"} {
		if strings.Contains(h.Get(k), "203.0.113.7") {
			t.Errorf("spoofed %s reached the upstream: %q", k, h.Get(k))
		}
	}

	// Rotating X-Forwarded-For does not escape the limit on failed authentications (30 a
	// minute per address): the peer address counts.
	bad := s.keyA.Key[:len(s.keyA.Key)-1] + "0" // checksum broken
	limited := 0
	for i := 0; i < 40; i++ {
		req := s.newReq(http.MethodGet, "/xff", nil)
		req.Header.Set("x-api-key", bad)
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		if status, _, _ := s.gw(t, ip, req); status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited < 5 {
		t.Errorf("40 failed authentications from one address with rotating X-Forwarded-For: %d limited", limited)
	}
	// And the console's login limit ignores X-Forwarded-For too.
	c := client(ip)
	loginLimited := false
	for i := 0; i < 30 && !loginLimited; i++ {
		req, _ := http.NewRequest(http.MethodPost, s.srv.ConsoleURL+"/api/v1/session",
			strings.NewReader(fmt.Sprintf(`{"email":"nobody%d@example.com","password":"wrong-password-123"}`, i)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", s.srv.ConsoleURL)
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loginLimited = res.StatusCode == http.StatusTooManyRequests
	}
	if !loginLimited {
		t.Error("30 failed logins from one address with rotating X-Forwarded-For were never limited")
	}
}

func logInjection(t *testing.T, s *suite) {
	ip := s.ip()
	// Encoded newlines in the path, a bad key, odd bytes in headers: each is logged (the
	// request log and slog) and must stay inside its field. logLinesWellFormed checks the
	// log file once the server has stopped.
	for _, p := range []string{
		"/x%0d%0atime=2000-01-01T00:00:00Z%20level=ERROR%20msg=injected",
		"/x%0alevel=ERROR%20msg=injected",
		"/x%E2%80%A8injected", // U+2028
	} {
		payload := "GET " + p + " HTTP/1.1\r\nHost: " + s.gatewayAddr() + "\r\nx-api-key: kg_notakey\r\nUser-Agent: a\x0binjected\r\nConnection: close\r\n\r\n"
		raw(t, ip, s.gatewayAddr(), payload, 5*time.Second)
		raw(t, ip, s.consoleAddr(), strings.Replace(payload, "GET "+p, "GET /api/v1/keys"+strings.Replace(p, "/x", "?x=", 1), 1), 5*time.Second)
	}
	// A header line with a bare CR or LF is refused before anything is logged.
	rs := responses(t, raw(t, ip, s.gatewayAddr(), "GET / HTTP/1.1\r\nHost: "+s.gatewayAddr()+"\r\nX-Request-Id: a\rlevel=ERROR msg=injected\r\n\r\n", 5*time.Second))
	if len(rs) != 1 || rs[0].StatusCode != http.StatusBadRequest {
		t.Errorf("bare CR in a header: %v", statuses(rs))
	}
	// Login with a newline in the e-mail (JSON-escaped on the wire).
	req, _ := http.NewRequest(http.MethodPost, s.srv.ConsoleURL+"/api/v1/session",
		strings.NewReader(`{"email":"x@example.com\ntime=2000-01-01T00:00:00Z level=ERROR msg=injected","password":"whatever-password"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.srv.ConsoleURL)
	res, err := client(ip).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}
