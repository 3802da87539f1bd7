package contract_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/tests/harness"
)

// upstreamMarker is set by the test's upstream on every answer: an answer without it is the
// gateway's own.
const upstreamMarker = "X-Contract-Upstream"

// validatedSpec is the upstream document of the /valid route, which validates requests.
const validatedSpec = `{"openapi":"3.0.3","info":{"title":"things","version":"1"},"paths":{
"/things":{"post":{"requestBody":{"required":true,"content":{"application/json":{"schema":{"type":"object",
"required":["name"],"properties":{"name":{"type":"string","maxLength":20},"count":{"type":"integer","minimum":0}},
"additionalProperties":false}}}},"responses":{"201":{"description":"made"}}},
"get":{"parameters":[{"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":10}}],"responses":{"200":{"description":"ok"}}}},
"/things/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"integer"}}],
"responses":{"200":{"description":"ok"}}}}}}`

// gwRequest is one request to the gateway, written on the socket as is.
type gwRequest struct {
	kind    string
	method  string
	target  string // the request-target, already escaped (or deliberately not)
	headers [][2]string
	body    []byte
	raw     []byte // when set, sent instead of what the fields describe: malformed on purpose
	trouble bool   // the upstream is slow, gone or resets: 502/504 are allowed
	src     byte   // the last octet of the 127.0.0.x source address
	// documented are the statuses of the operation the request is a plain call of (nil when
	// its path, method or query is odd): Keygate's own answer must be one of them.
	documented map[int]bool
}

func (r *gwRequest) String() string {
	if r.raw != nil {
		return fmt.Sprintf("[%s] raw %q", r.kind, truncate(string(r.raw), 300))
	}
	s := fmt.Sprintf("[%s] %s %s", r.kind, r.method, truncate(r.target, 200))
	for _, h := range r.headers {
		s += fmt.Sprintf(" %s=%q", h[0], truncate(h[1], 80))
	}
	if r.body != nil {
		s += fmt.Sprintf(" body %d bytes", len(r.body))
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + fmt.Sprintf("…(%d)", len(s))
	}
	return s
}

// unparsable reports whether the HTTP server cannot even parse r's target (an invalid
// percent-escape): it refuses such a request itself.
func (r *gwRequest) unparsable() bool {
	_, err := url.ParseRequestURI(r.target)
	return err != nil
}

func (r *gwRequest) bytes(host string) []byte {
	if r.raw != nil {
		return r.raw
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.method, r.target, host)
	for _, h := range r.headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if r.body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.body))
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.Write(r.body)
	return b.Bytes()
}

// gwHarness holds the running gateway, its document and the keys the requests use.
type gwHarness struct {
	t        *testing.T
	addr     string // host:port of the gateway
	g        *gen
	keys     map[string]string // valid, revoked, other (another organization's), limited
	sent     int
	byStatus map[int]int
	library  map[int]int // answers the HTTP server wrote itself, by status
	spent    map[string]time.Duration
	failures map[string]int
}

// libraryStatuses are the answers the HTTP server itself gives a request it cannot parse.
var libraryStatuses = map[int]bool{
	http.StatusBadRequest: true, http.StatusRequestURITooLong: true, http.StatusRequestHeaderFieldsTooLarge: true,
	http.StatusNotImplemented: true, http.StatusHTTPVersionNotSupported: true,
}

func TestContractGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts keygate serve")
	}
	t.Parallel() // each has its own server
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	if err := harness.AddAdmin(ctx, bin, dir, adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	srv, err := harness.Start(bin, dir, harness.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("keygate serve did not stop cleanly: %v", err)
		}
	}()

	up := httptest.NewServer(http.HandlerFunc(upstream))
	defer up.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + closed.Addr().String()
	closed.Close()
	spec := filepath.Join(tmp, "things.json")
	if err := os.WriteFile(spec, []byte(validatedSpec), 0o600); err != nil {
		t.Fatal(err)
	}

	// The gateway's configuration, made through the console like a user would.
	c := testutil.NewClient(nil, srv.ConsoleURL)
	if err := c.SignIn(ctx, adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	var other struct {
		ID string `json:"id"`
	}
	must(t, c.Send(ctx, "POST", "/api/v1/orgs", map[string]any{"name": "Other"}, &other))
	keys := map[string]string{}
	for name, in := range map[string]map[string]any{
		"valid":   {"name": "valid"},
		"revoked": {"name": "revoked"},
		"other":   {"name": "other", "org": other.ID},
		"limited": {"name": "limited", "rateLimit": 1, "rateWindowSeconds": 3600},
	} {
		var k testutil.CreatedKey
		must(t, c.Send(ctx, "POST", "/api/v1/keys", in, &k))
		keys[name] = k.Key
		if name == "revoked" {
			must(t, c.RevokeKey(ctx, k.ID))
		}
	}
	f := false
	for _, r := range []map[string]any{
		{"prefix": "/api", "upstream": up.URL, "stripPrefix": true},
		{"prefix": "/open", "upstream": up.URL, "authRequired": &f},
		{"prefix": "/small", "upstream": up.URL, "maxBodyBytes": 16},
		{"prefix": "/org", "upstream": up.URL, "orgId": other.ID},
		{"prefix": "/q", "upstream": up.URL, "queryKeyParam": "api_key"},
		{"prefix": "/down", "upstream": downURL},
		{"prefix": "/valid", "upstream": up.URL, "stripPrefix": true, "validateRequests": true, "openapiSource": spec},
	} {
		must(t, c.Send(ctx, "POST", "/api/v1/routes", r, nil))
	}
	must(t, c.Send(ctx, "PUT", "/api/v1/gateway/settings",
		map[string]any{"allowedOrigins": []string{"https://allowed.example"}, "upstreamTimeoutSeconds": 1}, nil))

	h := &gwHarness{t: t, addr: strings.TrimPrefix(srv.GatewayURL, "http://"), g: newGen(seed(t) + 1), keys: keys,
		byStatus: map[int]int{}, library: map[int]int{}, spent: map[string]time.Duration{}, failures: map[string]int{}}
	h.waitForRoutes(ctx)
	doc := gatewayDocument(t, ctx, c)
	ops := gatewayOperations(doc)
	t.Logf("seed %d, %d operations in the gateway document", seed(t)+1, len(ops))
	if len(ops) < 8 {
		t.Fatalf("the gateway document lists only %d operations", len(ops))
	}

	start := time.Now()
	for round := range rounds(t) {
		for _, o := range ops {
			for _, rq := range h.requests(o, round) {
				h.do(rq)
			}
		}
		for _, rq := range h.framing() {
			h.do(rq)
		}
	}
	elapsed := time.Since(start)
	var statuses []string
	for _, s := range slices.Sorted(maps.Keys(h.byStatus)) {
		statuses = append(statuses, fmt.Sprintf("%d×%d", s, h.byStatus[s]))
	}
	t.Logf("%d requests in %s: %s; answered by the HTTP server itself: %v", h.sent, elapsed.Round(time.Millisecond),
		strings.Join(statuses, " "), h.library)
	slowest := slices.SortedFunc(maps.Keys(h.spent), func(a, b string) int { return int(h.spent[b] - h.spent[a]) })
	for _, kind := range slowest[:min(4, len(slowest))] {
		t.Logf("  %s: %s", kind, h.spent[kind].Round(time.Millisecond))
	}
	for _, want := range []int{200, 400, 401, 403, 404, 413, 429, 502, 504} {
		if h.byStatus[want] == 0 {
			t.Errorf("no request was answered %d: the generator misses a path through the gateway", want)
		}
	}
	// The gateway is still well after all of it.
	rq := &gwRequest{kind: "after", method: "GET", target: "/api/health", headers: [][2]string{{"X-Api-Key", keys["valid"]}}, src: 2}
	if status, hdr, _, err := h.send(rq); err != nil || status != 200 || hdr.Get(upstreamMarker) == "" {
		t.Errorf("after the run, a valid request got %d (%v)", status, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// upstream is the test's API behind the gateway: it answers 200 unless the path asks it to
// be slow (/slow), to reset the connection (/reset) or to answer a status (/status/NNN).
func upstream(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set(upstreamMarker, "1")
	switch {
	case strings.Contains(r.URL.Path, "/slow"):
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
		}
	case strings.Contains(r.URL.Path, "/reset"):
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				conn.Close()
				return
			}
		}
	case strings.Contains(r.URL.Path, "/status/"):
		_, s, _ := strings.Cut(r.URL.Path, "/status/")
		if n, err := strconv.Atoi(strings.Trim(s, "/")); err == nil && n >= 200 && n < 600 {
			w.WriteHeader(n)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "upstream ok")
}

// waitForRoutes waits until the gateway serves the routes just stored (it reloads within a
// second).
func (h *gwHarness) waitForRoutes(ctx context.Context) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		status, _, _, err := h.send(&gwRequest{method: "GET", target: "/valid/things?limit=2",
			headers: [][2]string{{"X-Api-Key", h.keys["valid"]}}, src: 2})
		if err == nil && status == 200 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatal("the gateway did not serve the new routes within 10s")
}

