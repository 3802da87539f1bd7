package cli_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// routes add|update --scope / --identity-jwt set the route's scopes and signed identity; on
// update repeated --scope flags replace the list and --scope ” clears it; routes scopes lists
// what the routes require, from the flags and from the documents' x-keygate-scopes.
func TestRoutesScopes(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "pets.json")
	if err := os.WriteFile(doc, []byte(`{"openapi": "3.0.3", "info": {"title": "Pets", "version": "1"},
		"paths": {"/pets": {"post": {"x-keygate-scopes": ["pets:write"], "responses": {"201": {"description": "created"}}}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	type route struct {
		ID          string
		Scopes      []string
		IdentityJWT bool
	}
	add := run(t, dir, "", "routes", "add", "/api", "http://127.0.0.1:9000", "--scope", "pets:read", "--scope", "api:use",
		"--identity-jwt", "--openapi", doc, "--strip-prefix")
	if add.code != 0 || !strings.Contains(add.stdout, "Scopes every request needs: api:use, pets:read.") ||
		!strings.Contains(add.stdout, "Scopes its OpenAPI document declares: pets:write.") {
		t.Fatalf("add: %+v", add)
	}
	var r route
	ok(t, dir, "", &r, "routes", "update", "/api", "--scope", "orders:read", "--json")
	if !reflect.DeepEqual(r.Scopes, []string{"orders:read"}) || !r.IdentityJWT {
		t.Fatalf("update replaced the list: %+v", r)
	}
	var list struct {
		Scopes []struct {
			Scope  string
			Routes []string
		}
	}
	ok(t, dir, "", &list, "routes", "scopes", "--json")
	if len(list.Scopes) != 2 || list.Scopes[0].Scope != "orders:read" || list.Scopes[1].Scope != "pets:write" || list.Scopes[1].Routes[0] != "/api" {
		t.Fatalf("scopes: %+v", list)
	}
	if table := run(t, dir, "", "routes", "scopes"); table.code != 0 || !strings.Contains(table.stdout, "SCOPE") || !strings.Contains(table.stdout, "pets:write") {
		t.Fatalf("scopes table: %+v", table)
	}
	if bad := run(t, dir, "", "routes", "update", "/api", "--scope", "orders:*"); bad.code != 1 || !strings.Contains(bad.stderr, "resource:action") {
		t.Fatalf("a wildcard on a route: %+v", bad)
	}
	ok(t, dir, "", &r, "routes", "update", "/api", "--scope", "", "--identity-jwt=false", "--json")
	if r.Scopes == nil || len(r.Scopes) != 0 || r.IdentityJWT {
		t.Fatalf("cleared: %+v", r)
	}
}

// identity rotate makes a new signing key and keeps the previous one published for a day;
// identity list shows them, the active one first; both are audited.
func TestIdentityRotate(t *testing.T) {
	dir := t.TempDir()
	var list struct {
		Keys []struct {
			ID        string
			Active    bool
			RetiresAt *string
		}
	}
	ok(t, dir, "", &list, "identity", "list", "--json")
	if len(list.Keys) != 0 {
		t.Fatalf("fresh instance: %+v", list)
	}
	ok(t, dir, "", &list, "identity", "rotate", "--json")
	if len(list.Keys) != 1 || !list.Keys[0].Active {
		t.Fatalf("first rotate: %+v", list)
	}
	first := list.Keys[0].ID
	r := run(t, dir, "", "identity", "rotate")
	if r.code != 0 || !strings.Contains(r.stdout, "previous key stays published") || !strings.Contains(r.stdout, first) {
		t.Fatalf("rotate: %+v", r)
	}
	ok(t, dir, "", &list, "identity", "list", "--json")
	if len(list.Keys) != 2 || !list.Keys[0].Active || list.Keys[1].ID != first || list.Keys[1].RetiresAt == nil {
		t.Fatalf("after a second rotate: %+v", list)
	}
	if _, err := os.Stat(filepath.Join(dir, "secrets.key")); err != nil {
		t.Fatalf("the secrets key that seals the signing keys: %v", err)
	}
	if got := auditActions(t, dir); got["identity.rotate"] != 2 {
		t.Fatalf("audit %v", got)
	}
	if bad := run(t, dir, "", "identity", "spin"); bad.code != 2 {
		t.Fatalf("unknown subcommand: %+v", bad)
	}
}
