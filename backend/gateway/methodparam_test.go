package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/routes"
)

// methodParamEnv is a gateway with a route at /pets whose document wants pets:write for
// POST /pets/items and pets:delete for DELETE /pets/items/{id}, a key of each kind, and a
// route at /plain that requires nothing.
type methodParamEnv struct {
	*env
	writer, deleter keys.Created
}

func newMethodParamEnv(t *testing.T, maxBody int64, opts ...envOption) *methodParamEnv {
	e := newEnv(t, opts...)
	ctx := context.Background()
	e.routes.ReadScopesWith(func(context.Context, routes.Route) (*routes.DocumentScopes, error) {
		return &routes.DocumentScopes{Operations: []routes.OperationScopes{
			{Method: "POST", Path: "/pets/items", Scopes: []string{"pets:write"}},
			{Method: "DELETE", Path: "/pets/items/{id}", Scopes: []string{"pets:delete"}},
		}}, nil
	})
	e.addRoute(routes.Params{Prefix: "/pets", Upstream: e.up.URL, OpenAPISource: "doc.json", MaxBodyBytes: maxBody})
	e.addRoute(routes.Params{Prefix: "/plain", Upstream: e.up.URL})
	writer, err := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: "writer", CreatedBy: "test", Scopes: []string{"pets:write"}})
	if err != nil {
		t.Fatal(err)
	}
	deleter, err := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: "deleter", CreatedBy: "test",
		Scopes: []string{"pets:write", "pets:delete"}})
	if err != nil {
		t.Fatal(err)
	}
	return &methodParamEnv{env: e, writer: writer, deleter: deleter}
}

