package routes_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/testutil"
)

func TestNormalizeScopes(t *testing.T) {
	got, err := routes.NormalizeScopes([]string{" pets:write", "pets:read", "pets:write", "a.b-c_d:e.f"})
	if err != nil || !reflect.DeepEqual(got, []string{"a.b-c_d:e.f", "pets:read", "pets:write"}) {
		t.Fatalf("NormalizeScopes = %v, %v", got, err)
	}
	if got, err := routes.NormalizeScopes(nil); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("nil = %#v, %v", got, err)
	}
	if got, err := routes.NormalizeScopes([]string{"admin", "files/docs:read"}); err != nil || len(got) != 2 {
		t.Fatalf("resource alone, and a slash: %v, %v", got, err)
	}
	for _, bad := range []string{"", "pets:", ":read", "pets:*", "*", "pets:read:more", "pets read:x",
		"pets:re\u00e9d", "p\x00:r", strings.Repeat("a", 70) + ":" + strings.Repeat("b", 70)} {
		if _, err := routes.NormalizeScopes([]string{bad}); !errors.Is(err, routes.ErrInvalidScope) {
			t.Errorf("%q: %v, want ErrInvalidScope", bad, err)
		}
	}
	many := make([]string, routes.MaxRouteScopes+1)
	for i := range many {
		many[i] = "r:a" + strings.Repeat("x", i)
	}
	if _, err := routes.NormalizeScopes(many); !errors.Is(err, routes.ErrTooManyScopes) {
		t.Fatalf("33 scopes: %v", err)
	}
}