// gatewayDocument fetches the gateway document as the signed-in admin (it needs a session
// and lists the routes the caller may see).
func gatewayDocument(t *testing.T, ctx context.Context, c *testutil.Client) *openapi3.T {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/openapi/gateway.json", nil)
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET /openapi/gateway.json: %d %s", res.StatusCode, b)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("load the gateway document: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the gateway document is not valid OpenAPI: %v", err)
	}
	return doc
}

// gwOperation is one operation of the gateway document.
type gwOperation struct {
	method, template string
	params           []*openapi3.Parameter
	body             *openapi3.Schema
	documented       map[int]bool // the statuses its responses list
}

func gatewayOperations(doc *openapi3.T) []*gwOperation {
	var out []*gwOperation
	for _, template := range slices.Sorted(maps.Keys(doc.Paths.Map())) {
		item := doc.Paths.Value(template)
		for _, method := range slices.Sorted(maps.Keys(item.Operations())) {
			op := item.Operations()[method]
			o := &gwOperation{method: method, template: template, documented: map[int]bool{}}
			for code := range op.Responses.Map() {
				if n, err := strconv.Atoi(code); err == nil {
					o.documented[n] = true
				}
			}
			for _, p := range append(item.Parameters, op.Parameters...) {
				o.params = append(o.params, p.Value)
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					o.body = mt.Schema.Value
				}
			}
			out = append(out, o)
		}
	}
	return out
}

// oddSegments are path pieces for a route's free path (raw: some are not valid escapes).
var oddSegments = []string{
	"..", "a/../../b", "./x", "a//b", "%2e%2e/x", "%2E%2E%2Fx", "a%2Fb", "%00", "a%00b", "%ZZ", "%",
	"é", "%C3%A9", "%FF%FE", "\u202E", "😀", strings.Repeat("a/", 200), strings.Repeat("x", 6000),
	"slow", "reset", "status/503", "status/404", "status/200", "status/418", "health", "a;b", "a?b=c#frag",
}

