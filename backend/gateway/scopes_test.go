package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/identity"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/seal"
)

// TestInsufficientScope: a route's own scopes apply to every request, a document's per
// operation; a key without one gets 403 INSUFFICIENT_SCOPE naming it (detail and
// WWW-Authenticate), and the upstream sees nothing. A console session holds no scopes.
func TestInsufficientScope(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.Sessions = fakeSessions{"tok": {Code: keys.CodeValid, UserID: "usr_1", OrgIDs: []string{"org_x"}}}
	})
	e.addRoute(routes.Params{Prefix: "/all", Upstream: e.up.URL, Scopes: []string{"api:use"}})
	ctx := context.Background()
	e.routes.ReadScopesWith(func(context.Context, routes.Route) (*routes.DocumentScopes, error) {
		return &routes.DocumentScopes{Operations: []routes.OperationScopes{
			{Method: "POST", Path: "/pets/items", Scopes: []string{"pets:write"}},
			{Method: "DELETE", Path: "/pets/items/{id}", Scopes: []string{"pets:delete"}},
		}}, nil
	})
	e.addRoute(routes.Params{Prefix: "/pets", Upstream: e.up.URL, OpenAPISource: "doc.json", ConsoleSession: true})
	key := map[string]string{"x-api-key": e.key.Key}
	for _, tt := range []struct {
		method, path string
		scope        string // "" = forwarded
	}{
		{"GET", "/all/x", "api:use"},
		{"GET", "/pets/items", ""},
		{"POST", "/pets/items", "pets:write"},
		{"DELETE", "/pets/items/7", "pets:delete"},
		{"DELETE", "/pets/items", ""},
		{"GET", "/other", ""},
	} {
		before := e.seen.count()
		res := e.do(tt.method, tt.path, key, nil)
		if tt.scope == "" {
			if res.StatusCode != 200 || e.seen.count() != before+1 {
				t.Errorf("%s %s: %d, want it forwarded", tt.method, tt.path, res.StatusCode)
			}
			continue
		}
		p := readProblem(t, res)
		if res.StatusCode != 403 || p.Code != gateway.CodeInsufficientScope || !strings.Contains(p.Detail, tt.scope) {
			t.Errorf("%s %s: %d %+v, want 403 INSUFFICIENT_SCOPE naming %s", tt.method, tt.path, res.StatusCode, p, tt.scope)
		}
		if got := res.Header.Get("Www-Authenticate"); got != `Bearer realm="keygate", error="insufficient_scope", scope="`+tt.scope+`"` {
			t.Errorf("%s %s: WWW-Authenticate %q", tt.method, tt.path, got)
		}
		if e.seen.count() != before {
			t.Errorf("%s %s reached the upstream", tt.method, tt.path)
		}
	}
	// A key holding the scopes passes; resource:* and * cover what they name.
	for _, tt := range []struct {
		have    []string
		method  string
		path    string
		missing string
	}{
		{[]string{"api:use", "pets:*"}, "DELETE", "/pets/items/7", ""},
		{[]string{"*"}, "POST", "/pets/items", ""},
		{[]string{"api:use"}, "GET", "/all/y", ""},
		{[]string{"pets:write"}, "DELETE", "/pets/items/7", "pets:delete"},
		{[]string{"pets:write"}, "GET", "/all/y", "api:use"},
		{[]string{"api"}, "GET", "/all/y", "api:use"}, // resource alone is not resource:action
	} {
		k, err := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: "scoped", CreatedBy: "test", Scopes: tt.have})
		if err != nil {
			t.Fatal(err)
		}
		res := e.do(tt.method, tt.path, map[string]string{"x-api-key": k.Key}, nil)
		if tt.missing == "" {
			if res.StatusCode != 200 {
				t.Errorf("%v %s %s: %d, want 200", tt.have, tt.method, tt.path, res.StatusCode)
			}
			continue
		}
		if p := readProblem(t, res); res.StatusCode != 403 || !strings.Contains(p.Detail, tt.missing) {
			t.Errorf("%v %s %s: %d %q, want 403 naming %s", tt.have, tt.method, tt.path, res.StatusCode, p.Detail, tt.missing)
		}
	}
	// The log says why.
	if es := e.gw.Requests(gateway.Filter{}); len(es) < 3 || es[2].ErrorCode != string(gateway.CodeInsufficientScope) || es[2].Status != 403 {
		t.Errorf("log: %+v", es)
	}
	// A console session holds no scope.
	res := e.do("POST", "/pets/items", map[string]string{"Cookie": "keygate_session=tok", "Sec-Fetch-Site": "same-origin"}, nil)
	if p := readProblem(t, res); res.StatusCode != 403 || p.Code != gateway.CodeInsufficientScope {
		t.Errorf("session on a scoped operation: %d %+v", res.StatusCode, p)
	}
	// Removing the requirement takes effect on the next request.
	r, _ := e.routes.GetByPrefix(ctx, "/all")
	if _, err := e.routes.Update(ctx, r.ID, routes.Params{Prefix: "/all", Upstream: e.up.URL}); err != nil {
		t.Fatal(err)
	}
	e.gw.Reload(ctx)
	if res := e.do("GET", "/all/x", key, nil); res.StatusCode != 200 {
		t.Errorf("after the scope was removed: %d", res.StatusCode)
	}
	// So does giving the key a scope.
	if _, err := e.keys.Update(ctx, e.org.ID, e.key.ID, keys.UpdateParams{Scopes: &[]string{"pets:write"}}); err != nil {
		t.Fatal(err)
	}
	if res := e.do("POST", "/pets/items", key, nil); res.StatusCode != 200 {
		t.Errorf("after the key got the scope: %d", res.StatusCode)
	}
}

