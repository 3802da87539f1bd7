package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/testutil"
)

// TestDomainInputErrorsAreValidation: every rule a domain package enforces on an input comes
// back as 400 VALIDATION naming the field — never 500 — without the console repeating it.
// (GET /api/v1/keys?limit=1000 was 500 INTERNAL: keys refused the limit and nothing mapped it.)
func TestDomainInputErrorsAreValidation(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Login(t, "admin@example.com")
	k, err := srv.Keys.Create(context.Background(), keys.CreateParams{OrgID: srv.Org.ID, Name: "k", CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 201)
	for _, tc := range []struct {
		method, path string
		body         any
		field, code  string
	}{
		{"GET", "/api/v1/keys?limit=1000", nil, "limit", "range"},
		{"GET", "/api/v1/keys?limit=-1", nil, "limit", "range"},
		{"GET", "/api/v1/keys?status=lost", nil, "status", "invalid"},
		{"GET", "/api/v1/keys?cursor=%00", nil, "cursor", "invalid"},
		{"GET", "/api/v1/audit?limit=501", nil, "limit", "range"},
		{"GET", "/api/v1/audit?limit=-5", nil, "limit", "range"},
		{"GET", "/api/v1/requests?limit=1001", nil, "limit", "range"},
		{"GET", "/api/v1/requests?status=6xx", nil, "status", "invalid"},
		{"POST", "/api/v1/keys", map[string]any{"name": "  "}, "name", "required"},
		{"POST", "/api/v1/keys", map[string]any{"name": strings.Repeat("x", 65)}, "name", "too_long"},
		{"POST", "/api/v1/keys", map[string]any{"name": "a\x00b"}, "name", "invalid"},
		{"POST", "/api/v1/keys", map[string]any{"name": "a", "expires": "tomorrow"}, "expires", "invalid"},
		{"POST", "/api/v1/keys", map[string]any{"name": "a", "rateLimit": -1}, "rateLimit", "range"},
		{"POST", "/api/v1/keys", map[string]any{"name": "a", "rateWindowSeconds": -1}, "rateWindowSeconds", "range"},
		// 2^63 ns overflow: the seconds must not wrap around into the allowed range.
		{"POST", "/api/v1/keys", map[string]any{"name": "a", "rateWindowSeconds": 9223372037}, "rateWindowSeconds", "range"},
		{"POST", "/api/v1/keys/" + k.ID + "/roll", map[string]any{"graceSeconds": 9223372037 + 86400}, "graceSeconds", "range"},
		{"POST", "/api/v1/keys/" + k.ID + "/roll", map[string]any{"graceSeconds": -1}, "graceSeconds", "range"},
		{"POST", "/api/v1/keys/" + k.ID + "/revoke", map[string]any{"reason": long}, "reason", "too_long"},
		{"PATCH", "/api/v1/keys/" + k.ID, map[string]any{"name": ""}, "name", "required"},
		{"POST", "/api/v1/orgs", map[string]any{"name": ""}, "name", "invalid"},
		{"POST", "/api/v1/routes", map[string]any{"prefix": "/a/../b", "upstream": "http://127.0.0.1:1"}, "prefix", "invalid"},
		{"POST", "/api/v1/routes", map[string]any{"prefix": "/a", "upstream": "ftp://x"}, "upstream", "invalid"},
		{"PUT", "/api/v1/gateway/settings", map[string]any{"allowedOrigins": []string{"nope"}, "upstreamTimeoutSeconds": 30}, "allowedOrigins", "invalid"},
		{"POST", "/api/v1/members", map[string]any{"email": "x", "role": "member", "password": "long-enough-pw"}, "email", "invalid"},
		{"POST", "/api/v1/members", map[string]any{"email": "x@example.com", "role": "king", "password": "long-enough-pw"}, "role", "invalid"},
		{"POST", "/api/v1/members", map[string]any{"email": "x@example.com", "role": "member", "password": "short"}, "password", "length"},
		{"PUT", "/api/v1/preferences", map[string]any{"theme": "neon"}, "theme", "invalid"},
	} {
		p := c.Problem(tc.method, tc.path, tc.body)
		if p.Status != 400 || p.Code != "VALIDATION" || len(p.Fields) != 1 || p.Fields[0].Field != tc.field ||
			p.Fields[0].Code != tc.code || p.Fields[0].Detail == "" || strings.HasPrefix(p.Fields[0].Detail, "validation.") {
			t.Errorf("%s %s %v: %+v, want 400 VALIDATION on %s (%s) with a message", tc.method, tc.path, tc.body, p, tc.field, tc.code)
		}
	}
	// Nothing was changed by any of them.
	if page, err := srv.Keys.List(context.Background(), keysAll()); err != nil || len(page.Keys) != 1 || page.Keys[0].RevokedAt != nil {
		t.Errorf("keys after refused requests: %+v, %v", page.Keys, err)
	}
}

// TestUncleanAPIPathsAreProblems: an id of "." or ".." would make ServeMux redirect (307 to
// the cleaned path, even for a POST); the API answers 404 problem+json instead.
func TestUncleanAPIPathsAreProblems(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Login(t, "admin@example.com")
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/v1/keys/."}, {"GET", "/api/v1/keys/.."}, {"POST", "/api/v1/keys/./revoke"},
		{"PUT", "/api/v1/routes/.."}, {"GET", "/api/v1//keys"}, {"PATCH", "/api/v1/orgs/../orgs"},
	} {
		if p := c.Problem(tc.method, tc.path, nil); p.Status != 404 || p.Code != "NOT_FOUND" {
			t.Errorf("%s %s: %+v, want 404 NOT_FOUND", tc.method, tc.path, p)
		}
	}
	// The pages are not the API: the single-page app still gets clean paths by redirect.
	if code := c.Call("GET", "/api/v1/keys", nil, nil); code != 200 {
		t.Errorf("a clean path: %d", code)
	}
}