// credentials returns a random way of presenting (or not) a credential, as headers and a
// query addition.
func (h *gwHarness) credentials() (kind string, headers [][2]string, query string) {
	g := h.g
	valid := h.keys["valid"]
	switch n := g.r.IntN(16); n {
	case 0:
		return "no credential", nil, ""
	case 1, 2, 3:
		return "valid key", [][2]string{{"X-Api-Key", valid}}, ""
	case 4:
		return "bearer", [][2]string{{"Authorization", "Bearer " + valid}}, ""
	case 5:
		return "revoked", [][2]string{{"X-Api-Key", h.keys["revoked"]}}, ""
	case 6:
		return "other organization", [][2]string{{"X-Api-Key", h.keys["other"]}}, ""
	case 7:
		return "rate limited", [][2]string{{"X-Api-Key", h.keys["limited"]}}, ""
	case 8:
		bad := []byte(valid)
		bad[len(bad)-1] ^= 1
		return "bad checksum", [][2]string{{"X-Api-Key", string(bad)}}, ""
	case 9:
		return "odd key", [][2]string{{"X-Api-Key", pick(g, []string{"", "kg_", "kg_x", "x", strings.Repeat("k", 5000),
			"kg_" + strings.Repeat("A", 38), valid + " ", "\u202E" + valid, valid + valid})}}, ""
	case 10:
		return "odd authorization", [][2]string{{"Authorization", pick(g, []string{"Bearer", "Bearer ", "bearer " + valid,
			"Basic dXNlcjpwYXNz", "Bearer " + valid + " extra", "Bearer\t" + valid, "Token " + valid, strings.Repeat("B", 9000)})}}, ""
	case 11:
		return "disagreeing keys", [][2]string{{"X-Api-Key", valid}, {"X-Api-Key", h.keys["other"]}}, ""
	case 12:
		return "key and bearer", [][2]string{{"X-Api-Key", valid}, {"Authorization", "Bearer " + h.keys["revoked"]}}, ""
	case 13:
		return "query key", nil, "api_key=" + valid
	case 14:
		return "odd query key", nil, "api_key=" + pick(g, []string{"", "%00", "kg_%ZZ", valid + "&api_key=" + valid, valid + "&api_key=x"})
	default:
		return "cookie", [][2]string{{"Cookie", pick(g, []string{"keygate_session=garbage", "keygate_session=", "__Secure-keygate_session=" +
			strings.Repeat("z", 64), "keygate_session=a; keygate_session=b"})}, {"Sec-Fetch-Site", "same-origin"}}, ""
	}
}

// extraHeaders returns headers a client may add, odd ones included.
func (h *gwHarness) extraHeaders() [][2]string {
	g := h.g
	var out [][2]string
	for _, hd := range [][][2]string{
		{{"Origin", "https://allowed.example"}}, {{"Origin", "https://evil.example"}}, {{"Origin", "null"}},
		{{"X-Forwarded-For", "1.2.3.4, 5.6.7.8"}}, {{"X-Forwarded-For", "not an address"}}, {{"Forwarded", "for=\"[::1]\";proto=https"}},
		{{"X-Request-Id", pick(g, []string{"ok-id_1", strings.Repeat("r", 500), "bad id\t", "\u00e9"})}},
		{{"Connection", "Upgrade"}, {"Upgrade", pick(g, []string{"h2c", "websocket", "foo/1"})}},
		{{"Expect", "100-continue"}}, {{"Content-Encoding", "gzip"}}, {{"Accept-Encoding", "br, gzip"}},
		{{"X-Keygate-Key-Id", "forged"}}, {{"Range", "bytes=0-1,5-6"}},
		{{"Content-Type", pick(g, oddContentTypes[1:])}},
		{{"X-Huge", strings.Repeat("h", 20000)}},
	} {
		if g.chance(0.12) {
			out = append(out, hd...)
		}
	}
	return out
}

// fillPath fills a template's parameters: examples, generated values or odd segments.
func (h *gwHarness) fillPath(o *gwOperation) (path string, odd bool) {
	g := h.g
	path = o.template
	for _, p := range o.params {
		if p.In != "path" {
			continue
		}
		var v string
		switch {
		case g.chance(0.4):
			v, odd = pick(g, oddSegments), true
		case p.Example != nil:
			v = url.PathEscape(fmt.Sprint(p.Example))
		default:
			v = url.PathEscape(fmt.Sprint(g.value(schemaOf(p), 0)))
		}
		if p.Schema != nil && p.Schema.Value != nil && !p.Schema.Value.Type.Is("string") && g.chance(0.5) {
			v = pick(g, []string{"abc", "1.5", "-1", "99999999999999999999"})
		}
		path = strings.Replace(path, "{"+p.Name+"}", v, 1)
	}
	return path, odd
}