func TestRouteScopesAndIdentityAreStored(t *testing.T) {
	st := testutil.NewStore(t)
	s := routes.New(st, nil)
	ctx := context.Background()
	r, err := s.Add(ctx, routes.Params{Prefix: "/api", Upstream: "http://127.0.0.1:9001",
		Scopes: []string{"pets:write", "pets:read"}, IdentityJWT: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, r.ID)
	if err != nil || !reflect.DeepEqual(got.Scopes, []string{"pets:read", "pets:write"}) || !got.IdentityJWT || got.DocumentScopes != nil {
		t.Fatalf("stored %+v, %v", got, err)
	}
	// A bad scope changes nothing.
	if _, err := s.Update(ctx, r.ID, routes.Params{Prefix: "/api", Upstream: "http://127.0.0.1:9001", Scopes: []string{"pets:*"}}); !errors.Is(err, routes.ErrInvalidScope) {
		t.Fatalf("bad scope: %v", err)
	}
	if again, _ := s.Get(ctx, r.ID); !reflect.DeepEqual(again.Scopes, got.Scopes) || !again.IdentityJWT {
		t.Fatalf("after a refused update: %+v", again)
	}
	up, err := s.Update(ctx, r.ID, routes.Params{Prefix: "/api", Upstream: "http://127.0.0.1:9001"})
	if err != nil || len(up.Scopes) != 0 || up.Scopes == nil || up.IdentityJWT {
		t.Fatalf("cleared: %+v, %v", up, err)
	}
}

func TestDocumentScopesAreReadOnSave(t *testing.T) {
	st := testutil.NewStore(t)
	s := routes.New(st, nil)
	ctx := context.Background()
	var fail error
	var doc *routes.DocumentScopes
	calls := 0
	s.ReadScopesWith(func(_ context.Context, r routes.Route) (*routes.DocumentScopes, error) {
		calls++
		if r.OpenAPISource != "doc.json" && r.OpenAPISource != "other.json" {
			t.Errorf("reader got source %q", r.OpenAPISource)
		}
		return doc, fail
	})
	// No document: the reader is not asked.
	r, err := s.Add(ctx, routes.Params{Prefix: "/api", Upstream: "http://127.0.0.1:9001"})
	if err != nil || calls != 0 {
		t.Fatalf("add without document: %v, %d calls", err, calls)
	}
	doc = &routes.DocumentScopes{Default: []string{"pets:read"}, Operations: []routes.OperationScopes{
		{Method: "post", Path: "/api/pets", Scopes: []string{"pets:write", "pets:write"}},
		{Method: "GET", Path: "/api/health", Scopes: []string{}},
	}}
	p := routes.Params{Prefix: "/api", Upstream: "http://127.0.0.1:9001", OpenAPISource: "doc.json"}
	up, err := s.Update(ctx, r.ID, p)
	if err != nil || up.Warning != "" {
		t.Fatalf("update: %+v, %v", up, err)
	}
	want := &routes.DocumentScopes{Default: []string{"pets:read"}, Operations: []routes.OperationScopes{
		{Method: "GET", Path: "/api/health", Scopes: []string{}},
		{Method: "POST", Path: "/api/pets", Scopes: []string{"pets:write"}},
	}}
	if got, _ := s.Get(ctx, r.ID); !reflect.DeepEqual(got.DocumentScopes, want) {
		t.Fatalf("stored %+v, want %+v", got.DocumentScopes, want)
	}
	if all := want.All(); !reflect.DeepEqual(all, []string{"pets:read", "pets:write"}) {
		t.Fatalf("All = %v", all)
	}

	// The document cannot be read: same source keeps what it declared, with a warning.
	fail = errors.New("connection refused")
	up, err = s.Update(ctx, r.ID, p)
	if err != nil || up.Warning != routes.WarningDocumentUnreadableKept || !strings.Contains(up.WarningDetail, "refused") || !reflect.DeepEqual(up.DocumentScopes, want) {
		t.Fatalf("unreadable, same source: %+v, %v", up, err)
	}
	// Another source that cannot be read declares nothing, and the warning says so.
	p.OpenAPISource = "other.json"
	up, err = s.Update(ctx, r.ID, p)
	if err != nil || up.Warning != routes.WarningDocumentUnreadable || up.DocumentScopes != nil {
		t.Fatalf("unreadable, new source: %+v, %v", up, err)
	}

	// A document declaring a bad scope is refused and changes nothing.
	fail = nil
	doc = &routes.DocumentScopes{Operations: []routes.OperationScopes{{Method: "GET", Path: "/api/x", Scopes: []string{"admin:*"}}}}
	if _, err := s.Update(ctx, r.ID, routes.Params{Prefix: "/api", Upstream: "http://127.0.0.1:9001", OpenAPISource: "doc.json"}); !errors.Is(err, routes.ErrDocumentScopes) {
		t.Fatalf("bad document scope: %v", err)
	}
	if got, _ := s.Get(ctx, r.ID); got.OpenAPISource != "other.json" {
		t.Fatalf("a refused update changed the route: %+v", got)
	}
}

func TestScopeMatcher(t *testing.T) {
	if routes.NewScopeMatcher(routes.Route{Prefix: "/api"}) != nil {
		t.Fatal("a route requiring nothing got a matcher")
	}
	m := routes.NewScopeMatcher(routes.Route{Prefix: "/api", Scopes: []string{"api:use"},
		DocumentScopes: &routes.DocumentScopes{Default: []string{"pets:read"}, Operations: []routes.OperationScopes{
			{Method: "GET", Path: "/api/pets/{petId}", Scopes: []string{"pets:read"}},
			{Method: "GET", Path: "/api/pets/mine", Scopes: []string{"pets:own"}},
			{Method: "POST", Path: "/api/pets", Scopes: []string{"pets:write"}},
			{Method: "DELETE", Path: "/api/pets/{petId}", Scopes: []string{"pets:delete", "pets:write"}},
			{Method: "GET", Path: "/api/files/{name}.json", Scopes: []string{"files:read"}},
			{Method: "GET", Path: "/api/v{major}.{minor}/info", Scopes: []string{"info:read"}},
			{Method: "GET", Path: "/api/health", Scopes: []string{}},
			{Method: "GET", Path: "/api", Scopes: []string{"root:read"}},
		}}})
	for _, tt := range []struct {
		method, path string
		want         []string
	}{
		{"GET", "/api/pets/42", []string{"pets:read"}},
		{"GET", "/api/pets/42/", []string{"pets:read"}},
		{"GET", "/api/pets/mine", []string{"pets:own"}}, // literal before template
		{"POST", "/api/pets", []string{"pets:write"}},
		{"POST", "/api/pets/", []string{"pets:write"}},
		{"DELETE", "/api/pets/7", []string{"pets:delete", "pets:write"}},
		{"PUT", "/api/pets/7", []string{"pets:read"}},        // undeclared method: the default
		{"GET", "/api/pets/7/toys", []string{"pets:read"}},   // deeper path: the default
		{"GET", "/api/unknown", []string{"pets:read"}},       // undocumented: the default
		{"HEAD", "/api/pets/mine", []string{"pets:own"}},     // HEAD needs what GET needs
		{"GET", "/api/files/a.json", []string{"files:read"}}, // {name}.json
		{"GET", "/api/files/.json", []string{"pets:read"}},   // empty parameter: no match
		{"GET", "/api/files/a.txt", []string{"pets:read"}},   //
		{"GET", "/api/v1.2/info", []string{"info:read"}},     // two parameters in a segment
		{"GET", "/api/health", []string{}},                   // declared empty: nothing more
		{"GET", "/api", []string{"root:read"}},               //
		{"GET", "/api/", []string{"root:read"}},              //
		{"GET", "/api/pets//x", []string{"pets:read"}},       //
	} {
		route, op, also := m.Required(tt.method, tt.path)
		if !reflect.DeepEqual(route, []string{"api:use"}) {
			t.Errorf("%s %s: route scopes %v", tt.method, tt.path, route)
		}
		if len(op) != len(tt.want) || (len(op) > 0 && !reflect.DeepEqual(op, tt.want)) {
			t.Errorf("%s %s: operation scopes %v, want %v", tt.method, tt.path, op, tt.want)
		}
		if also != nil {
			t.Errorf("%s %s: also %v for a request read the same by every upstream", tt.method, tt.path, also)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { m.Required("DELETE", "/api/pets/7") }); allocs != 0 {
		t.Errorf("Required allocates %v times", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { m.Required("POST", "/api/PETS;x") }); allocs != 0 {
		t.Errorf("Required allocates %v times for a loose reading", allocs)
	}
}

// TestScopeMatcherLooseReadings: a request that matches no operation as written, but that a
// lenient upstream routes to one (case-insensitive routing in Express and ASP.NET, path
// parameters cut at ';' in Tomcat, Jetty and Spring, suffix patterns and trimmed tokens in
// older Spring, a second percent-decoding, a method in lower case), also needs that
// operation's scopes: the default alone would let a key without pets:write create pets.
func TestScopeMatcherLooseReadings(t *testing.T) {
	m := routes.NewScopeMatcher(routes.Route{Prefix: "/api",
		DocumentScopes: &routes.DocumentScopes{Default: []string{"pets:read"}, Operations: []routes.OperationScopes{
			{Method: "GET", Path: "/api/pets/mine", Scopes: []string{"pets:own"}},
			{Method: "POST", Path: "/api/pets", Scopes: []string{"pets:write"}},
			{Method: "DELETE", Path: "/api/pets/{petId}", Scopes: []string{"pets:admin"}},
			{Method: "GET", Path: "/api/files/{name}.json", Scopes: []string{"files:read"}},
			{Method: "GET", Path: "/api/v{major}.{minor}/info", Scopes: []string{"info:read"}},
			{Method: "GET", Path: "/api/health", Scopes: []string{}},
		}}})
	for _, tt := range []struct {
		method, path string
		also         []string
	}{
		{"POST", "/api/PETS", []string{"pets:write"}},
		{"POST", "/api/Pets/", []string{"pets:write"}},
		{"POST", "/API/pets", []string{"pets:write"}}, // the prefix too (the route is matched before, exactly)
		{"post", "/api/pets", []string{"pets:write"}},
		{"Post", "/api/PETS", []string{"pets:write"}},
		{"POST", "/api/pets;x=1", []string{"pets:write"}},
		{"POST", "/api/pets;", []string{"pets:write"}},
		{"POST", "/api/pets%3bx", []string{"pets:write"}}, // ';' encoded twice on the wire
		{"POST", "/api/%70ets", []string{"pets:write"}},   // a second decoding
		{"POST", "/api/%2570ets", []string{"pets:write"}}, // and a third
		{"POST", "/api/pets%20", []string{"pets:write"}},
		{"POST", "/api/pets.json", []string{"pets:write"}},
		{"DELETE", "/api/PETS/7", []string{"pets:admin"}},
		{"DELETE", "/api/pets;a=b/7", []string{"pets:admin"}},
		{"delete", "/api/pets/7", []string{"pets:admin"}},
		{"GET", "/api/pets/MINE", []string{"pets:own"}},
		{"head", "/api/pets/Mine", []string{"pets:own"}},
		{"GET", "/api/FILES/a.JSON", []string{"files:read"}},
		{"GET", "/api/V1.2/INFO", []string{"info:read"}},
		{"GET", "/api/HEALTH", []string{}}, // what /health needs: nothing more than the default
		// Read the same by every upstream: nothing more.
		{"POST", "/api/pets", nil},
		{"GET", "/api/pets/mine", nil},
		{"DELETE", "/api/pets/7", nil},
		{"GET", "/api/petsx", nil},
		{"POST", "/api/pets.json/x", nil},
		{"GET", "/api/files/a.json", nil},
	} {
		_, _, also := m.Required(tt.method, tt.path)
		if !reflect.DeepEqual(also, tt.also) {
			t.Errorf("%s %s: also %v, want %v", tt.method, tt.path, also, tt.also)
		}
	}
}

// TestMethodDependent: only a document that gives operations their own scopes makes what a
// request needs depend on its method (the gateway reads a _method form field only then).
func TestMethodDependent(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    routes.Route
		want bool
	}{
		{"no scopes", routes.Route{}, false},
		{"route scopes only", routes.Route{Scopes: []string{"pets"}}, false},
		{"document default only", routes.Route{DocumentScopes: &routes.DocumentScopes{Default: []string{"pets:read"}}}, false},
		{"an operation", routes.Route{DocumentScopes: &routes.DocumentScopes{Operations: []routes.OperationScopes{
			{Method: "DELETE", Path: "/pets/{id}", Scopes: []string{"pets:delete"}}}}}, true},
	} {
		if got := routes.NewScopeMatcher(tt.r).MethodDependent(); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
