package console_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/testutil"
)

// TestKeysV2OverHTTP: create with every new field, edit, disable and enable, list with search,
// sort, paging and the expiring filter, roll refused on an expired key — through the console's
// HTTP API as a developer, with the audit entries they leave.
func TestKeysV2OverHTTP(t *testing.T) {
	srv := testutil.NewServer(t)
	ctx := context.Background()
	srv.AddUser(t, "dev@example.com", auth.RoleDeveloper, srv.Org.ID)
	srv.AddUser(t, "m@example.com", auth.RoleMember, srv.Org.ID)
	c := srv.Login(t, "dev@example.com")

	var k keys.Created
	if st := c.Call("POST", "/api/v1/keys", map[string]any{"name": "full", "expires": "30d",
		"scopes": []string{"orders:read", "invoices:*"}, "metadata": map[string]string{"plan": "pro"},
		"allowIps": []string{"192.0.2.0/24"}, "quota": 10, "refillAmount": 10, "refillIntervalSeconds": 3600,
		"rateLimit": 5, "rateWindowSeconds": 10}, &k); st != 200 && st != 201 {
		t.Fatalf("create: %d", st)
	}
	var got keys.Key
	c.Call("GET", "/api/v1/keys/"+k.ID, nil, &got)
	if !slices.Equal(got.Scopes, []string{"invoices:*", "orders:read"}) || got.Metadata["plan"] != "pro" ||
		!slices.Equal(got.AllowIPs, []string{"192.0.2.0/24"}) || got.QuotaRemaining == nil || *got.QuotaRemaining != 10 ||
		got.RefillAmount != 10 || got.RefillIntervalSeconds != 3600 || got.RateLimit != 5 || got.RateWindowSeconds != 10 {
		t.Fatalf("get: %+v", got)
	}
	r, _ := srv.Keys.Verify(ctx, k.Key)
	if !r.Valid || r.Key.Metadata["plan"] != "pro" {
		t.Fatalf("verify: %+v", r)
	}

	// Only the fields sent change.
	got = keys.Key{}
	c.Call("PATCH", "/api/v1/keys/"+k.ID, map[string]any{"expires": "never", "scopes": []string{"*"}, "removeQuota": true}, &got)
	if got.ExpiresAt != nil || !slices.Equal(got.Scopes, []string{"*"}) || got.QuotaRemaining != nil || got.Name != "full" ||
		got.Metadata["plan"] != "pro" || got.RateLimit != 5 {
		t.Fatalf("update: %+v", got)
	}
	if r, _ := srv.Keys.Verify(ctx, k.Key); !slices.Equal(r.Key.Scopes, []string{"*"}) || r.Key.ExpiresAt != nil {
		t.Fatalf("the next verification served the old key: %+v", r.Key)
	}

	// Each bad input names its field; nothing changes.
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"scopes": []string{"no spaces"}}, "scopes"},
		{map[string]any{"metadata": map[string]string{"bad name": "x"}}, "metadata"},
		{map[string]any{"allowIps": []string{"300.1.1.1"}}, "allowIps"},
		{map[string]any{"quota": -1}, "quota"},
		{map[string]any{"refillAmount": 5}, "refill"},
		{map[string]any{"refillAmount": 5, "refillIntervalSeconds": 1}, "refill"},
		{map[string]any{"quota": 5, "removeQuota": true}, "quota"},
		{map[string]any{"expires": "yesterday"}, "expires"},
		{map[string]any{"name": "ok", "rateLimit": -1}, "rateLimit"},
		{map[string]any{"metadata": "plan=pro"}, "metadata"},
	} {
		p := c.Problem("PATCH", "/api/v1/keys/"+k.ID, tc.body)
		if p.Status != 400 || p.Code != "VALIDATION" || len(p.Fields) != 1 || p.Fields[0].Field != tc.field {
			t.Errorf("%v: %+v, want a VALIDATION problem about %s", tc.body, p, tc.field)
		}
	}
	c.Call("GET", "/api/v1/keys/"+k.ID, nil, &got)
	if got.Name != "full" || got.RateLimit != 5 {
		t.Errorf("a refused update changed the key: %+v", got)
	}
	// A member may not edit.
	if p := srv.Login(t, "m@example.com").Problem("POST", "/api/v1/keys/"+k.ID+"/disable", nil); p.Status != 403 {
		t.Errorf("member disables: %+v", p)
	}

	// Disable and enable are idempotent and audited once each.
	got = keys.Key{}
	c.Call("POST", "/api/v1/keys/"+k.ID+"/disable", nil, &got)
	if got.Status != keys.StatusDisabled || got.DisabledBy != "dev@example.com" {
		t.Fatalf("disable: %+v", got)
	}
	c.Call("POST", "/api/v1/keys/"+k.ID+"/disable", nil, nil)
	if r, _ := srv.Keys.Verify(ctx, k.Key); r.Code != keys.CodeDisabled {
		t.Fatalf("verify disabled: %s", r.Code)
	}
	c.Call("POST", "/api/v1/keys/"+k.ID+"/enable", nil, &got)
	if got.Status != keys.StatusActive {
		t.Fatalf("enable: %+v", got)
	}

	// Lists.
	for i, n := range []string{"zeta", "Eta", "theta"} {
		exp := "never"
		if i == 0 {
			exp = "7d"
		}
		c.Call("POST", "/api/v1/keys", map[string]any{"name": n, "expires": exp}, nil)
	}
	var page keys.Page
	c.Call("GET", "/api/v1/keys?search=ETA&sort=name&order=asc&limit=2", nil, &page)
	if page.Total != 3 || len(page.Keys) != 2 || page.Keys[0].Name != "Eta" || page.Keys[1].Name != "theta" || page.NextCursor == "" {
		t.Fatalf("search page 1: %+v", page)
	}
	cursor := page.NextCursor
	page = keys.Page{}
	c.Call("GET", "/api/v1/keys?search=ETA&sort=name&order=asc&limit=2&cursor="+cursor, nil, &page)
	if len(page.Keys) != 1 || page.Keys[0].Name != "zeta" || page.NextCursor != "" {
		t.Fatalf("search page 2: %+v", page)
	}
	page = keys.Page{}
	c.Call("GET", "/api/v1/keys?expiringWithinDays=7", nil, &page)
	if len(page.Keys) != 1 || page.Keys[0].Name != "zeta" {
		t.Fatalf("expiring: %+v", page)
	}
	for _, q := range []string{"sort=size", "order=up", "expiringWithinDays=-1", "status=paused"} {
		if p := c.Problem("GET", "/api/v1/keys?"+q, nil); p.Status != 400 || len(p.Fields) != 1 {
			t.Errorf("%s: %+v", q, p)
		}
	}

	// Roll: refused once the key has expired, with a message that says so.
	var short keys.Created
	c.Call("POST", "/api/v1/keys", map[string]any{"name": "short", "expires": "7d"}, &short)
	srv.Clock.Advance(8 * 24 * time.Hour)
	c = srv.Login(t, "dev@example.com") // the session has ended meanwhile
	p := c.Problem("POST", "/api/v1/keys/"+short.ID+"/roll", map[string]any{"graceSeconds": 0})
	if p.Status != 409 || p.Code != "CONFLICT" || !strings.Contains(p.Detail, "expired key cannot be rolled") {
		t.Fatalf("roll expired: %+v", p)
	}
	// A revoked key cannot be edited.
	c.Call("POST", "/api/v1/keys/"+short.ID+"/revoke", nil, nil)
	if p := c.Problem("PATCH", "/api/v1/keys/"+short.ID, map[string]any{"name": "x"}); p.Status != 409 {
		t.Fatalf("edit revoked: %+v", p)
	}

	es, err := srv.Audit.List(ctx, audit.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range es {
		count[e.Action]++
		if e.Action == audit.KeyUpdate && (strings.Contains(e.Detail, "pro") || !strings.Contains(e.Detail, "scopes")) {
			t.Errorf("key.update detail %q: names fields, never metadata values", e.Detail)
		}
	}
	if count[audit.KeyUpdate] != 1 || count[audit.KeyDisable] != 1 || count[audit.KeyEnable] != 1 {
		t.Errorf("audit counts %v", count)
	}
}