// requests is one round of requests for o.
func (h *gwHarness) requests(o *gwOperation, round int) []*gwRequest {
	g := h.g
	var out []*gwRequest
	for i := range 6 {
		credKind, headers, query := h.credentials()
		rq := &gwRequest{kind: credKind, method: o.method, src: byte(10 + g.r.IntN(240))}
		if g.chance(0.15) {
			rq.src = 5 // one address keeps failing, so its failed-authentication limit is reached
		}
		path, odd := h.fillPath(o)
		var q []string
		for _, p := range o.params {
			if p.In == "query" && (p.Required || g.chance(0.5)) {
				v := fmt.Sprint(g.value(schemaOf(p), 0))
				if g.chance(0.4) {
					v = pick(g, oddQueryValues)
				}
				q = append(q, p.Name+"="+escapeQuery(v))
			}
		}
		if query != "" {
			q = append(q, query)
		}
		if g.chance(0.1) {
			q = append(q, pick(g, []string{"%zz", "a=%", "x=" + strings.Repeat("q", 3000), "&&", "%00=%00"}))
			odd = true
		}
		rq.target = path
		if len(q) > 0 {
			rq.target += "?" + strings.Join(q, "&")
		}
		if i == 0 && round == 0 {
			rq.kind, rq.headers = "valid key, clean", [][2]string{{"X-Api-Key", h.keys["valid"]}}
			rq.target = strings.NewReplacer("{", "", "}", "").Replace(o.template) // a plain path of the template's shape
		} else {
			rq.headers = append(headers, h.extraHeaders()...)
			if g.chance(0.1) {
				rq.method = pick(g, []string{"FOO", "get", "TRACE", "OPTIONS", "PROPFIND", "M-SEARCH", strings.Repeat("G", 300)})
				odd = true
			}
		}
		if o.method != "GET" && o.method != "HEAD" || g.chance(0.1) {
			switch n := g.r.IntN(6); {
			case n == 0 && o.body != nil:
				b, _ := json.Marshal(g.object(o.body, 0, nil))
				rq.body = b
				rq.headers = append(rq.headers, [2]string{"Content-Type", "application/json"})
			case n == 1 && o.body != nil:
				b, _ := json.Marshal(g.wrongType(o.body))
				rq.body = b
				rq.headers = append(rq.headers, [2]string{"Content-Type", "application/json"})
			case n == 2:
				rq.body = []byte(pick(g, badJSON))
				rq.headers = append(rq.headers, [2]string{"Content-Type", "application/json"})
			case n == 3:
				rq.body = bytes.Repeat([]byte("b"), 17+g.r.IntN(100))
			case n == 4 && round == 0:
				rq.body = bytes.Repeat([]byte("B"), 2<<20)
			default:
				rq.body = []byte(`{"name":"thing"}`)
				rq.headers = append(rq.headers, [2]string{"Content-Type", "application/json"})
			}
		}
		if !odd {
			rq.documented = o.documented
		}
		rq.trouble = strings.HasPrefix(rq.target, "/down") || strings.Contains(rq.target, "slow") ||
			strings.Contains(rq.target, "reset")
		out = append(out, rq)
	}
	// A CORS preflight, from an allowed origin or not.
	out = append(out, &gwRequest{kind: "preflight", method: "OPTIONS", target: strings.NewReplacer("{", "", "}", "").Replace(o.template),
		headers: [][2]string{{"Origin", pick(g, []string{"https://allowed.example", "https://evil.example", "null"})},
			{"Access-Control-Request-Method", pick(g, []string{o.method, "DELETE", "X"})},
			{"Access-Control-Request-Headers", pick(g, []string{"x-api-key", "content-type, x-api-key", "\x7f"})}},
		src: byte(10 + g.r.IntN(240))})
	return out
}