// send posts body (with its Content-Type, none when ct is "") through the gateway; chunked
// hides the length, so the body streams in chunks.
func (e *methodParamEnv) send(key, method, target, ct, body string, chunked bool) *http.Response {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
		if chunked {
			r = io.MultiReader(r) // not a *strings.Reader: no length, so chunked
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+target, r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header["X-Api-Key"] = []string{key}
	if ct != "" {
		req.Header["Content-Type"] = []string{ct}
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

const multipartCT = "multipart/form-data; boundary=XyZ"

func multipartBody(name, value string) string {
	return "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n--XyZ--\r\n"
}

// TestMethodParamNeedsItsScopes: Rails, Laravel, Symfony and Express (method-override with a
// getter) run the method a _method query parameter or form field names instead of the
// request's own, so on a route whose operations have their own scopes a POST carrying
// _method=DELETE needs the DELETE operation's scopes too — in the query or in an urlencoded,
// multipart or JSON body, whatever the spelling of the name as those frameworks read it, the
// case of the value or a repeated field. Nothing reaches the upstream without them, and with
// them the upstream gets the body unchanged.
func TestMethodParamNeedsItsScopes(t *testing.T) {
	e := newMethodParamEnv(t, 0)
	const form = "application/x-www-form-urlencoded"
	for _, tt := range []struct {
		name, target, ct, body string
		chunked                bool
	}{
		{"query", "/pets/items/7?_method=DELETE", "", "", false},
		{"query lower case", "/pets/items/7?_method=delete", "", "", false},
		{"query after others", "/pets/items/7?a=1&b=2&_method=Delete", "", "", false},
		{"query repeated", "/pets/items/7?_method=GET&_method=DELETE", "", "", false},
		{"query escaped name", "/pets/items/7?%5Fmethod=DELETE", "", "", false},
		{"query escaped letter", "/pets/items/7?_%6Dethod=DELETE", "", "", false},
		{"query escaped value", "/pets/items/7?_method=DEL%45TE", "", "", false},
		{"query PHP dot", "/pets/items/7?.method=DELETE", "", "", false},
		{"query PHP leading space", "/pets/items/7?+_method=DELETE", "", "", false},
		{"query PHP bracket", "/pets/items/7?[method=DELETE", "", "", false},
		{"query array", "/pets/items/7?_method[]=DELETE", "", "", false},
		{"query upper-case name", "/pets/items/7?_METHOD=DELETE", "", "", false},
		{"query semicolon", "/pets/items/7?a=1;_method=DELETE", "", "", false},
		{"query blanks", "/pets/items/7?_method=+DELETE+", "", "", false},
		{"form", "/pets/items/7", form, "_method=DELETE", false},
		{"form charset, any case", "/pets/items/7", "Application/X-WWW-Form-Urlencoded; charset=utf-8", "name=rex&_method=delete", false},
		{"form chunked", "/pets/items/7", form, "name=rex&_method=DELETE", true},
		{"form repeated", "/pets/items/7", form, "_method=PATCH&_method=DELETE", false},
		{"form escaped name", "/pets/items/7", form, "%5f%6d%65%74%68%6f%64=DELETE", false},
		{"form with query decoy", "/pets/items/7?_method=GET", form, "_method=DELETE", false},
		{"POST without Content-Type (Rack reads a form)", "/pets/items/7", "", "_method=DELETE", false},
		{"multipart", "/pets/items/7", multipartCT, multipartBody("_method", "DELETE"), false},
		{"multipart chunked", "/pets/items/7", multipartCT, multipartBody("_method", "delete"), true},
		{"multipart mixed", "/pets/items/7", "multipart/mixed; boundary=XyZ", multipartBody("_method", "DELETE"), false},
		{"multipart array name", "/pets/items/7", multipartCT, multipartBody("_method[]", "DELETE"), false},
		{"multipart single-quoted name (PHP)", "/pets/items/7", multipartCT, strings.Replace(multipartBody("_method", "DELETE"), `name="_method"`, `name='_method'`, 1), false},
		{"multipart unquoted name", "/pets/items/7", multipartCT, strings.Replace(multipartBody("_method", "DELETE"), `name="_method"`, `name=_method`, 1), false},
		{"Slim's _METHOD", "/pets/items/7", form, "_METHOD=DELETE", false},
		{"JSON (Laravel)", "/pets/items/7", "application/json", `{"name":"rex","_method":"DELETE"}`, false},
		{"JSON escaped key", "/pets/items/7", "application/json", `{"\u005fmethod":"delete"}`, false},
		{"JSON +json", "/pets/items/7", "application/vnd.api+json; charset=utf-8", `{"_method":"DELETE"}`, false},
		{"JSON list", "/pets/items/7", "application/json", `{"_method":["DELETE"]}`, false},
		{"JSON repeated", "/pets/items/7", "application/json", `{"_method":"GET","_method":"DELETE"}`, false},
	} {
		before := e.seen.count()
		res := e.send(e.writer.Key, "POST", tt.target, tt.ct, tt.body, tt.chunked)
		if p := readProblem(t, res); res.StatusCode != 403 || p.Code != gateway.CodeInsufficientScope || !strings.Contains(p.Detail, "pets:delete") {
			t.Errorf("%s: %d %+v, want 403 naming pets:delete", tt.name, res.StatusCode, p)
		}
		if e.seen.count() != before {
			t.Errorf("%s: reached the upstream", tt.name)
		}
		// The key that holds the DELETE operation's scope passes, and the upstream gets the
		// body and its type as sent.
		res = e.send(e.deleter.Key, "POST", tt.target, tt.ct, tt.body, tt.chunked)
		var got echo
		if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&got) != nil {
			t.Errorf("%s with pets:delete: %d, want 200", tt.name, res.StatusCode)
			continue
		}
		if got.Body != tt.body || got.Header.Get("Content-Type") != tt.ct && tt.ct != "" {
			t.Errorf("%s: upstream got %q (%q), want %q (%q)", tt.name, got.Body, got.Header.Get("Content-Type"), tt.body, tt.ct)
		}
	}
	// What names no method, or a method whose operation needs nothing, adds nothing.
	for _, tt := range []struct{ name, target, ct, body string }{
		{"override to GET", "/pets/items?_method=GET", "", ""},
		{"form override to GET", "/pets/items", form, "_method=get"},
		{"_method as a value", "/pets/items?q=_method", form, "name=_method&x=_method%3DDELETE"},
		{"longer name", "/pets/items?_methods=DELETE&my_method=DELETE", form, "x_method=DELETE"},
		{"JSON nested", "/pets/items", "application/json", `{"pet":{"_method":"DELETE"}}`},
		{"JSON not an object", "/pets/items", "application/json", `["_method","DELETE"]`},
		{"broken JSON", "/pets/items", "application/json", `{"_method":`},
		{"other type", "/pets/items", "text/plain", "_method=DELETE"},
		{"multipart field holding _method", "/pets/items", multipartCT, multipartBody("note", "_method=DELETE")},
	} {
		res := e.send(e.writer.Key, "POST", tt.target, tt.ct, tt.body, false)
		var got echo
		if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&got) != nil || got.Body != tt.body {
			t.Errorf("%s: %d, body %q, want 200 with the body", tt.name, res.StatusCode, got.Body)
		}
	}
}

// TestMethodParamBodyCannotBeChecked: on a route whose scopes depend on the method, a form or
// JSON body the gateway cannot read for a _method field is refused, never forwarded unchecked:
// over the route's body limit (or 8 MiB without one) 413, a multipart body it cannot take apart
// 400 MALFORMED_BODY. A route whose scopes do not depend on the method forwards the same bodies
// without reading them.
func TestMethodParamBodyCannotBeChecked(t *testing.T) {
	e := newMethodParamEnv(t, 1024)
	big := "_method=DELETE&pad=" + strings.Repeat("a", 2048)
	for _, tt := range []struct {
		name, ct, body string
		chunked        bool
		status         int
		code           gateway.Code
	}{
		{"form over the route's limit", "application/x-www-form-urlencoded", big, false, 413, gateway.CodePayloadTooLarge},
		{"chunked form over the route's limit", "application/x-www-form-urlencoded", big, true, 413, gateway.CodePayloadTooLarge},
		{"multipart without a boundary", "multipart/form-data", multipartBody("_method", "DELETE"), false, 400, gateway.CodeMalformedBody},
		{"multipart cut short", multipartCT, "--XyZ\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\nDELETE", false, 400, gateway.CodeMalformedBody},
		{"multipart unreadable disposition", multipartCT, "--XyZ\r\nContent-Disposition: form-data; name=\"_method\r\n\r\nDELETE\r\n--XyZ--\r\n", false, 400, gateway.CodeMalformedBody},
	} {
		before := e.seen.count()
		res := e.send(e.deleter.Key, "POST", "/pets/items/7", tt.ct, tt.body, tt.chunked)
		if p := readProblem(t, res); res.StatusCode != tt.status || p.Code != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, res.StatusCode, p.Code, tt.status, tt.code)
		}
		if e.seen.count() != before {
			t.Errorf("%s: reached the upstream", tt.name)
		}
		// The same body on a route without method-dependent scopes is not read by the gateway.
		if res := e.send(e.deleter.Key, "POST", "/plain/x", tt.ct, tt.body, tt.chunked); res.StatusCode != 200 {
			t.Errorf("%s on /plain: %d, want 200", tt.name, res.StatusCode)
		}
	}
	// Without a route limit the gateway reads at most 8 MiB of such a body.
	e2 := newMethodParamEnv(t, 0)
	huge := "_method=GET&pad=" + strings.Repeat("a", 8<<20)
	res := e2.send(e2.deleter.Key, "POST", "/pets/items/7", "application/x-www-form-urlencoded", huge, true)
	if p := readProblem(t, res); res.StatusCode != 413 || p.Code != gateway.CodePayloadTooLarge {
		t.Errorf("9 MiB form: %d %s, want 413 PAYLOAD_TOO_LARGE", res.StatusCode, p.Code)
	}
	if res := e2.send(e2.deleter.Key, "POST", "/plain/x", "application/x-www-form-urlencoded", huge, true); res.StatusCode != 200 {
		t.Errorf("9 MiB form on /plain: %d, want 200", res.StatusCode)
	}
	// A body of another type is forwarded as before, whatever its size.
	if res := e2.send(e2.deleter.Key, "POST", "/pets/items/7", "application/octet-stream", huge, true); res.StatusCode != 200 {
		t.Errorf("9 MiB octet-stream: %d, want 200", res.StatusCode)
	}
}

