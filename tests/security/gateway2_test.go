package security_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Attacks of the second audit (issue #10) on the gateway: each class with the variants the
// audit reported and more of the same kind.
func init() {
	attacks = append(attacks,
		attack{"class 2: an upstream cannot plant or clear the console session", upstreamPlantsSession},
		attack{"class 2: the console and the gateway read cookie names alike", cookieNamesAlike},
		attack{"class 3: the request log keeps no header value outside its allowlist", requestLogValues},
		attack{"class 4: path segments an upstream reads as .. are refused", dotSegments},
		attack{"class 8: X-Forwarded-Host and -Proto come from the configuration only", forwardedHost},
		attack{"class 10: a gateway on loopback refuses foreign Host names (DNS rebinding)", gatewayRebinding},
		attack{"class 10: pages served through the gateway cannot use the console session", gatewayPagesNoSession},
	)
}

func upstreamPlantsSession(t *testing.T, s *suite) {
	ip := s.ip()
	planted := []string{
		"keygate_session=planted1; Path=/", "=keygate_session=planted2", " = keygate_session=planted3",
		"keygate_session =planted4", "\tkeygate_session\t=planted5", "KEYGATE_SESSION=planted6", "Keygate_Session=planted7",
		"__Secure-keygate_session=planted8; Secure", "__SECURE-keygate_session=planted9", "__Host-keygate_session=planted10",
		"keygate_session", "=keygate_session", "keygate_session2=planted11", "=__Secure-keygate_session=planted12",
		"keygate_session=; Max-Age=0", "=keygate_session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
	}
	q := url.Values{"sc": append(planted, "app=kept"), "csd": {`"cookies"`, `"*"`, `"storage", "cookies"`}}
	req := s.newReq(http.MethodGet, "/plant?"+q.Encode(), nil)
	req.Header.Set("x-api-key", s.keyA.Key)
	res, err := client(ip).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	for _, l := range res.Header.Values("Set-Cookie") {
		if strings.Contains(strings.ToLower(l), "keygate_session") {
			t.Errorf("the gateway passed Set-Cookie %q", l)
		}
	}
	if got := res.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != "app=kept" {
		t.Errorf("Set-Cookie %q, want only the application's app=kept", got)
	}
	if v := res.Header.Values("Clear-Site-Data"); len(v) > 0 {
		t.Errorf("the gateway passed Clear-Site-Data %q", v)
	}
	// Through a public route and on an error answer of the upstream alike.
	req = s.newReq(http.MethodGet, "/public/plant?"+url.Values{"sc": {"=keygate_session=x"}, "csd": {"*"}}.Encode(), nil)
	if res, err = client(ip).Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(res.Header.Values("Set-Cookie")) > 0 || len(res.Header.Values("Clear-Site-Data")) > 0 {
		t.Errorf("public route passed %q / %q", res.Header.Values("Set-Cookie"), res.Header.Values("Clear-Site-Data"))
	}
}

// cookieNamesAlike sends the console session with the spacings browsers normalize away: the
// console reads it as the session exactly when the gateway strips it as the session.
func cookieNamesAlike(t *testing.T, s *suite) {
	ip := s.ip()
	c := s.login(t, ip, memberEmail)
	tok := sessionCookie(c.HTTP, s.srv.ConsoleURL)
	for _, line := range []string{"keygate_session=" + tok, "keygate_session =" + tok, "a=1;keygate_session\t= " + tok + " ;b=2"} {
		req, _ := http.NewRequest(http.MethodGet, s.srv.ConsoleURL+"/api/v1/me", nil)
		req.Header.Set("Cookie", line)
		res, err := (&http.Client{Transport: client(ip).Transport}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("console did not read the session from %q: %d", strings.ReplaceAll(line, tok, "TOKEN"), res.StatusCode)
		}
		greq := s.newReq(http.MethodGet, "/cookies", nil)
		greq.Header.Set("x-api-key", s.keyA.Key)
		greq.Header.Set("Cookie", line)
		status, _, got := s.gw(t, ip, greq)
		if status != http.StatusOK || len(got) != 1 {
			t.Fatalf("gateway status %d", status)
		}
		if c := got[0].Header.Get("Cookie"); strings.Contains(c, tok) {
			t.Errorf("the gateway forwarded the session from %q", strings.ReplaceAll(line, tok, "TOKEN"))
		}
	}
	// Two copies that disagree (one tossed in by another site) are no session on either side.
	req, _ := http.NewRequest(http.MethodGet, s.srv.ConsoleURL+"/api/v1/me", nil)
	req.Header.Set("Cookie", "keygate_session=tossed-value; keygate_session="+tok)
	res, err := (&http.Client{Transport: client(ip).Transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("console with two disagreeing session cookies: %d, want 401", res.StatusCode)
	}
}

func requestLogValues(t *testing.T, s *suite) {
	ip := s.ip()
	k := s.keyA.Key
	secretHeaders := map[string]string{
		"Private-Token":        "glpat-Round2Secret000001",
		"X-Upstream-Token":     "up-Round2Secret000002",
		"X-Amz-Security-Token": "amz-Round2Secret000003",
		"X-Api-Keyy":           k + "x", // a key with one extra character
		"X_Api_Key":            k[:len(k)-1] + "Q",
		"X-Custom-Auth":        "Round2Secret000004",
		"Proxy-Authorization":  "Basic Um91bmQyU2VjcmV0MDAwMDA1",
		"Referer":              "https://app.example/cb?code=Round2Secret000006",
		"X-Forwarded-For":      "Round2Secret000007",
	}
	id := requestID("log")
	req := s.newReq(http.MethodGet, "/logged", nil)
	req.Header.Set("X-Request-Id", id)
	req.Header.Set("x-api-key", k)
	req.Header.Set("User-Agent", "round2-agent/1.0")
	for name, v := range secretHeaders {
		req.Header[name] = []string{v}
		s.remember(v, "request header "+name) // the final sweep looks for it in every file
	}
	if status, _, _ := s.gw(t, ip, req); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	// The lowest role that can read the log, from memory and after persistence.
	c := s.login(t, ip, memberEmail)
	deadline := time.Now().Add(5 * time.Second)
	var entry map[string]any
	for entry == nil && time.Now().Before(deadline) {
		var out struct {
			Requests []map[string]any `json:"requests"`
		}
		if err := c.Send(context.Background(), http.MethodGet, "/api/v1/requests?limit=1000&org="+s.orgA, nil, &out); err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Requests {
			if e["requestId"] == id {
				entry = e
			}
		}
		if entry == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if entry == nil {
		t.Fatal("request not in the log")
	}
	b, _ := json.Marshal(entry["headers"])
	var hdr map[string][]string
	json.Unmarshal(b, &hdr)
	for name, v := range secretHeaders {
		vs, ok := hdr[http.CanonicalHeaderKey(name)]
		if !ok {
			vs, ok = hdr[name]
		}
		if !ok {
			t.Errorf("header name %s not logged", name)
		}
		for _, got := range vs {
			if got != "[redacted]" {
				t.Errorf("%s logged as %q (sent %q)", name, got, v)
			}
		}
	}
	if ua := hdr["User-Agent"]; len(ua) != 1 || ua[0] != "round2-agent/1.0" {
		t.Errorf("User-Agent logged as %q: the allowlist should keep it", ua)
	}
}

func dotSegments(t *testing.T, s *suite) {
	ip := s.ip()
	variants := []string{
		"/public/..;/orgb/secret", "/public/%2e%2e;/orgb/secret", "/public/..%3b/orgb/secret", "/public/..%3B/orgb/secret",
		"/public/..%5c/orgb/secret", "/public/..%5corgb%5csecret", "/public/.%2e/orgb/secret", "/public/%2E%2E/orgb/secret",
		"/public/%252e%252e/orgb/secret", "/public/%252e%252e;/orgb/secret", "/public/..%253b/orgb/secret",
		"/public/%25252e%25252e/orgb/secret", "/public/..;jsessionid=x/orgb/secret", "/public/.;/../orgb/secret",
		"/public/%u002e%u002e/orgb/secret", "/public/%c0%ae%c0%ae/orgb/secret", "/public/..%00/orgb/secret",
		"/public/%2e%2e%00/orgb", "/public/.../orgb/secret", "/public/..%20/orgb/secret", "/public/%ef%bc%8e%ef%bc%8e/orgb/secret",
		"/public/;/orgb/secret", "/public/..%255c/orgb/secret", "/public/%5c..%5c/orgb",
	}
	for _, p := range variants {
		id := requestID("dots")
		payload := "GET " + p + " HTTP/1.1\r\nHost: " + s.gatewayAddr() + "\r\nX-Request-Id: " + id + "\r\nConnection: close\r\n\r\n"
		rs := responses(t, raw(t, ip, s.gatewayAddr(), payload, 5*time.Second))
		if len(rs) != 1 {
			t.Errorf("%s: %d answers", p, len(rs))
			continue
		}
		body := make([]byte, 4096)
		n, _ := rs[0].Body.Read(body)
		// Go's server refuses a malformed escape (%u…, a raw backslash) with its own plain 400
		// before the gateway sees it; everything else is the gateway's INVALID_PATH.
		code := problemCode(body[:n])
		if rs[0].StatusCode != http.StatusBadRequest || code != "INVALID_PATH" && rs[0].Header.Get("Content-Type") == "application/problem+json" {
			t.Errorf("%s: %d %s, want 400 INVALID_PATH", p, rs[0].StatusCode, body[:n])
		}
		if got := s.up.get(id); len(got) > 0 {
			t.Errorf("%s reached the upstream as %q", p, got[0].Path)
		}
	}
	// A backslash raw on the request line.
	id := requestID("dots")
	rs := responses(t, raw(t, ip, s.gatewayAddr(), "GET /public\\..\\orgb HTTP/1.1\r\nHost: "+s.gatewayAddr()+"\r\nX-Request-Id: "+id+"\r\nConnection: close\r\n\r\n", 5*time.Second))
	if len(s.up.get(id)) > 0 || len(rs) == 1 && rs[0].StatusCode < 400 {
		t.Errorf("raw backslash path: %v, upstream saw %d", statuses(rs), len(s.up.get(id)))
	}
	// Dots inside a name are fine.
	id = requestID("dots")
	rs = responses(t, raw(t, ip, s.gatewayAddr(), "GET /public/a..b/.well-known/x;v=1 HTTP/1.1\r\nHost: "+s.gatewayAddr()+"\r\nX-Request-Id: "+id+"\r\nConnection: close\r\n\r\n", 5*time.Second))
	if len(rs) != 1 || rs[0].StatusCode != http.StatusOK || len(s.up.get(id)) != 1 {
		t.Errorf("an ordinary path was refused: %v", statuses(rs))
	}
}

func forwardedHost(t *testing.T, s *suite) {
	ip := s.ip()
	for _, hdr := range []map[string]string{
		{},
		{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"},
		{"Forwarded": "host=evil.example;proto=http", "X-Forwarded-Scheme": "http", "X-Forwarded-Port": "1"},
		{"X_Forwarded_Host": "evil.example"},
	} {
		for _, host := range []string{s.gatewayAddr(), "localhost:" + strings.Split(s.gatewayAddr(), ":")[1], publicGatewayHost} {
			id := requestID("xfh")
			var b strings.Builder
			fmt.Fprintf(&b, "GET /xfh HTTP/1.1\r\nHost: %s\r\nx-api-key: %s\r\nX-Request-Id: %s\r\n", host, s.keyA.Key, id)
			for k, v := range hdr {
				fmt.Fprintf(&b, "%s: %s\r\n", k, v)
			}
			b.WriteString("Connection: close\r\n\r\n")
			rs := responses(t, raw(t, ip, s.gatewayAddr(), b.String(), 5*time.Second))
			got := s.up.get(id)
			if len(rs) != 1 || rs[0].StatusCode != http.StatusOK || len(got) != 1 {
				t.Fatalf("Host %s %v: %v", host, hdr, statuses(rs))
			}
			h := got[0].Header
			if v := h.Values("X-Forwarded-Host"); len(v) != 1 || v[0] != publicGatewayHost {
				t.Errorf("Host %s %v: X-Forwarded-Host %q, want %s", host, hdr, v, publicGatewayHost)
			}
			if v := h.Values("X-Forwarded-Proto"); len(v) != 1 || v[0] != "https" {
				t.Errorf("Host %s %v: X-Forwarded-Proto %q, want https", host, hdr, v)
			}
			for k := range h {
				if lk := strings.ToLower(k); lk == "forwarded" || lk == "x-forwarded-scheme" || lk == "x-forwarded-port" || strings.Contains(k, "_") {
					t.Errorf("client's %s reached the upstream", k)
				}
			}
		}
	}
}

func gatewayRebinding(t *testing.T, s *suite) {
	ip := s.ip()
	port := strings.Split(s.gatewayAddr(), ":")[1]
	refused := []string{"evil.example:" + port, "evil.example", "127.0.0.1.nip.io:" + port, "localhost", "127.0.0.1",
		"127.0.0.1:1", "[::1]", "0.0.0.0:" + port, "localhost:" + port + ".evil.example", ""}
	for _, host := range refused {
		for _, path := range []string{"/public/x", "/x"} {
			id := requestID("rebind")
			rs := responses(t, raw(t, ip, s.gatewayAddr(), "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nX-Request-Id: "+id+
				"\r\nx-api-key: "+s.keyA.Key+"\r\nConnection: close\r\n\r\n", 5*time.Second))
			if len(s.up.get(id)) > 0 {
				t.Errorf("Host %q: %s reached the upstream", host, path)
			}
			if len(rs) != 1 || rs[0].StatusCode != http.StatusMisdirectedRequest && rs[0].StatusCode != http.StatusBadRequest {
				t.Errorf("Host %q: %v, want 421", host, statuses(rs))
			}
		}
	}
	// Absolute-form request target: its host is the one that counts.
	id := requestID("rebind")
	raw(t, ip, s.gatewayAddr(), "GET http://evil.example/public/x HTTP/1.1\r\nHost: "+s.gatewayAddr()+"\r\nX-Request-Id: "+id+"\r\nConnection: close\r\n\r\n", 5*time.Second)
	if len(s.up.get(id)) > 0 {
		t.Error("absolute-form request for evil.example reached the upstream")
	}
	for _, host := range []string{s.gatewayAddr(), "LOCALHOST:" + port, "[::1]:" + port, publicGatewayHost} {
		id := requestID("rebind")
		rs := responses(t, raw(t, ip, s.gatewayAddr(), "GET /public/x HTTP/1.1\r\nHost: "+host+"\r\nX-Request-Id: "+id+"\r\nConnection: close\r\n\r\n", 5*time.Second))
		if len(rs) != 1 || rs[0].StatusCode != http.StatusOK {
			t.Errorf("Host %q: %v, want 200", host, statuses(rs))
		}
	}
}

func gatewayPagesNoSession(t *testing.T, s *suite) {
	ip := s.ip()
	c := s.login(t, ip, adminEmail)
	tok := sessionCookie(c.HTTP, s.srv.ConsoleURL)
	gwOrigin := s.srv.GatewayURL
	try := func(path string, hdr map[string]string) (int, []seen) {
		req := s.newReq(http.MethodGet, path, nil)
		req.Header.Set("Cookie", "keygate_session="+tok)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		status, _, got := s.gw(t, ip, req)
		return status, got
	}
	// A page served through the gateway (same origin), a navigation, an old browser: no session
	// on a route that did not opt in.
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "same-origin"},
		{"Sec-Fetch-Site": "same-origin", "Origin": gwOrigin},
		{"Sec-Fetch-Site": "same-origin", "Origin": s.srv.ConsoleURL}, // a lying Origin from a same-origin page
		{"Sec-Fetch-Site": "none"},
		{},
		{"Origin": gwOrigin},
		{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"},
	} {
		if status, got := try("/page-api", hdr); status != http.StatusUnauthorized || len(got) > 0 {
			t.Errorf("default route, %v: status %d, upstream saw %d", hdr, status, len(got))
		}
	}
	// The console's docs viewer (its own, allowlisted origin) keeps working.
	if status, got := try("/docs-try", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": s.srv.ConsoleURL}); status != http.StatusOK ||
		len(got) != 1 || got[0].Header.Get("X-Keygate-User-Id") != s.userIDs[adminEmail] {
		t.Errorf("docs viewer through the default route: %d", status)
	}
	// A route that opts in (--console-session) admits the gateway's own pages.
	if status, got := try("/sess/page-api", map[string]string{"Sec-Fetch-Site": "same-origin"}); status != http.StatusOK || len(got) != 1 {
		t.Errorf("opted-in route, same-origin page: %d", status)
	}
}