func escapeQuery(s string) string {
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '&' || c == '#' || c == '%' || c == '+' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// framing are requests that are not well-formed HTTP/1.1 (or barely are): the server may
// refuse them its own way, but never with a 5xx, and it keeps serving.
func (h *gwHarness) framing() []*gwRequest {
	key := h.keys["valid"]
	host := "Host: " + h.addr + "\r\n"
	raws := []string{
		"GET /api/x HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
		"POST /api/x HTTP/1.1\r\n" + host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /api/x HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
		"POST /api/x HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
		"POST /api/x HTTP/1.1\r\n" + host + "X-Api-Key: " + key + "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"GET /api/x HTTP/1.1\n" + host + "\n",
		"GET /api/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET /api/x HTTP/1.1\r\n\r\n",
		"GET http://evil.example/api/x HTTP/1.1\r\n" + host + "\r\n",
		"GET /api/x HTTP/1.0\r\n\r\n",
		"GET /api/x HTTP/2.0\r\n" + host + "\r\n",
		"GET /api/x HTTP/1.1\r\n" + host + " X-Folded: yes\r\n\r\n",
		"GET /api/x HTTP/1.1\r\n" + host + "X-Api-Key: a\x00b\r\n\r\n",
		"GET /api/x HTTP/1.1\r\n" + host + "Bad Header: x\r\n\r\n",
		"GET /api/\x00x HTTP/1.1\r\n" + host + "\r\n",
		"GET * HTTP/1.1\r\n" + host + "\r\n",
		"CONNECT 127.0.0.1:22 HTTP/1.1\r\n" + host + "\r\n",
		"GET /" + strings.Repeat("a", 40000) + " HTTP/1.1\r\n" + host + "\r\n",
		"GET /api/x HTTP/1.1\r\n" + host + strings.Repeat("X-Many: y\r\n", 3000) + "\r\n",
		"GET /api/x HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n",
		"POST /api/x HTTP/1.1\r\n" + host + "X-Api-Key: " + key + "\r\nContent-Length: 100\r\n\r\nshort",
		"\r\n\r\nGET /api/x HTTP/1.1\r\n" + host + "\r\n",
		"GARBAGE\r\n\r\n",
	}
	var out []*gwRequest
	for i, r := range raws {
		out = append(out, &gwRequest{kind: fmt.Sprintf("framing %d", i), raw: []byte(r), src: byte(10 + i)})
	}
	return out
}

// send writes rq on a new connection from 127.0.0.src and reads one answer.
func (h *gwHarness) send(rq *gwRequest) (int, http.Header, []byte, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, rq.src)}}
	conn, err := d.Dial("tcp", h.addr)
	if err != nil {
		return 0, nil, nil, err
	}
	defer conn.Close()
	wait := 20 * time.Second
	if rq.raw != nil {
		wait = 2 * time.Second // a request cut short (Content-Length: 100, 5 bytes sent) is waited for
	}
	conn.SetDeadline(time.Now().Add(wait))
	go conn.Write(rq.bytes(h.addr)) // the server may answer (413, 431) before reading it all
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: rq.method})
	for err == nil && res.StatusCode >= 100 && res.StatusCode < 200 && res.StatusCode != http.StatusSwitchingProtocols {
		res, err = http.ReadResponse(br, &http.Request{Method: rq.method}) // after 100 Continue
	}
	if err != nil {
		return 0, nil, nil, err
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	return res.StatusCode, res.Header, b, err
}