// TestForwardedMethodNeedsItsScopes: a trusted proxy's X-Forwarded-Method reaches the upstream
// (APISIX and Traefik forward-auth readers act on it), so the method it names needs its
// scopes, as an override header's does; from any other peer the header is dropped.
func TestForwardedMethodNeedsItsScopes(t *testing.T) {
	proxies, err := gateway.ParseTrustedProxies([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	e := newMethodParamEnv(t, 0, func(c *gateway.Config) { c.TrustedProxies = proxies })
	for _, v := range []string{"DELETE", "delete", "GET, DELETE"} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/pets/items/7", nil)
		req.Header["X-Api-Key"] = []string{e.writer.Key}
		req.Header["x-forwarded-method"] = []string{v}
		before := e.seen.count()
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if p := readProblem(t, res); res.StatusCode != 403 || !strings.Contains(p.Detail, "pets:delete") {
			t.Errorf("X-Forwarded-Method %q: %d %+v, want 403 naming pets:delete", v, res.StatusCode, p)
		}
		res.Body.Close()
		if e.seen.count() != before {
			t.Errorf("X-Forwarded-Method %q reached the upstream", v)
		}
	}
	// An untrusted peer's header is dropped, so it adds nothing.
	u := newMethodParamEnv(t, 0)
	req, _ := http.NewRequest("POST", u.srv.URL+"/pets/items/7", nil)
	req.Header["X-Api-Key"] = []string{u.writer.Key}
	req.Header["X-Forwarded-Method"] = []string{"DELETE"}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got echo
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&got) != nil || got.Header.Get("X-Forwarded-Method") != "" {
		t.Errorf("untrusted X-Forwarded-Method: %d, upstream saw %q, want 200 without it", res.StatusCode, got.Header.Get("X-Forwarded-Method"))
	}
}

