package identity_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/tests/harness"
)

// zooDoc is the upstream's OpenAPI document: a default at the top level, operations with their
// own scopes, and one that needs none.
const zooDoc = `openapi: 3.0.3
info: {title: Zoo, version: "1"}
x-keygate-scopes: [pets:read]
paths:
  /pets:
    get:
      responses: {"200": {description: the pets}}
    post:
      x-keygate-scopes: [pets:write]
      responses: {"201": {description: added}}
  /pets/{id}:
    delete:
      x-keygate-scopes: [pets:admin]
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"204": {description: gone}}
  /health:
    get:
      x-keygate-scopes: []
      responses: {"200": {description: up}}
`

// TestScopesOverSockets: route scopes (--scope) and the x-keygate-scopes of a route's
// document decide, over real sockets, which keys pass; a refusal is a problem+json 403
// INSUFFICIENT_SCOPE naming the missing scope and reaches no upstream; resource:* and * match;
// an edit of the route's scopes beside the running server applies; the gateway document shows
// what each operation needs.
func TestScopesOverSockets(t *testing.T) {
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprintf(w, "upstream %s %s", r.Method, r.URL.Path)
	}))
	t.Cleanup(up.Close)
	doc := filepath.Join(t.TempDir(), "zoo.yaml")
	if err := os.WriteFile(doc, []byte(zooDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	cli(t, bin, dir, "routes", "add", "/zoo", up.URL, "--strip-prefix", "--openapi", doc, "--scope", "api:use")
	cli(t, bin, dir, "routes", "add", "/orders", up.URL, "--scope", "orders:read")
	if err := harness.AddAdmin(context.Background(), bin, dir, adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	none := createKey(t, bin, dir)
	reader := createKey(t, bin, dir, "--scope", "api:use", "--scope", "pets:read")
	writer := createKey(t, bin, dir, "--scope", "api:use", "--scope", "pets:*")
	star := createKey(t, bin, dir, "--scope", "*")
	orders := createKey(t, bin, dir, "--scope", "orders:read")
	srv, err := harness.Start(bin, dir, harness.Options{Args: []string{"--failed-auth-limit", "0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })

	for _, c := range []struct {
		key          created
		method, path string
		missing      string // the scope the 403 names; "" for a pass
	}{
		{none, "GET", "/zoo/pets", "api:use"}, // the route's own scope comes first
		{none, "GET", "/zoo/health", "api:use"},
		{reader, "GET", "/zoo/pets", ""},
		{reader, "HEAD", "/zoo/pets", ""},
		{reader, "GET", "/zoo/health", ""},
		{reader, "GET", "/zoo/elsewhere", ""}, // no operation: the document's default
		{reader, "POST", "/zoo/pets", "pets:write"},
		{reader, "DELETE", "/zoo/pets/7", "pets:admin"},
		{reader, "GET", "/orders/1", "orders:read"},
		{writer, "POST", "/zoo/pets", ""},
		{writer, "DELETE", "/zoo/pets/7", ""}, // pets:* holds pets:admin
		{writer, "GET", "/zoo/pets", ""},
		{writer, "GET", "/orders/1", "orders:read"},
		{star, "DELETE", "/zoo/pets/7", ""},
		{star, "GET", "/orders/1", ""},
		{orders, "GET", "/orders/1", ""},
		{orders, "POST", "/orders/1", ""},
		{orders, "GET", "/zoo/health", "api:use"},
	} {
		for _, how := range []string{"X-Api-Key", "Authorization"} {
			name := fmt.Sprintf("%s %s with a key of %v (%s)", c.method, c.path, c.key.Scopes, how)
			before := hits.Load()
			a := call(t, srv.GatewayURL, c.method, c.path, c.key.Key, how == "Authorization")
			forwarded := hits.Load() - before
			if c.missing == "" {
				if a.status != 200 || forwarded != 1 {
					t.Errorf("%s: %d %s, %d forwarded; want 200 from the upstream", name, a.status, a.body, forwarded)
				}
				continue
			}
			if forwarded != 0 {
				t.Errorf("%s: a refused request reached the upstream", name)
			}
			checkInsufficientScope(t, name, a, c.missing)
		}
	}

	// A path or method a lenient upstream reads as a declared operation needs that operation's
	// scopes too (Express and ASP.NET route case-insensitively, Java servers cut ";x", ...).
	for _, c := range []struct{ method, path, missing string }{
		{"POST", "/zoo/PETS", "pets:write"},
		{"POST", "/zoo/Pets/", "pets:write"},
		{"POST", "/zoo/pets;x=1", "pets:write"},
		{"POST", "/zoo/pets%253bx", "pets:write"},
		{"POST", "/zoo/%2570ets", "pets:write"},
		{"POST", "/zoo/pets%20", "pets:write"},
		{"POST", "/zoo/pets.json", "pets:write"},
		{"post", "/zoo/pets", "pets:write"},
		{"DELETE", "/zoo/PETS/7", "pets:admin"},
		{"DELETE", "/zoo/pets;a/7", "pets:admin"},
	} {
		before := hits.Load()
		a := rawCall(t, srv.GatewayURL, c.method, c.path, reader.Key)
		if hits.Load() != before {
			t.Errorf("%s %s with pets:read reached the upstream", c.method, c.path)
		}
		checkInsufficientScope(t, c.method+" "+c.path, a, c.missing)
	}
	if a := rawCall(t, srv.GatewayURL, "POST", "/zoo/PETS", writer.Key); a.status != 200 {
		t.Errorf("POST /zoo/PETS with pets:*: %d %s", a.status, a.body)
	}

	// An edit of the route's scopes beside the running server applies to the next requests.
	cli(t, bin, dir, "routes", "update", "/orders", "--scope", "orders:write")
	eventually(t, "the route's new scope", func() bool {
		return call(t, srv.GatewayURL, "GET", "/orders/1", orders.Key, false).status == 403
	})
	checkInsufficientScope(t, "orders:read after the edit", call(t, srv.GatewayURL, "GET", "/orders/1", orders.Key, false), "orders:write")
	if a := call(t, srv.GatewayURL, "GET", "/orders/1", star.Key, false); a.status != 200 {
		t.Errorf("* after the edit: %d %s", a.status, a.body)
	}

	// The gateway document (what the docs viewer shows) says what each operation needs.
	c := testutil.NewClient(t, srv.ConsoleURL)
	if err := c.SignIn(context.Background(), adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	res, body := c.Do("GET", "/openapi/gateway.json", nil)
	if res.StatusCode != 200 {
		t.Fatalf("gateway document: %d %s", res.StatusCode, body)
	}
	var gw struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct{ Responses map[string]json.RawMessage }
	}
	if err := json.Unmarshal(body, &gw); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		path, method string
		scopes       []string
	}{
		{"/zoo/pets", "get", []string{"api:use", "pets:read"}},
		{"/zoo/pets", "post", []string{"api:use", "pets:write"}},
		{"/zoo/pets/{id}", "delete", []string{"api:use", "pets:admin"}},
		{"/zoo/health", "get", []string{"api:use"}},
		{"/orders/{path}", "post", []string{"orders:write"}}, // no document: a catch-all, with the edited scope
	} {
		raw, ok := gw.Paths[want.path][want.method]
		if !ok {
			t.Errorf("gateway document has no %s %s; paths %v", want.method, want.path, keysOf(gw.Paths))
			continue
		}
		var op struct {
			Description string
			Scopes      []string `json:"x-keygate-scopes"`
			Responses   map[string]json.RawMessage
		}
		json.Unmarshal(raw, &op)
		if !slices.Equal(op.Scopes, want.scopes) {
			t.Errorf("%s %s: x-keygate-scopes %v, want %v", want.method, want.path, op.Scopes, want.scopes)
		}
		for _, s := range want.scopes {
			if !strings.Contains(op.Description, "`"+s+"`") {
				t.Errorf("%s %s: the description does not name %s: %q", want.method, want.path, s, op.Description)
			}
		}
		if _, ok := op.Responses["403"]; !ok {
			t.Errorf("%s %s: no 403 documented", want.method, want.path)
		}
	}
	if _, ok := gw.Components.Responses["InsufficientScope"]; !ok {
		t.Error("the gateway document has no InsufficientScope response")
	}
}

func checkInsufficientScope(t *testing.T, name string, a answer, scope string) {
	t.Helper()
	var p struct {
		Status       int
		Code, Detail string
	}
	if err := json.Unmarshal([]byte(a.body), &p); err != nil {
		t.Errorf("%s: %d %q is not JSON", name, a.status, a.body)
		return
	}
	if a.status != 403 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json") ||
		p.Status != 403 || p.Code != "INSUFFICIENT_SCOPE" || !strings.Contains(p.Detail, " "+scope+",") {
		t.Errorf("%s: %d %s %s, want 403 INSUFFICIENT_SCOPE naming %s", name, a.status, a.header.Get("Content-Type"), a.body, scope)
	}
	if got, want := a.header.Get("Www-Authenticate"), `error="insufficient_scope", scope="`+scope+`"`; !strings.Contains(got, want) {
		t.Errorf("%s: WWW-Authenticate %q, want it to hold %s", name, got, want)
	}
}

// answer is what the gateway said.
type answer struct {
	status int
	header http.Header
	body   string
}

// call sends method path with key (in X-Api-Key, or as a bearer token) over a fresh connection.
func call(t *testing.T, gateway, method, path, key string, bearer bool, header ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, gateway+path, nil)
	switch {
	case key == "":
	case bearer:
		req.Header.Set("Authorization", "Bearer "+key)
	default:
		req.Header.Set("X-Api-Key", key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: timeout}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(b)}
}

// rawCall sends "METHOD path" as written (net/http would clean the path and check the method)
// over a fresh connection.
func rawCall(t *testing.T, gateway, method, path, key string) answer {
	t.Helper()
	host := strings.TrimPrefix(gateway, "http://")
	c, err := net.DialTimeout("tcp", host, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nX-Api-Key: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path, host, key)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(b)}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