func testSeal() (*seal.Box, error) { return seal.New(bytes.Repeat([]byte{7}, 32)) }

// jwksOf fetches the gateway's public keys.
func jwksOf(t *testing.T, e *env) jose.JSONWebKeySet {
	t.Helper()
	res := e.do("GET", identity.JWKSPath, nil, nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("jwks: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// Cached for the identity service's max-age: the lead a rotated key waits before it signs.
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Fatalf("jwks Cache-Control %q", cc)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

func verifyJWT(t *testing.T, set jose.JSONWebKeySet, tok string, now time.Time, aud string) map[string]any {
	t.Helper()
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse %q: %v", tok, err)
	}
	ks := set.Key(parsed.Headers[0].KeyID)
	if len(ks) != 1 {
		t.Fatalf("key %q not published", parsed.Headers[0].KeyID)
	}
	var std jwt.Claims
	var all map[string]any
	if err := parsed.Claims(ks[0].Key, &std, &all); err != nil {
		t.Fatal(err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: "https://api.example.com", AnyAudience: jwt.Audience{aud}, Time: now}, 0); err != nil {
		t.Fatalf("claims %v: %v", all, err)
	}
	return all
}

// TestSignedIdentity: a route with identity-jwt sends the upstream X-Keygate-Jwt, verifiable
// with the keys at /.well-known/jwks.json, the same token all minute; the client's own
// X-Keygate-Jwt never passes; the JWKS path is the gateway's even under a route at /.
func TestSignedIdentity(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.PublicURL = mustURL(t, "https://api.example.com")
		c.Identity = identity.New(c.Store, identity.Options{Seal: testSeal, Clock: c.Clock})
		c.Sessions = fakeSessions{"tok": {Code: keys.CodeValid, UserID: "usr_1", OrgIDs: []string{"org_x"}}}
	})
	e.addRoute(routes.Params{Prefix: "/signed", Upstream: e.up.URL, IdentityJWT: true, ConsoleSession: true})
	f := false
	e.addRoute(routes.Params{Prefix: "/open", Upstream: e.up.URL, IdentityJWT: true, AuthRequired: &f})

	set := jwksOf(t, e)
	if len(set.Keys) != 1 || set.Keys[0].Algorithm != "ES256" || !set.Keys[0].IsPublic() {
		t.Fatalf("jwks %+v", set)
	}
	if e.seen.count() != 0 {
		t.Fatal("the JWKS request was forwarded to the route at /")
	}
	hdr := map[string]string{"x-api-key": e.key.Key, "X-Keygate-Jwt": "forged"}
	ec := readEcho(t, e.do("GET", "/signed/a", hdr, nil))
	tok := ec.Header.Get("X-Keygate-Jwt")
	if tok == "" || tok == "forged" || len(ec.Header["X-Keygate-Jwt"]) != 1 {
		t.Fatalf("upstream got X-Keygate-Jwt %q", ec.Header["X-Keygate-Jwt"])
	}
	claims := verifyJWT(t, set, tok, e.clock.Now(), "/signed")
	if claims["sub"] != e.key.ID || claims["org"] != e.org.ID {
		t.Fatalf("claims %v", claims)
	}
	if sc, ok := claims["scopes"].([]any); !ok || len(sc) != 0 {
		t.Fatalf("scopes claim %v", claims["scopes"])
	}
	if m, ok := claims["meta"].(map[string]any); !ok || len(m) != 0 {
		t.Fatalf("meta claim %v", claims["meta"])
	}
	// A key's scopes and metadata travel in the token; an edit shows in the next request's.
	ctx := context.Background()
	if _, err := e.keys.Update(ctx, e.org.ID, e.key.ID, keys.UpdateParams{Scopes: &[]string{"pets:read"},
		Metadata: &map[string]string{"plan": "pro"}}); err != nil {
		t.Fatal(err)
	}
	ec = readEcho(t, e.do("GET", "/signed/a", hdr, nil))
	claims = verifyJWT(t, set, ec.Header.Get("X-Keygate-Jwt"), e.clock.Now(), "/signed")
	if sc, _ := claims["scopes"].([]any); len(sc) != 1 || sc[0] != "pets:read" {
		t.Fatalf("scopes after the edit %v", claims["scopes"])
	}
	if m, _ := claims["meta"].(map[string]any); m["plan"] != "pro" {
		t.Fatalf("meta after the edit %v", claims["meta"])
	}
	tok = ec.Header.Get("X-Keygate-Jwt")
	e.clock.Advance(20 * time.Second)
	if again := readEcho(t, e.do("GET", "/signed/b", hdr, nil)).Header.Get("X-Keygate-Jwt"); again != tok {
		t.Fatal("a new token within the minute")
	}
	// The root route does not send one, and the client's forged header does not pass.
	if ec := readEcho(t, e.do("GET", "/x", hdr, nil)); ec.Header.Get("X-Keygate-Jwt") != "" {
		t.Fatalf("a route without identity-jwt forwarded %q", ec.Header.Get("X-Keygate-Jwt"))
	}
	// A public route has nobody to vouch for.
	if ec := readEcho(t, e.do("GET", "/open/x", map[string]string{"X-Keygate-Jwt": "forged"}, nil)); ec.Header.Get("X-Keygate-Jwt") != "" {
		t.Fatal("a public route sent an identity")
	}
	// A console session: the user is the subject.
	ec = readEcho(t, e.do("GET", "/signed/c", map[string]string{"Cookie": "keygate_session=tok", "Sec-Fetch-Site": "same-origin"}, nil))
	if c := verifyJWT(t, set, ec.Header.Get("X-Keygate-Jwt"), e.clock.Now(), "/signed"); c["sub"] != "usr_1" {
		t.Fatalf("session claims %v", c)
	}
	// HEAD answers the headers; other methods on the path are not the gateway's.
	if res := e.do("HEAD", identity.JWKSPath, nil, nil); res.StatusCode != 200 {
		t.Fatalf("HEAD jwks: %d", res.StatusCode)
	}
}