// TestScopeReadingsOverTheWire sends request lines as written (no client normalizes them)
// and checks that each reading an upstream could make of the method and path needs the
// scopes of the operation it reaches: a lower-case method, HEAD for GET, an absolute-form
// target, and an escaped slash inside a segment — which Express and most routers match as one
// segment ({id} = "7/x") while the decoded path has one more and matches no operation.
func TestScopeReadingsOverTheWire(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.routes.ReadScopesWith(func(context.Context, routes.Route) (*routes.DocumentScopes, error) {
		return &routes.DocumentScopes{Operations: []routes.OperationScopes{
			{Method: "GET", Path: "/pets/items/{id}", Scopes: []string{"pets:read"}},
			{Method: "DELETE", Path: "/pets/items/{id}", Scopes: []string{"pets:delete"}},
		}}, nil
	})
	e.addRoute(routes.Params{Prefix: "/pets", Upstream: e.up.URL, OpenAPISource: "doc.json"})
	none, err := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: "none", CreatedBy: "test", Scopes: []string{"pets:write"}})
	if err != nil {
		t.Fatal(err)
	}
	addr := e.srv.Listener.Addr().String()
	for _, tt := range []struct{ line, want string }{
		{"delete /pets/items/7", "pets:delete"},
		{"Delete /pets/items/7", "pets:delete"},
		{"HEAD /pets/items/7", "pets:read"},
		{"head /pets/items/7", "pets:read"},
		{"DELETE http://" + addr + "/pets/items/7", "pets:delete"},
		{"POST http://" + addr + "/pets/items/7?_method=DELETE", "pets:delete"},
		{"DELETE /pets/items/7%2Fx", "pets:delete"},
		{"DELETE /pets/items/7%2fx", "pets:delete"},
		{"DELETE /pets/items/7%252Fx", "pets:delete"},
		{"GET /pets/items/a%2Fb%2Fc", "pets:read"},
		{"POST /pets/items/7%2Fx?_method=DELETE", "pets:delete"},
	} {
		before := e.seen.count()
		c := rawRequest(t, addr, tt.line+" HTTP/1.1\r\nHost: "+addr+"\r\nX-Api-Key: "+none.Key+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.line, err)
		}
		res.Body.Close()
		// The scope is named in WWW-Authenticate, which a HEAD's answer carries too.
		if res.StatusCode != 403 || !strings.Contains(res.Header.Get("Www-Authenticate"), `scope="`+tt.want+`"`) {
			t.Errorf("%s: %d %q, want 403 naming %s", tt.line, res.StatusCode, res.Header.Get("Www-Authenticate"), tt.want)
		}
		if e.seen.count() != before {
			t.Errorf("%s reached the upstream", tt.line)
		}
	}
}

