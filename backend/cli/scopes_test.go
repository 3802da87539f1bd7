package cli_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
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

// identity rotate makes a new signing key that is published at once and signs once the key
// set's max-age has passed (--now: at once), the previous one published for a day after it
// stops signing; identity list shows each key's state; every rotation is audited.
func TestIdentityRotate(t *testing.T) {
	dir := t.TempDir()
	type key struct {
		ID         string
		State      string
		Active     bool
		SignsFrom  time.Time
		SignsUntil *time.Time
		RetiresAt  *time.Time
	}
	var list struct {
		Keys   []key
		MaxAge int
	}
	ok(t, dir, "", &list, "identity", "list", "--json")
	if len(list.Keys) != 0 || list.MaxAge != 300 {
		t.Fatalf("fresh instance: %+v", list)
	}
	// Nothing signs yet: the first key signs at once.
	ok(t, dir, "", &list, "identity", "rotate", "--json")
	if len(list.Keys) != 1 || !list.Keys[0].Active || list.Keys[0].State != "current" {
		t.Fatalf("first rotate: %+v", list)
	}
	first := list.Keys[0].ID

	before := time.Now()
	r := run(t, dir, "", "identity", "rotate")
	ok(t, dir, "", &list, "identity", "list", "--json")
	if len(list.Keys) != 2 || list.Keys[0].State != "next" || list.Keys[0].Active || list.Keys[1].ID != first || list.Keys[1].State != "current" ||
		list.Keys[0].SignsFrom.Before(before.Add(300*time.Second-time.Second)) || list.Keys[0].SignsFrom.After(time.Now().Add(300*time.Second)) ||
		list.Keys[1].SignsUntil == nil || !list.Keys[1].SignsUntil.Equal(list.Keys[0].SignsFrom) || !list.Keys[1].RetiresAt.Equal(list.Keys[0].SignsFrom.Add(24*time.Hour)) {
		t.Fatalf("after a second rotate: %+v", list)
	}
	second, at := list.Keys[0].ID, list.Keys[0].SignsFrom.Format(time.RFC3339)
	if r.code != 0 || !strings.Contains(r.stdout, "New signing key "+second+": published now at /.well-known/jwks.json, it signs from "+at) ||
		!strings.Contains(r.stdout, "(max-age 300 s)") || !strings.Contains(r.stdout, "next: signs from "+at) ||
		!strings.Contains(r.stdout, "current: signs until "+at) || !strings.Contains(r.stdout, first) {
		t.Fatalf("rotate: %+v", r)
	}
	if l := run(t, dir, "", "identity", "list"); !strings.Contains(l.stdout, "STATE") || strings.Index(l.stdout, second) > strings.Index(l.stdout, first) ||
		!strings.Contains(l.stdout, "next: signs from "+at) {
		t.Fatalf("identity list: %+v", l)
	}

	// An emergency: the new key signs at once, the others retire from now; the output says
	// caches may refuse its tokens.
	r = run(t, dir, "", "identity", "rotate", "--now")
	ok(t, dir, "", &list, "identity", "list", "--json")
	third := list.Keys[0].ID
	if len(list.Keys) != 3 || list.Keys[0].State != "current" || list.Keys[1].ID != second || list.Keys[1].State != "retiring" ||
		list.Keys[2].ID != first || list.Keys[2].State != "retiring" || list.Keys[2].RetiresAt.After(time.Now().Add(24*time.Hour)) {
		t.Fatalf("after rotate --now: %+v", list)
	}
	if r.code != 0 || !strings.Contains(r.stdout, "New signing key "+third+" signs now. Upstreams that cached the key set may refuse its tokens for up to 300 seconds") ||
		!strings.Contains(r.stdout, "retiring: published until ") || !strings.Contains(r.stdout, "current: signs\n") && !strings.Contains(r.stdout, "current: signs ") {
		t.Fatalf("rotate --now: %+v", r)
	}
	t.Setenv("KEYGATE_LANG", "de")
	if r := run(t, dir, "", "identity", "rotate", "--now"); r.code != 0 || !strings.Contains(r.stdout, "signiert ab sofort") || !strings.Contains(r.stdout, "auslaufend: veröffentlicht bis") {
		t.Fatalf("German rotate --now: %+v", r)
	}
	t.Setenv("KEYGATE_LANG", "en")

	// The max-age (and so the lead) follows KEYGATE_JWKS_MAX_AGE; a bad value changes nothing.
	t.Setenv("KEYGATE_JWKS_MAX_AGE", "7s")
	before = time.Now()
	ok(t, dir, "", &list, "identity", "rotate", "--json")
	if list.MaxAge != 7 || list.Keys[0].State != "next" || list.Keys[0].SignsFrom.Before(before.Add(6*time.Second)) || list.Keys[0].SignsFrom.After(time.Now().Add(7*time.Second)) {
		t.Fatalf("with a 7 s max-age: %+v", list)
	}
	for _, bad := range []string{"abc", "0s", "500ms", "1.5s", "25h"} {
		t.Setenv("KEYGATE_JWKS_MAX_AGE", bad)
		if r := run(t, dir, "", "identity", "rotate"); r.code == 0 || !strings.Contains(r.stderr, "KEYGATE_JWKS_MAX_AGE") {
			t.Errorf("KEYGATE_JWKS_MAX_AGE=%s: %+v", bad, r)
		}
	}
	t.Setenv("KEYGATE_JWKS_MAX_AGE", "")
	if got := auditActions(t, dir); got["identity.rotate"] != 5 {
		t.Fatalf("audit %v", got)
	}

	if _, err := os.Stat(filepath.Join(dir, "secrets.key")); err != nil {
		t.Fatalf("the secrets key that seals the signing keys: %v", err)
	}
	for _, bad := range [][]string{{"identity", "spin"}, {"identity", "list", "--now"}, {"identity", "rotate", "extra"}} {
		if r := run(t, dir, "", bad...); r.code != 2 {
			t.Errorf("%v: %+v", bad, r)
		}
	}
}
