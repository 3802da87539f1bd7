package console_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/testutil"
)

const scopedDocument = `{"openapi": "3.0.3", "info": {"title": "Pets", "version": "1"},
 "x-keygate-scopes": ["pets:read"],
 "paths": {"/pets": {
   "get": {"responses": {"200": {"description": "ok"}}},
   "post": {"x-keygate-scopes": ["pets:write"], "responses": {"201": {"description": "created"}}}}}}`

// TestRouteScopesOverHTTP: an admin saves a route's scopes and identity flag over the console
// API, the route's document is read for its x-keygate-scopes on save, a bad scope is a 400
// naming the field, and ListScopes offers the scopes of the routes that serve an
// organization's keys (unbound routes and those bound to it, not those of others).
func TestRouteScopesOverHTTP(t *testing.T) {
	srv := testutil.NewServer(t)
	ctx := context.Background()
	doc := filepath.Join(t.TempDir(), "pets.json")
	if err := os.WriteFile(doc, []byte(scopedDocument), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	admin := srv.Login(t, "admin@example.com")

	var r routes.Route
	if code := admin.Call("POST", "/api/v1/routes", map[string]any{"prefix": "/pets", "upstream": "http://127.0.0.1:9",
		"openapiSource": doc, "scopes": []string{"api:use"}, "identityJwt": true}, &r); code != 201 {
		t.Fatalf("add: %d", code)
	}
	wantDoc := &routes.DocumentScopes{Default: []string{"pets:read"},
		Operations: []routes.OperationScopes{{Method: "POST", Path: "/pets", Scopes: []string{"pets:write"}}}}
	if !reflect.DeepEqual(r.Scopes, []string{"api:use"}) || !r.IdentityJWT || !reflect.DeepEqual(r.DocumentScopes, wantDoc) || r.Warning != "" {
		t.Fatalf("added %+v (document scopes %+v)", r, r.DocumentScopes)
	}

	p := admin.Problem("PUT", "/api/v1/routes/"+r.ID, map[string]any{"prefix": "/pets", "upstream": "http://127.0.0.1:9",
		"scopes": []string{"pets:*"}})
	if p.Status != 400 || p.Code != "VALIDATION" || len(p.Fields) != 1 || p.Fields[0].Field != "scopes" {
		t.Fatalf("bad scope: %+v", p)
	}

	// A document that no longer reads keeps its scopes, and the answer says so.
	if err := os.Remove(doc); err != nil {
		t.Fatal(err)
	}
	if code := admin.Call("PUT", "/api/v1/routes/"+r.ID, map[string]any{"prefix": "/pets", "upstream": "http://127.0.0.1:9",
		"openapiSource": doc, "scopes": []string{"api:use"}}, &r); code != 200 {
		t.Fatalf("update: %d", code)
	}
	if r.Warning != routes.WarningDocumentUnreadableKept || r.WarningDetail == "" || !reflect.DeepEqual(r.DocumentScopes, wantDoc) || r.IdentityJWT {
		t.Fatalf("updated with the document gone: %+v", r)
	}

	other, err := srv.Orgs.Create(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	f := false
	if _, err := srv.Routes.Add(ctx, routes.Params{Prefix: "/theirs", Upstream: "http://127.0.0.1:9", OrgID: other.ID,
		AuthRequired: &f, Scopes: []string{"secret:thing"}}); err != nil {
		t.Fatal(err)
	}
	var list console.ScopeList
	if code := admin.Call("GET", "/api/v1/scopes", nil, &list); code != 200 {
		t.Fatalf("list: %d", code)
	}
	want := []console.DeclaredScope{{Scope: "api:use", Routes: []string{"/pets"}}, {Scope: "pets:read", Routes: []string{"/pets"}},
		{Scope: "pets:write", Routes: []string{"/pets"}}}
	if !reflect.DeepEqual(list.Scopes, want) {
		t.Fatalf("scopes %+v, want %+v", list.Scopes, want)
	}
	srv.AddUser(t, "dev@example.com", auth.RoleDeveloper, other.ID)
	if code := srv.Login(t, "dev@example.com").Call("GET", "/api/v1/scopes?org="+other.ID, nil, &list); code != 200 {
		t.Fatalf("list as the other organization: %d", code)
	}
	if len(list.Scopes) != 4 || list.Scopes[3].Scope != "secret:thing" {
		t.Fatalf("other organization's scopes %+v", list.Scopes)
	}
}