// TestRequestTrailersNotForwarded: fields a chunked body's trailer carries were never checked
// (the scopes and the header rules see the head), so none reaches the upstream — neither as
// trailers nor as headers, which is what they became on the fast engine once the gateway read
// such a body whole (a form read for _method, a validated route).
func TestRequestTrailersNotForwarded(t *testing.T) {
	e := newMethodParamEnv(t, 0)
	addr := e.srv.Listener.Addr().String()
	for _, path := range []string{"/pets/items/7", "/plain/x"} {
		for _, ct := range []string{"application/x-www-form-urlencoded", "application/octet-stream"} {
			for _, announce := range []string{"Trailer: X-HTTP-Method-Override, X-Original-URL, X-Custom\r\n", ""} {
				before := e.seen.count()
				c := rawRequest(t, addr, "POST "+path+" HTTP/1.1\r\nHost: "+addr+"\r\nX-Api-Key: "+e.writer.Key+
					"\r\nContent-Type: "+ct+"\r\n"+announce+"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"+
					"6\r\na=1&b=\r\n0\r\nX-HTTP-Method-Override: DELETE\r\nX-Original-URL: /admin\r\nX-Custom: 1\r\n\r\n")
				res, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if e.seen.count() != before+1 {
					t.Errorf("%s %s %q: %d, not forwarded once", path, ct, announce, res.StatusCode)
					continue
				}
				r := e.seen.last()
				for _, n := range []string{"X-Http-Method-Override", "X-Original-Url", "X-Custom"} {
					if _, ok := r.Header[n]; ok {
						t.Errorf("%s %s %q: trailer %s reached the upstream as a header", path, ct, announce, n)
					}
					if _, ok := r.Trailer[n]; ok {
						t.Errorf("%s %s %q: trailer %s reached the upstream", path, ct, announce, n)
					}
				}
			}
		}
	}
}

// TestMethodParamUnderEachContentType: a request with two Content-Type lines reaches the
// upstream with both on the net/http engine, and an upstream may read the body as either, so
// the gateway reads it as each; fasthttp keeps and forwards only the last, the one it reads.
func TestMethodParamUnderEachContentType(t *testing.T) {
	e := newMethodParamEnv(t, 0)
	addr := e.srv.Listener.Addr().String()
	for _, cts := range [][2]string{{"text/plain", "application/x-www-form-urlencoded"}, {"application/x-www-form-urlencoded", "text/plain"}} {
		before := e.seen.count()
		c := rawRequest(t, addr, "POST /pets/items/7 HTTP/1.1\r\nHost: "+addr+"\r\nX-Api-Key: "+e.writer.Key+
			"\r\nContent-Type: "+cts[0]+"\r\nContent-Type: "+cts[1]+"\r\nContent-Length: 14\r\nConnection: close\r\n\r\n_method=DELETE")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if e.seen.count() != before {
			// Forwarded only as a body no upstream reads as a form: one Content-Type, not a form.
			if ct := e.seen.last().Header["Content-Type"]; len(ct) != 1 || ct[0] != "text/plain" {
				t.Errorf("%q: %d, reached the upstream with Content-Type %q", cts, res.StatusCode, ct)
			}
		} else if res.StatusCode != 403 {
			t.Errorf("%q: %d, want 403", cts, res.StatusCode)
		}
	}
}