// TestSignedIdentityOnTheLoop: once the identity keys are in memory, an event loop signs a
// route's identity itself: the requests are served on the loop, not sent off it, and the
// upstream still gets a valid token that follows the key's edits.
func TestSignedIdentityOnTheLoop(t *testing.T) {
	skipUnlessLoop(t)
	up := httptest.NewServer(echoHandler(&seenRequests{}))
	t.Cleanup(up.Close)
	e := newEnv(t, func(c *gateway.Config) {
		c.PublicURL = mustURL(t, "https://api.example.com")
		c.Identity = identity.New(c.Store, identity.Options{Seal: testSeal, Clock: c.Clock})
	}, routeFirst(t, routes.Params{Prefix: "/signed", Upstream: up.URL, IdentityJWT: true}))
	set := jwksOf(t, e) // (loads the keys)
	hdr := map[string]string{"x-api-key": e.key.Key}
	readEcho(t, e.do("GET", "/signed/warm", hdr, nil)) // (the key into the cache)
	served0, off0, _ := loopCounts(t, e.gw)
	for i := range 5 {
		ec := readEcho(t, e.do("GET", fmt.Sprintf("/signed/%d", i), hdr, nil))
		if c := verifyJWT(t, set, ec.Header.Get("X-Keygate-Jwt"), e.clock.Now(), "/signed"); c["sub"] != e.key.ID {
			t.Fatalf("claims %v", c)
		}
	}
	if _, err := e.keys.Update(context.Background(), e.org.ID, e.key.ID, keys.UpdateParams{Scopes: &[]string{"pets:read"}}); err != nil {
		t.Fatal(err)
	}
	readEcho(t, e.do("GET", "/signed/edited", hdr, nil)) // (the edited key into the cache)
	ec := readEcho(t, e.do("GET", "/signed/after", hdr, nil))
	if c := verifyJWT(t, set, ec.Header.Get("X-Keygate-Jwt"), e.clock.Now(), "/signed"); fmt.Sprint(c["scopes"]) != "[pets:read]" {
		t.Fatalf("scopes after the edit %v", c["scopes"])
	}
	// The edit sends one request off the loop (its key is looked up again). On SQLite, the
	// feed's poll may report the edit, and the signing keys made by jwksOf, once more as
	// changes it cannot name, each dropping the key cache once: up to three off the loop. (When
	// the identity was signed off the loop, all seven were.)
	served, off, _ := loopCounts(t, e.gw)
	if served-served0 < 4 || off-off0 > 3 {
		t.Fatalf("7 signed requests: %d served on a loop, %d sent off it", served-served0, off-off0)
	}
}

