package security_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func init() {
	attacks = append(attacks, attack{"class 15: no credential reaches a log through the path, the request id or an allowlisted header", credentialsInLoggedText})
}

// randomLetters returns n random characters of alphabet.
func randomLetters(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		x, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[x.Int64()]
	}
	return string(b)
}

// importBetterAuth imports Better Auth rows (hashed, as the plugin stores them) for the given
// secrets with `keygate keys import` and waits until the gateway accepts the first.
func importBetterAuth(t *testing.T, s *suite, secrets ...string) {
	t.Helper()
	var rows []map[string]any
	for i, sec := range secrets {
		h := sha256.Sum256([]byte(sec))
		rows = append(rows, map[string]any{"id": fmt.Sprint("sec", i), "name": fmt.Sprint("imported ", i), "prefix": "ba_",
			"key": base64.RawURLEncoding.EncodeToString(h[:]), "enabled": true, "rateLimitEnabled": false,
			"createdAt": "2025-01-02T03:04:05.678Z"})
	}
	b, _ := json.Marshal(rows)
	file := filepath.Join(t.TempDir(), "apikeys.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cli(t, s, "", "keys", "import", file, "--format", "better-auth")
	deadline := time.Now().Add(10 * time.Second)
	for {
		req := s.newReq(http.MethodGet, "/logleak/ready", nil)
		req.Header.Set("x-api-key", secrets[0])
		if status, _, _ := s.gw(t, s.ip(), req); status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the imported key never worked at the gateway")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// credentialsInLoggedText pastes every kind of credential the suite handles — a Keygate key,
// two keys imported from Better Auth (one with the plugin's default 64 mixed-case letters, one
// of 24 lowercase letters with no shape to tell it by), a console session cookie, a password
// reset token and a webhook signing secret (with and without whsec_) — into each place a
// request's text is kept: a header's name, allowlisted headers (User-Agent, Origin,
// X-Request-Id) bare, in parentheses, after "key:" or "=", the path (a segment, a matrix
// parameter, a query string sent percent-encoded, a fragment sent raw), the query string of a
// route that does not take keys there and of one that does, and Referer. The request log read
// back by an admin of the instance organization (who sees every entry) from memory, after
// persistence, through the live stream and in /metrics must hold none of them, nor the audit
// log after sign-ins with a password or a key typed as the address; the sweep then searches
// the server's debug log and every database file for each. Two more imported keys hold URL
// punctuation (= : / ? & # @) and are also sent glued to other text on both sides.
func credentialsInLoggedText(t *testing.T, s *suite) {
	ip := s.ip()
	foreignMixed := "ba_" + randomLetters(64, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
	foreignPlain := "ba_" + randomLetters(24, "abcdefghijklmnopqrstuvwxyz")
	s.remember(foreignMixed, "key imported from Better Auth (64 letters)")
	s.remember(foreignPlain, "key imported from Better Auth (24 lowercase letters)")
	// Imported keys that hold URL punctuation: cut at it, their pieces are short and glued to
	// other text the whole word is longer than the key, so only a lookup of runs of pieces
	// finds them. The second has no ? or #, so it can be sent raw in a path.
	lower := "abcdefghijklmnopqrstuvwxyz"
	foreignPunct := "ba_" + randomLetters(6, lower) + ":" + randomLetters(5, lower) + "/" + randomLetters(5, lower) + "=" +
		randomLetters(4, lower) + "?" + randomLetters(4, lower) + "&" + randomLetters(4, lower) + "#" + randomLetters(4, lower) + "@x"
	foreignPath := "ba_" + randomLetters(5, lower) + ":" + randomLetters(5, lower) + "/" + randomLetters(5, lower) + "=" +
		randomLetters(5, lower) + "@" + randomLetters(5, lower) + "&" + randomLetters(3, lower)
	s.remember(foreignPunct, "key imported from Better Auth (with = : / ? & # @)")
	s.remember(foreignPath, "key imported from Better Auth (with = : / @ &)")
	importBetterAuth(t, s, foreignMixed, foreignPlain, foreignPunct, foreignPath)

	admin := s.login(t, ip, adminEmail)
	member := s.login(t, ip, memberEmail)
	session := sessionCookie(member.HTTP, s.srv.ConsoleURL)
	var reset struct {
		Token string `json:"token"`
		Path  string `json:"path"`
	}
	if err := admin.Send(context.Background(), http.MethodPost, "/api/v1/members/"+s.userIDs[memberEmail]+"/password-reset", map[string]any{"org": s.orgA}, &reset); err != nil {
		t.Fatalf("password reset link: %v", err)
	}
	resetToken := reset.Token
	if resetToken == "" {
		if _, frag, ok := strings.Cut(reset.Path, "#token="); ok {
			resetToken = frag
		}
	}
	if resetToken == "" {
		t.Fatalf("no reset token in %+v", reset)
	}
	s.remember(resetToken, "password reset token")
	var hook struct {
		Secret string `json:"secret"`
	}
	if err := admin.Send(context.Background(), http.MethodPost, "/api/v1/webhooks", map[string]any{"org": s.orgA,
		"url": s.up.srv.URL + "/hook", "events": []string{"key.expired"}}, &hook); err != nil || !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("webhook: %+v %v", hook, err)
	}
	s.remember(hook.Secret, "webhook signing secret")

	creds := map[string]string{"key A": s.keyA.Key, "imported key (64 letters)": foreignMixed,
		"imported key (24 lowercase)": foreignPlain, "session cookie": session, "reset token": resetToken,
		"webhook secret": hook.Secret, "webhook secret without whsec_": strings.TrimPrefix(hook.Secret, "whsec_"),
		"imported key with = : / ? & # @": foreignPunct, "imported key with = : / @ &": foreignPath}
	var ids []string
	send := func(what, path string, hdr map[string]string) {
		t.Helper()
		id := requestID("leak")
		req := s.newReq(http.MethodGet, "/", nil)
		u, err := url.Parse(s.srv.GatewayURL + path)
		if err != nil {
			t.Fatal(err)
		}
		req.URL = u
		req.Header.Set("X-Request-Id", id)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := client(ip).Do(req)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for name, c := range creds {
			if strings.Contains(string(body), c) {
				t.Errorf("%s: the answer (%d) holds the %s", what, res.StatusCode, name)
			}
		}
		if hdr["X-Request-Id"] == "" {
			ids = append(ids, id)
		}
	}
	for name, c := range creds {
		esc := url.PathEscape(c)
		send(name+" in User-Agent", "/public/ua", map[string]string{"User-Agent": c})
		send(name+" in User-Agent (parentheses)", "/public/ua", map[string]string{"User-Agent": "probe/1.0 (" + c + ")"})
		send(name+" in User-Agent (key:)", "/public/ua", map[string]string{"User-Agent": "probe key:" + c + " end"})
		send(name+" in User-Agent (token=)", "/public/ua", map[string]string{"User-Agent": "probe token=" + c + ";"})
		send(name+" in Origin", "/public/origin", map[string]string{"Origin": "https://" + c + ".example"})
		send(name+" in Referer", "/public/referer", map[string]string{"Referer": "https://app.example/cb?key=" + c})
		send(name+" as X-Request-Id", "/public/rid", map[string]string{"X-Request-Id": c})
		send(name+" in a path segment", "/public/"+esc+"/items", nil)
		send(name+" in a path segment of an authenticated route (401)", "/logleak/"+esc, nil)
		send(name+" in a matrix parameter", "/public/x;api_key="+esc, nil)
		send(name+" in a query string sent in the path", "/public/x%3Fapi_key%3D"+esc, nil)
		send(name+" in the query (no query keys on the route)", "/public/q?api_key="+esc+"&token="+esc, nil)
		send(name+" in the query of a route that takes ?api_key=", "/qk/q?api_key="+esc+"&other="+esc, nil)
		if !strings.ContainsAny(c, "+/=") { // a valid header name
			send(name+" as a header's name", "/public/name", map[string]string{c: "1"})
		}
		send(name+" as an unknown key (one character more)", "/logleak/unknown", map[string]string{"x-api-key": c + "x"})
		// A fragment is never sent by a client, but a raw socket can.
		raw(t, ip, s.gatewayAddr(), "GET /public/frag#"+c+" HTTP/1.1\r\nHost: "+s.gatewayAddr()+"\r\nConnection: close\r\n\r\n", 5*time.Second)
	}
	// The keys with URL punctuation glued to other text on both sides by punctuation (glued to
	// letters, "preSECRETpost", no imported key is found: docs/security.md, class 15).
	for name, c := range map[string]string{"imported key with = : / ? & # @": foreignPunct, "imported key with = : / @ &": foreignPath} {
		esc := url.PathEscape(c)
		send(name+" glued in User-Agent (key=…&)", "/public/ua", map[string]string{"User-Agent": "probe/1.0 key=" + c + "&next=1"})
		send(name+" glued in X-Request-Id", "/public/rid", map[string]string{"X-Request-Id": "req=" + c + "/1"})
		send(name+" glued in a path segment (escaped)", "/public/x/pre:"+esc+"@post/y", nil)
		send(name+" glued after key= in a query sent in the path", "/public/x%3Fkey%3D"+url.QueryEscape(c)+"%26n%3D1", nil)
	}
	raw(t, ip, s.gatewayAddr(), "GET /public/x/pre="+foreignPath+"&post/y HTTP/1.1\r\nHost: "+s.gatewayAddr()+"\r\nConnection: close\r\n\r\n", 5*time.Second)
	raw(t, ip, s.gatewayAddr(), "GET /public/x;key="+foreignPath+";v=1 HTTP/1.1\r\nHost: "+s.gatewayAddr()+"\r\nConnection: close\r\n\r\n", 5*time.Second)
	// The imported keys authenticate like any key; only their ids are logged.
	send("imported key as x-api-key", "/logleak/valid", map[string]string{"x-api-key": foreignMixed})
	send("imported key as Bearer", "/logleak/valid", map[string]string{"Authorization": "Bearer " + foreignPlain})

	// Read back: from memory at once, then from the database once the entries are persisted
	// (the in-memory ring holds the latest 2,000 only; other attacks run meanwhile).
	check := func(where string, data []byte) {
		t.Helper()
		for name, c := range creds {
			quoted, _ := json.Marshal(c) // as a JSON answer spells it (& is \u0026)
			if strings.Contains(string(data), c) || strings.Contains(string(data), strings.Trim(string(quoted), `"`)) {
				t.Errorf("%s holds the %s", where, name)
			}
			if body := c[3:]; strings.HasPrefix(c, "ba_") && strings.Contains(string(data), body) {
				t.Errorf("%s holds the %s without its prefix", where, name)
			}
		}
	}
	missing := func(data []byte) int {
		n := 0
		for _, id := range ids {
			if !strings.Contains(string(data), id) {
				n++
			}
		}
		return n
	}
	var list []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		var body json.RawMessage
		if err := admin.Send(context.Background(), http.MethodGet, "/api/v1/requests?limit=1000&org="+s.orgA, nil, &body); err != nil {
			t.Fatalf("ListRequests: %v", err)
		}
		list = body
		if missing(list) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if n := missing(list); n > len(ids)/2 {
		t.Fatalf("%d of %d requests not in the log read back: the check would prove nothing", n, len(ids))
	}
	if !strings.Contains(string(list), "[redacted]") {
		t.Error("nothing masked in the log read back")
	}
	check("the request log (ListRequests)", list)

	// The live stream starts with the newest 1,000 persisted rows.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.srv.ConsoleURL+"/api/v1/requests/stream?limit=1000&org="+s.orgA, nil)
	res, err := admin.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("request stream: %d %s", res.StatusCode, b)
	}
	var streamed strings.Builder
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		streamed.WriteString(sc.Text() + "\n")
		if missing([]byte(streamed.String())) == 0 {
			break
		}
	}
	if streamed.Len() == 0 || !strings.Contains(streamed.String(), "event: request") {
		t.Fatal("the stream sent no entry")
	}
	check("the live request stream", []byte(streamed.String()))

	// Metrics (unauthenticated on the console listener) are labelled by route prefix and code.
	mres, err := client(ip).Get(s.srv.ConsoleURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mres.Body)
	mres.Body.Close()
	if !strings.Contains(string(metrics), "keygate_gateway_requests_total") {
		t.Fatalf("/metrics: %d %.200s", mres.StatusCode, metrics)
	}
	check("/metrics", metrics)

	// The e-mail field of a sign-in: a password typed into the wrong box, a pasted key. The
	// audit log (read by the instance's admin, who sees sign-ins) names no such text.
	for _, typed := range []string{passwords[memberEmail], s.keyA.Key, foreignPlain} {
		bad := s.console(ip)
		if err := bad.SignIn(context.Background(), typed, "not-the-password-1"); err == nil {
			t.Fatalf("signed in with %q as the address", typed)
		}
	}
	var audit json.RawMessage
	if err := admin.Send(context.Background(), http.MethodGet, "/api/v1/audit?org="+s.orgA+"&limit=500", nil, &audit); err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if !strings.Contains(string(audit), "(no account with this address)") {
		t.Fatal("the failed sign-ins are not in the audit log read back: the check would prove nothing")
	}
	check("the audit log", audit)
	if strings.Contains(string(audit), passwords[memberEmail]) {
		t.Error("the audit log holds a password typed as the address")
	}
}