func (h *gwHarness) do(rq *gwRequest) {
	began := time.Now()
	status, hdr, b, err := h.send(rq)
	h.spent[rq.kind] += time.Since(began)
	h.sent++
	if err != nil {
		if rq.raw != nil || rq.unparsable() {
			// The HTTP server may refuse a request it cannot parse and close the connection
			// before the rest arrives; the reset can swallow its answer.
			return
		}
		h.fail(rq, "no answer", "%v", err)
		return
	}
	h.byStatus[status]++
	h.check(rq, status, hdr, b)
}

// check holds one answer to the gateway's contract.
func (h *gwHarness) check(rq *gwRequest, status int, hdr http.Header, b []byte) {
	if hdr.Get(upstreamMarker) != "" {
		return // the upstream's own answer, passed through
	}
	mt, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
	if mt != "application/problem+json" && hdr.Get("X-Request-Id") == "" {
		// Keygate puts an X-Request-Id on every answer it writes, and writes errors as
		// problems: this one is the HTTP server's own refusal of a request it could not
		// parse (a head over the limit, say). It is outside Keygate's codes; count it.
		h.library[status]++
		if os.Getenv("KEYGATE_CONTRACT_VERBOSE") != "" {
			h.t.Logf("answered by the HTTP server: %d %v %s\n  request: %s", status, hdr, snippet(b), rq)
		}
		if !libraryStatuses[status] {
			h.fail(rq, fmt.Sprintf("server %d", status), "the HTTP server answered %d itself: %v %s", status, hdr, snippet(b))
		}
		return
	}
	if rq.method == "OPTIONS" && status == http.StatusNoContent {
		return // a CORS preflight answered
	}
	if status < 400 {
		h.fail(rq, fmt.Sprintf("gateway %d", status), "a success that the upstream did not send: %v", hdr)
		return
	}
	if status >= 500 && !(rq.trouble && (status == http.StatusBadGateway || status == http.StatusGatewayTimeout)) {
		h.fail(rq, fmt.Sprintf("gateway %d", status), "a server error for a client's request: %s", snippet(b))
		return
	}
	if mt != "application/problem+json" {
		h.fail(rq, fmt.Sprintf("%d not problem+json", status), "Content-Type %q: %s", hdr.Get("Content-Type"), snippet(b))
		return
	}
	if rq.method == "HEAD" {
		return
	}
	var p struct {
		Type, Title, Code, Detail string
		Status                    int
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Type == "" || p.Title == "" || p.Detail == "" || p.Status != status {
		h.fail(rq, fmt.Sprintf("%d malformed problem", status), "%v: %s", err, snippet(b))
		return
	}
	want := gateway.StatusOf(gateway.Code(p.Code))
	if p.Code == "VALIDATION" {
		want = http.StatusBadRequest // request validation against the route's document
	}
	if want != status {
		h.fail(rq, fmt.Sprintf("%d code %s", status, p.Code), "code %q is not the gateway's code for %d: %s", p.Code, status, snippet(b))
	}
	if status == http.StatusTooManyRequests && hdr.Get("Retry-After") == "" {
		h.fail(rq, "429 without Retry-After", "%v", hdr)
	}
	if rq.documented != nil && !rq.documented[status] {
		h.fail(rq, fmt.Sprintf("undocumented %d %s", status, p.Code), "the operation documents %v: %s",
			slices.Sorted(maps.Keys(rq.documented)), snippet(b))
	}
	if status == http.StatusUnauthorized && hdr.Get("WWW-Authenticate") == "" {
		h.fail(rq, "401 without WWW-Authenticate", "%v", hdr)
	}
}

func (h *gwHarness) fail(rq *gwRequest, what string, format string, args ...any) {
	h.failures[what]++
	if n := h.failures[what]; n <= 3 {
		h.t.Errorf("gateway: %s\n  request: %s\n  %s", what, rq, fmt.Sprintf(format, args...))
	} else if n == 4 {
		h.t.Errorf("gateway: %s: more of the same not shown", what)
	}
}