// TestSignedIdentityUnavailable: when the gateway cannot sign (no secrets key), a route that
// sends an identity answers 500 and forwards nothing: never the request without its identity.
func TestSignedIdentityUnavailable(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.Identity = identity.New(c.Store, identity.Options{Clock: c.Clock})
	})
	e.addRoute(routes.Params{Prefix: "/signed", Upstream: e.up.URL, IdentityJWT: true})
	res := e.do("GET", "/signed/a", map[string]string{"x-api-key": e.key.Key}, nil)
	if p := readProblem(t, res); res.StatusCode != 500 || p.Code != gateway.CodeInternal || e.seen.count() != 0 {
		t.Fatalf("%d %+v, %d forwarded", res.StatusCode, p, e.seen.count())
	}
	if res := e.do("GET", identity.JWKSPath, nil, nil); res.StatusCode != 500 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("jwks without keys: %d %s", res.StatusCode, b)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestMethodOverrideNeedsItsScopes: frameworks such as Express (method-override) and ASP.NET
// Core run the method a header names instead of the request's own, so a POST carrying
// X-HTTP-Method-Override: DELETE needs the DELETE operation's scopes too — whatever the
// header's spelling, the value's case or a list of values. Nothing reaches the upstream
// without them.
func TestMethodOverrideNeedsItsScopes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.routes.ReadScopesWith(func(context.Context, routes.Route) (*routes.DocumentScopes, error) {
		return &routes.DocumentScopes{Operations: []routes.OperationScopes{
			{Method: "POST", Path: "/pets/items", Scopes: []string{"pets:write"}},
			{Method: "DELETE", Path: "/pets/items/{id}", Scopes: []string{"pets:delete"}},
		}}, nil
	})
	e.addRoute(routes.Params{Prefix: "/pets", Upstream: e.up.URL, OpenAPISource: "doc.json"})
	writer, err := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: "writer", CreatedBy: "test", Scopes: []string{"pets:write"}})
	if err != nil {
		t.Fatal(err)
	}
	deleter, err := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: "deleter", CreatedBy: "test",
		Scopes: []string{"pets:write", "pets:delete"}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(key, method, path, name, value string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, e.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header["X-Api-Key"] = []string{key}
		if name != "" {
			req.Header[name] = []string{value} // as spelled: Go writes a map key unchanged
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	for _, tt := range []struct{ method, path, name, value string }{
		{"POST", "/pets/items/7", "X-HTTP-Method-Override", "DELETE"},
		{"POST", "/pets/items/7", "x-http-method-override", "delete"},
		{"POST", "/pets/items/7", "X-HTTP-Method", "DELETE"},
		{"POST", "/pets/items/7", "X-Method-Override", " Delete "},
		{"GET", "/pets/items/7", "X-HTTP-Method-Override", "GET, DELETE"},
		{"PUT", "/pets/items/7", "X-Method-Override", "DELETE,PATCH"},
	} {
		before := e.seen.count()
		res := send(writer.Key, tt.method, tt.path, tt.name, tt.value)
		if p := readProblem(t, res); res.StatusCode != 403 || p.Code != gateway.CodeInsufficientScope || !strings.Contains(p.Detail, "pets:delete") {
			t.Errorf("%s %s with %s: %q: %d %+v, want 403 naming pets:delete", tt.method, tt.path, tt.name, tt.value, res.StatusCode, p)
		}
		if e.seen.count() != before {
			t.Errorf("%s %s with %s: %q reached the upstream", tt.method, tt.path, tt.name, tt.value)
		}
		// The key that holds the DELETE operation's scope passes with the same request.
		if res := send(deleter.Key, tt.method, tt.path, tt.name, tt.value); res.StatusCode != 200 {
			t.Errorf("%s %s with %s: %q and pets:delete: %d, want 200", tt.method, tt.path, tt.name, tt.value, res.StatusCode)
		}
	}
	// An override to a method whose operation needs nothing adds nothing; without one, the
	// request's own method decides as before.
	if res := send(writer.Key, "POST", "/pets/items", "X-HTTP-Method-Override", "GET"); res.StatusCode != 200 {
		t.Errorf("override to GET: %d, want 200", res.StatusCode)
	}
	if res := send(writer.Key, "POST", "/pets/items/7", "", ""); res.StatusCode != 200 {
		t.Errorf("undocumented POST without an override: %d, want 200", res.StatusCode)
	}
}