// TestLooseReadingOfAnotherRoute: a request whose path matches a route only as a lenient
// upstream reads it (letter case, ';' parameters, escapes, an extension) would reach, through
// a shorter route to the same upstream, the operations the longer route guards with scopes.
// The gateway refuses it rather than let the shorter route's rules apply.
func TestLooseReadingOfAnotherRoute(t *testing.T) {
	e := newMethodParamEnv(t, 0) // "/" (a key, no scope) and "/pets" go to the same upstream
	addr := e.srv.Listener.Addr().String()
	for _, target := range []string{"/PETS/items/7", "/Pets/items/7", "/pets;x/items/7", "/pets%3bx/items/7",
		"/%2570ets/items/7", "/pet%2573/items/7", "/pets%20/items/7", "/pets.json"} {
		before := e.seen.count()
		c := rawRequest(t, addr, "DELETE "+target+" HTTP/1.1\r\nHost: "+addr+"\r\nX-Api-Key: "+e.writer.Key+"\r\nConnection: close\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(body), string(gateway.CodeAmbiguousPath)) {
			t.Errorf("DELETE %s: %d %s, want 400 %s", target, res.StatusCode, body, gateway.CodeAmbiguousPath)
		}
		if e.seen.count() != before {
			t.Errorf("DELETE %s reached the upstream", target)
		}
	}
	// Paths that only look alike pass through their own route.
	for _, target := range []string{"/petshop/x", "/pet/x", "/other/pets/items/7", "/plain/PETS"} {
		if res := e.send(e.writer.Key, "DELETE", target, "", "", false); res.StatusCode != 200 {
			t.Errorf("DELETE %s: %d, want 200", target, res.StatusCode)
		}
	}
	// A guarded route on an upstream server of its own cannot be reached through "/": paths
	// that read loosely as its prefix go to "/"'s server as they are.
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the admin upstream got %s %s", r.Method, r.URL)
	}))
	defer admin.Close()
	e.addRoute(routes.Params{Prefix: "/admin", Upstream: admin.URL})
	for _, target := range []string{"/ADMIN/x", "/admin.html", "/Admin;v=1/x"} {
		before := e.seen.count()
		if res := e.send(e.writer.Key, "GET", target, "", "", false); res.StatusCode != 200 || e.seen.count() != before+1 {
			t.Errorf("GET %s: %d, want 200 from the upstream of /", target, res.StatusCode)
		}
	}
}

// TestUnderscoreOverrideHeaders: CGI, PHP (Symfony, Laravel) and Django read X_HTTP_Method_Override
// as X-HTTP-Method-Override, so an underscore spelling of an override header is an override
// too: it never reaches the upstream.
func TestUnderscoreOverrideHeaders(t *testing.T) {
	e := newMethodParamEnv(t, 0)
	addr := e.srv.Listener.Addr().String()
	for _, h := range []string{"X_HTTP_Method_Override", "x_http_method_override", "X_HTTP_Method", "X_Method_Override", "X-HTTP_Method-Override"} {
		c := rawRequest(t, addr, "POST /pets/items/7 HTTP/1.1\r\nHost: "+addr+"\r\nX-Api-Key: "+e.writer.Key+"\r\n"+h+": DELETE\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		var got echo
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if res.StatusCode == 200 {
			for name := range got.Header {
				if n := strings.ToLower(strings.ReplaceAll(name, "_", "-")); n == "x-http-method-override" || n == "x-http-method" || n == "x-method-override" {
					t.Errorf("%s: reached the upstream as %s", h, name)
				}
			}
		} else if res.StatusCode != 403 {
			t.Errorf("%s: %d, want 200 without it or 403", h, res.StatusCode)
		}
	}
}

// TestPreflightReachesNoOperation: a CORS preflight is answered by the gateway without a key
// and never forwarded, so an OPTIONS without a key reaches no scoped operation: with an
// allowed or a foreign origin, naming DELETE or an override header, and without
// Access-Control-Request-Method (then it is an ordinary request and needs a key).
func TestPreflightReachesNoOperation(t *testing.T) {
	e := newMethodParamEnv(t, 0)
	for _, tt := range []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"allowed origin", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE"}, 204},
		{"allowed origin, override header", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "x-http-method-override", "X-HTTP-Method-Override": "DELETE"}, 204},
		{"foreign origin", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "DELETE"}, 403},
		{"no request method", map[string]string{"Origin": "https://app.example.com"}, 401},
		{"no origin", map[string]string{"Access-Control-Request-Method": "DELETE"}, 401},
	} {
		before := e.seen.count()
		res := e.do("OPTIONS", "/pets/items/7?_method=DELETE", tt.hdr, nil)
		if res.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, res.StatusCode, tt.status)
		}
		if e.seen.count() != before {
			t.Errorf("%s: reached the upstream", tt.name)
		}
	}
}
