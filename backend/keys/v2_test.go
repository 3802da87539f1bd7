package keys_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

func ptr[T any](v T) *T { return &v }

func TestScopesAllow(t *testing.T) {
	cases := []struct {
		have []string
		need string
		want bool
	}{
		{nil, "orders:read", false},
		{[]string{"orders:read"}, "orders:read", true},
		{[]string{"orders:read"}, "orders:write", false},
		{[]string{"orders:*"}, "orders:write", true},
		{[]string{"orders:*"}, "orders", true},
		{[]string{"orders:*"}, "ordersx:read", false},
		{[]string{"orders:*"}, "invoices:read", false},
		{[]string{"*"}, "anything:at-all", true},
		{[]string{"orders"}, "orders:read", false},
		{[]string{"orders"}, "orders", true},
		{[]string{"a:b", "c:*"}, "c:d", true},
	}
	for _, c := range cases {
		if got := keys.ScopesAllow(c.have, c.need); got != c.want {
			t.Errorf("ScopesAllow(%v, %q) = %v, want %v", c.have, c.need, got, c.want)
		}
	}
	if m := keys.MissingScope([]string{"a:*"}, []string{"a:read", "b:read"}); m != "b:read" {
		t.Errorf("MissingScope = %q, want b:read", m)
	}
}

func TestValidatesV2Inputs(t *testing.T) {
	f := newFixture(t)
	long := make([]string, keys.MaxScopes+1)
	for i := range long {
		long[i] = fmt.Sprintf("r%d:read", i)
	}
	meta := map[string]string{}
	for i := 0; i <= keys.MaxMetadata; i++ {
		meta[fmt.Sprintf("k%d", i)] = "v"
	}
	cases := []struct {
		name  string
		p     keys.CreateParams
		field string
	}{
		{"empty scope", keys.CreateParams{Scopes: []string{""}}, "scopes"},
		{"space in scope", keys.CreateParams{Scopes: []string{"orders read"}}, "scopes"},
		{"two colons", keys.CreateParams{Scopes: []string{"a:b:c"}}, "scopes"},
		{"star resource", keys.CreateParams{Scopes: []string{"*:read"}}, "scopes"},
		{"too many scopes", keys.CreateParams{Scopes: long}, "scopes"},
		{"too much metadata", keys.CreateParams{Metadata: meta}, "metadata"},
		{"bad meta name", keys.CreateParams{Metadata: map[string]string{"a b": "x"}}, "metadata"},
		{"control char in meta", keys.CreateParams{Metadata: map[string]string{"a": "x\ny"}}, "metadata"},
		{"bad ip", keys.CreateParams{AllowIPs: []string{"10.0.0.300"}}, "allowIps"},
		{"hostname", keys.CreateParams{AllowIPs: []string{"example.com"}}, "allowIps"},
		{"zone", keys.CreateParams{AllowIPs: []string{"fe80::1%eth0"}}, "allowIps"},
		{"negative quota", keys.CreateParams{Quota: ptr(int64(-1))}, "quota"},
		{"refill without quota", keys.CreateParams{RefillAmount: 10, RefillInterval: time.Hour}, "refill"},
		{"refill too often", keys.CreateParams{Quota: ptr(int64(5)), RefillAmount: 10, RefillInterval: time.Second}, "refill"},
		{"refill without amount", keys.CreateParams{Quota: ptr(int64(5)), RefillInterval: time.Hour}, "refill"},
	}
	for _, c := range cases {
		c.p.OrgID, c.p.Name, c.p.CreatedBy = f.org, "k", "test"
		_, err := f.svc.Create(ctx, c.p)
		var inv *problem.Invalid
		if !errors.As(err, &inv) || inv.Field != c.field {
			t.Errorf("%s: err = %v, want an invalid %s", c.name, err, c.field)
		}
	}
	page, err := f.svc.List(ctx, keys.ListParams{OrgID: f.org})
	if err != nil || page.Total != 0 || len(page.Keys) != 0 {
		t.Fatalf("a refused create left keys: %+v %v", page, err)
	}
}

func TestCreateCarriesV2Fields(t *testing.T) {
	f := newFixture(t)
	c, err := f.svc.Create(ctx, keys.CreateParams{OrgID: f.org, Name: "full", CreatedBy: "test",
		Scopes:   []string{"orders:read", " invoices:* ", "orders:read"},
		Metadata: map[string]string{"plan": "pro", "customer": "Ünïcode ✓"},
		AllowIPs: []string{"203.0.113.7", "10.1.2.3/8", "2001:db8::1/32", "::ffff:192.0.2.1"},
		Quota:    ptr(int64(100)), RefillAmount: 100, RefillInterval: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	k, err := f.svc.Get(ctx, f.org, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"invoices:*", "orders:read"}; !slices.Equal(k.Scopes, want) {
		t.Errorf("scopes %v, want %v", k.Scopes, want)
	}
	if k.Metadata["plan"] != "pro" || k.Metadata["customer"] != "Ünïcode ✓" || len(k.Metadata) != 2 {
		t.Errorf("metadata %v", k.Metadata)
	}
	if want := []string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "203.0.113.7/32"}; !slices.Equal(k.AllowIPs, want) {
		t.Errorf("allowlist %v, want %v", k.AllowIPs, want)
	}
	if k.QuotaRemaining == nil || *k.QuotaRemaining != 100 || k.RefillAmount != 100 || k.RefillIntervalSeconds != 86400 || k.LastRefillAt == nil {
		t.Errorf("quota %v %d %d %v", k.QuotaRemaining, k.RefillAmount, k.RefillIntervalSeconds, k.LastRefillAt)
	}
	r := f.verify(t, c.Key)
	if !r.Valid || !slices.Equal(r.Key.Scopes, k.Scopes) || r.Key.Metadata["plan"] != "pro" {
		t.Errorf("verify does not carry scopes and metadata: %+v", r.Key)
	}
	for addr, want := range map[string]bool{"203.0.113.7": true, "203.0.113.8": false, "10.200.0.1": true,
		"2001:db8:ffff::5": true, "2001:db9::1": false, "192.0.2.1": true, "::ffff:10.0.0.1": true, "127.0.0.1": false} {
		if got := r.Key.AllowsIP(netip.MustParseAddr(addr)); got != want {
			t.Errorf("AllowsIP(%s) = %v, want %v", addr, got, want)
		}
	}
	if (&keys.Key{}).AllowsIP(netip.Addr{}) != true {
		t.Error("a key without allowlist must allow any address")
	}
}

func TestUpdateEditsAndTheNextVerifySeesIt(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "edit me", "30d")
	f.verify(t, c.Key) // cached
	k, err := f.svc.Update(ctx, f.org, c.ID, keys.UpdateParams{
		Name: ptr("edited"), Expires: ptr("never"), Scopes: &[]string{"a:read"},
		Metadata: &map[string]string{"team": "x"}, AllowIPs: &[]string{"192.0.2.0/24"},
		RateLimit: ptr(10), RateWindow: ptr(time.Second), Quota: ptr(int64(3)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "edited" || k.ExpiresAt != nil || k.RateLimit != 10 || k.RateWindowSeconds != 1 || *k.QuotaRemaining != 3 {
		t.Errorf("update result %+v", k)
	}
	r := f.verify(t, c.Key)
	if r.Key.Name != "edited" || !slices.Equal(r.Key.Scopes, []string{"a:read"}) || r.Key.Metadata["team"] != "x" ||
		r.Key.AllowsIP(netip.MustParseAddr("198.51.100.1")) || r.Key.ExpiresAt != nil {
		t.Errorf("verify after update served the old state: %+v", r.Key)
	}
	// Only what is given changes.
	k, err = f.svc.Update(ctx, f.org, c.ID, keys.UpdateParams{Scopes: &[]string{}})
	if err != nil || k.Name != "edited" || len(k.Scopes) != 0 || k.Metadata["team"] != "x" {
		t.Errorf("partial update: %+v %v", k, err)
	}
	// A bad input changes nothing, even with good ones beside it.
	_, err = f.svc.Update(ctx, f.org, c.ID, keys.UpdateParams{Name: ptr("other"), AllowIPs: &[]string{"nope"}})
	if !errors.Is(err, keys.ErrInvalidAllowIP) {
		t.Errorf("bad allowlist: %v", err)
	}
	if k, _ := f.svc.Get(ctx, f.org, c.ID); k.Name != "edited" {
		t.Errorf("a refused update renamed the key to %q", k.Name)
	}
	// Removing the quota.
	if k, err := f.svc.Update(ctx, f.org, c.ID, keys.UpdateParams{NoQuota: true}); err != nil || k.QuotaRemaining != nil {
		t.Errorf("remove quota: %+v %v", k.QuotaRemaining, err)
	}
	// Other organizations' keys are not found; revoked keys cannot change.
	if _, err := f.svc.Update(ctx, "org_other", c.ID, keys.UpdateParams{Name: ptr("x")}); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("other org: %v", err)
	}
	if _, err := f.svc.Revoke(ctx, f.org, c.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Update(ctx, f.org, c.ID, keys.UpdateParams{Name: ptr("x")}); !errors.Is(err, keys.ErrRevoked) {
		t.Errorf("revoked: %v", err)
	}
}

func TestUpdateExpiryRevivesAndPastIsRefused(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "short", "7d")
	f.clock.Advance(8 * 24 * time.Hour)
	if r := f.verify(t, c.Key); r.Code != keys.CodeExpired {
		t.Fatalf("want expired, got %s", r.Code)
	}
	if _, err := f.svc.Update(ctx, f.org, c.ID, keys.UpdateParams{Expires: ptr("2000-01-01")}); !errors.Is(err, keys.ErrExpiryInPast) {
		t.Errorf("past expiry: %v", err)
	}
	if _, err := f.svc.Update(ctx, f.org, c.ID, keys.UpdateParams{Expires: ptr("30d")}); err != nil {
		t.Fatal(err)
	}
	if r := f.verify(t, c.Key); !r.Valid {
		t.Errorf("extended key: %s", r.Code)
	}
}

func TestDisableEnable(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "pausable", "never")
	f.verify(t, c.Key)
	k, changed, err := f.svc.Disable(ctx, f.org, c.ID, "ada@example.com")
	if err != nil || !changed || k.Status != keys.StatusDisabled || k.DisabledAt == nil || k.DisabledBy != "ada@example.com" {
		t.Fatalf("disable: %+v %v %v", k, changed, err)
	}
	if r := f.verify(t, c.Key); r.Valid || r.Code != keys.CodeDisabled || r.Key.Status != keys.StatusDisabled {
		t.Errorf("disabled key verifies: %+v", r)
	}
	if _, changed, _ := f.svc.Disable(ctx, f.org, c.ID, "x"); changed {
		t.Error("disabling twice reports a change")
	}
	for st, n := range map[keys.Status]int{keys.StatusDisabled: 1, keys.StatusActive: 0} {
		if p, _ := f.svc.List(ctx, keys.ListParams{OrgID: f.org, Status: st}); p.Total != n {
			t.Errorf("list %s: %d keys, want %d", st, p.Total, n)
		}
	}
	k, changed, err = f.svc.Enable(ctx, f.org, c.ID)
	if err != nil || !changed || k.Status != keys.StatusActive || k.DisabledAt != nil || k.DisabledBy != "" {
		t.Fatalf("enable: %+v %v %v", k, changed, err)
	}
	if r := f.verify(t, c.Key); !r.Valid {
		t.Errorf("enabled key: %s", r.Code)
	}
	if _, changed, _ := f.svc.Enable(ctx, f.org, c.ID); changed {
		t.Error("enabling twice reports a change")
	}
	f.svc.Revoke(ctx, f.org, c.ID, "")
	if _, _, err := f.svc.Disable(ctx, f.org, c.ID, "x"); !errors.Is(err, keys.ErrRevoked) {
		t.Errorf("disable revoked: %v", err)
	}
}

func TestRollRefusesExpired(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "old", "7d")
	f.clock.Advance(7*24*time.Hour + time.Second)
	if _, err := f.svc.Roll(ctx, f.org, c.ID, 0); !errors.Is(err, keys.ErrExpired) {
		t.Errorf("roll expired: %v", err)
	}
	r := f.verify(t, c.Key)
	if r.Code != keys.CodeExpired {
		t.Errorf("the refused roll changed the key: %s", r.Code)
	}
}

func TestListSearchSortPageExpiring(t *testing.T) {
	f := newFixture(t)
	names := []string{"Alpha", "bravo", "Charlie 100%", "delta_x", "echo"}
	exp := []string{"never", "30d", "7d", "90d", "60d"}
	ids := map[string]string{}
	for i, n := range names {
		ids[n] = f.create(t, n, exp[i]).ID
		f.clock.Advance(time.Second)
	}
	f.clock.Advance(24 * time.Hour)
	got := func(p keys.ListParams) ([]string, int) {
		t.Helper()
		p.OrgID = f.org
		var out []string
		total := -1
		for {
			page, err := f.svc.List(ctx, p)
			if err != nil {
				t.Fatalf("list %+v: %v", p, err)
			}
			if total >= 0 && page.Total != total {
				t.Errorf("total changed between pages")
			}
			total = page.Total
			for _, k := range page.Keys {
				out = append(out, k.Name)
			}
			if page.NextCursor == "" {
				return out, total
			}
			p.Cursor = page.NextCursor
		}
	}
	check := func(label string, p keys.ListParams, want ...string) {
		t.Helper()
		out, total := got(p)
		if !slices.Equal(out, want) || total != len(want) {
			t.Errorf("%s: %v (total %d), want %v", label, out, total, want)
		}
	}
	check("default newest first, pages of 2", keys.ListParams{Limit: 2}, "echo", "delta_x", "Charlie 100%", "bravo", "Alpha")
	check("name asc", keys.ListParams{Sort: keys.SortName, Asc: true, Limit: 2}, "Alpha", "bravo", "Charlie 100%", "delta_x", "echo")
	check("name desc", keys.ListParams{Sort: keys.SortName, Limit: 3}, "echo", "delta_x", "Charlie 100%", "bravo", "Alpha")
	check("expires asc, never last", keys.ListParams{Sort: keys.SortExpires, Asc: true, Limit: 1}, "Charlie 100%", "bravo", "echo", "delta_x", "Alpha")
	check("search case-insensitive", keys.ListParams{Search: "A"}, "delta_x", "Charlie 100%", "bravo", "Alpha")
	check("search % literally", keys.ListParams{Search: "0%"}, "Charlie 100%")
	check("search _ literally", keys.ListParams{Search: "a_"}, "delta_x")
	check("expiring within 7 days", keys.ListParams{ExpiringWithin: 7 * 24 * time.Hour}, "Charlie 100%")
	check("expiring within 30 days", keys.ListParams{ExpiringWithin: 30 * 24 * time.Hour, Sort: keys.SortExpires, Asc: true}, "Charlie 100%", "bravo")
	f.svc.Revoke(ctx, f.org, ids["Charlie 100%"], "")
	check("revoked is not expiring", keys.ListParams{ExpiringWithin: 7 * 24 * time.Hour})

	for _, p := range []keys.ListParams{{Sort: "size"}, {ExpiringWithin: -time.Hour}, {Cursor: "!!"}} {
		p.OrgID = f.org
		var inv *problem.Invalid
		if _, err := f.svc.List(ctx, p); !errors.As(err, &inv) {
			t.Errorf("list %+v: %v, want invalid", p, err)
		}
	}
	// A cursor belongs to its order.
	page, _ := f.svc.List(ctx, keys.ListParams{OrgID: f.org, Limit: 1})
	if _, err := f.svc.List(ctx, keys.ListParams{OrgID: f.org, Limit: 1, Sort: keys.SortName, Cursor: page.NextCursor}); !errors.Is(err, keys.ErrInvalidCursor) {
		t.Errorf("cursor of another order: %v", err)
	}
}

func quotaModes(t *testing.T, run func(t *testing.T, f fixture)) {
	for _, inStore := range []bool{false, true} {
		t.Run(fmt.Sprintf("inStore=%v", inStore), func(t *testing.T) {
			st := testutil.NewStore(t)
			c := testutil.NewClock()
			f := fixture{st: st, svc: keys.New(st, keys.WithClock(c), keys.WithQuotaInStore(inStore)), clock: c, org: testutil.DefaultOrg(t, st).ID}
			run(t, f)
		})
	}
}

func TestQuotaExactUnderConcurrency(t *testing.T) {
	quotaModes(t, func(t *testing.T, f fixture) {
		var exhausted atomic.Int32
		done := make(chan keys.Key, 1)
		f.svc.OnQuotaExhausted(func(k keys.Key) { exhausted.Add(1); done <- k })
		c, err := f.svc.Create(ctx, keys.CreateParams{OrgID: f.org, Name: "q", CreatedBy: "t", Quota: ptr(int64(100))})
		if err != nil {
			t.Fatal(err)
		}
		var allowed atomic.Int64
		seen := make([]atomic.Bool, 100)
		var wg sync.WaitGroup
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					r, err := f.svc.Verify(ctx, c.Key)
					if err != nil || !r.Valid {
						t.Errorf("verify: %v %v", r.Code, err)
						return
					}
					q, err := f.svc.TakeQuota(ctx, r.Key, f.clock.Now())
					if err != nil {
						t.Errorf("take: %v", err)
						return
					}
					if q.Allowed {
						allowed.Add(1)
						if seen[q.Remaining].Swap(true) {
							t.Errorf("remaining %d given out twice", q.Remaining)
						}
					}
				}
			}()
		}
		wg.Wait()
		if n := allowed.Load(); n != 100 {
			t.Errorf("%d requests allowed over 320 tries, want exactly 100", n)
		}
		select {
		case k := <-done:
			if k.ID != c.ID || *k.QuotaRemaining != 0 {
				t.Errorf("exhausted notice %+v", k)
			}
		case <-time.After(5 * time.Second):
			t.Error("no exhausted notice")
		}
		if err := f.svc.FlushUsage(ctx); err != nil {
			t.Fatal(err)
		}
		k, _ := f.svc.Get(ctx, f.org, c.ID)
		if *k.QuotaRemaining != 0 {
			t.Errorf("stored remaining %d, want 0", *k.QuotaRemaining)
		}
		if exhausted.Load() != 1 {
			t.Errorf("%d exhausted notices", exhausted.Load())
		}
		// A new process (restart) reads the written count.
		again := keys.New(f.st, keys.WithClock(f.clock))
		r, _ := again.Verify(ctx, c.Key)
		if q, _ := again.TakeQuota(ctx, r.Key, f.clock.Now()); q.Allowed || !q.Limited {
			t.Errorf("after restart: %+v", q)
		}
	})
}

func TestQuotaRefillAndEdit(t *testing.T) {
	quotaModes(t, func(t *testing.T, f fixture) {
		c, err := f.svc.Create(ctx, keys.CreateParams{OrgID: f.org, Name: "q", CreatedBy: "t",
			Quota: ptr(int64(2)), RefillAmount: 5, RefillInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		take := func() keys.QuotaTake {
			t.Helper()
			r := f.verify(t, c.Key)
			q, err := f.svc.TakeQuota(ctx, r.Key, f.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			return q
		}
		if q := take(); !q.Allowed || q.Remaining != 1 {
			t.Errorf("first take %+v", q)
		}
		take()
		if q := take(); q.Allowed {
			t.Errorf("over quota allowed: %+v", q)
		}
		f.clock.Advance(time.Hour)
		if q := take(); !q.Allowed || q.Remaining != 4 {
			t.Errorf("after refill %+v, want remaining 4 (reset to 5, not added)", q)
		}
		if k, _ := f.svc.Get(ctx, f.org, c.ID); *k.QuotaRemaining != 4 {
			t.Errorf("console sees %d, want 4 before any flush", *k.QuotaRemaining)
		}
		// An edit of the refill keeps the count in force; setting the quota replaces it.
		if k, err := f.svc.Update(ctx, f.org, c.ID, keys.UpdateParams{Refill: &keys.Refill{Amount: 50, Interval: 2 * time.Hour}}); err != nil || *k.QuotaRemaining != 4 || k.RefillAmount != 50 {
			t.Errorf("refill edit: %+v %v", k, err)
		}
		if q := take(); !q.Allowed || q.Remaining != 3 {
			t.Errorf("after refill edit %+v", q)
		}
		if _, err := f.svc.Update(ctx, f.org, c.ID, keys.UpdateParams{Quota: ptr(int64(1))}); err != nil {
			t.Fatal(err)
		}
		if q := take(); !q.Allowed || q.Remaining != 0 {
			t.Errorf("after quota edit %+v", q)
		}
		if q := take(); q.Allowed {
			t.Errorf("edited quota exceeded: %+v", q)
		}
		// An edit by another process (the CLI beside the server) wins over unflushed counts.
		other := keys.New(f.st, keys.WithClock(f.clock))
		if _, err := other.Update(ctx, f.org, c.ID, keys.UpdateParams{Quota: ptr(int64(10))}); err != nil {
			t.Fatal(err)
		}
		// This process learns of it through the change feed (Run follows it) and its next flush
		// does not overwrite the edit.
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		go f.svc.Run(runCtx)
		f.svc.FlushUsage(ctx)
		f.st.Changes().Publish("keys")
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := f.verify(t, c.Key)
			if *r.Key.QuotaRemaining == 10 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if q := take(); !q.Allowed || q.Remaining != 9 {
			t.Errorf("after another process's edit %+v, want remaining 9", q)
		}
		if k, err := f.svc.Update(ctx, f.org, c.ID, keys.UpdateParams{NoQuota: true}); err != nil || k.QuotaRemaining != nil {
			t.Fatalf("remove: %v", err)
		}
		if q := take(); q.Limited {
			t.Errorf("quota removed but still limited: %+v", q)
		}
	})
}

// TestQuotaExactAcrossNodes: three nodes on one PostgreSQL database, 64 concurrent clients
// spread over them, a quota of 100: exactly 100 requests pass, each remaining count once.
func TestQuotaExactAcrossNodes(t *testing.T) {
	nodes := startNodes(t, pgtest.URL(t), 3)
	org := testutil.DefaultOrg(t, nodes[0].st).ID
	c, err := nodes[0].svc.Create(ctx, keys.CreateParams{OrgID: org, Name: "shared", CreatedBy: "t", Quota: ptr(int64(100))})
	if err != nil {
		t.Fatal(err)
	}
	var allowed atomic.Int64
	seen := make([]atomic.Bool, 100)
	var wg sync.WaitGroup
	for i := range 64 {
		nd := nodes[i%len(nodes)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				r, err := nd.svc.Verify(ctx, c.Key)
				if err != nil || !r.Valid {
					t.Errorf("verify: %v %v", r.Code, err)
					return
				}
				q, err := nd.svc.TakeQuota(ctx, r.Key, time.Now())
				if err != nil {
					t.Errorf("take: %v", err)
					return
				}
				if q.Allowed {
					allowed.Add(1)
					if seen[q.Remaining].Swap(true) {
						t.Errorf("remaining %d given out twice", q.Remaining)
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != 100 {
		t.Errorf("%d requests allowed across 3 nodes, want exactly 100", n)
	}
}

// TestEditsReachEveryNode: an edit on node A (disable, scopes, allowlist, quota) is what node B
// answers within a second, though B had the key cached: the new columns bump the revision and
// notify like a revoke.
func TestEditsReachEveryNode(t *testing.T) {
	nodes := startNodes(t, pgtest.URL(t), 2)
	a, b := nodes[0], nodes[1]
	org := testutil.DefaultOrg(t, a.st).ID
	c, err := a.svc.Create(ctx, keys.CreateParams{OrgID: org, Name: "k", CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	verifyB := func() keys.Result {
		r, err := b.svc.Verify(ctx, c.Key)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	waitFor(t, time.Second, "B caches the key", func() bool {
		before, _ := b.svc.CacheStats()
		verifyB()
		after, _ := b.svc.CacheStats()
		return after > before
	})
	if _, err := a.svc.Update(ctx, org, c.ID, keys.UpdateParams{Scopes: &[]string{"orders:read"},
		AllowIPs: &[]string{"10.0.0.0/8"}, Quota: ptr(int64(5)), Metadata: &map[string]string{"plan": "pro"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "B sees the edit", func() bool {
		r := verifyB()
		return slices.Equal(r.Key.Scopes, []string{"orders:read"}) && r.Key.Metadata["plan"] == "pro" &&
			len(r.Key.AllowIPs) == 1 && r.Key.QuotaRemaining != nil && *r.Key.QuotaRemaining == 5
	})
	if _, _, err := a.svc.Disable(ctx, org, c.ID, "t"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "B refuses the disabled key", func() bool { return verifyB().Code == keys.CodeDisabled })
	if _, _, err := a.svc.Enable(ctx, org, c.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "B accepts the enabled key", func() bool { return verifyB().Valid })
	// The quota count itself, taken on every request, does not drop every node's cache.
	r := verifyB()
	hits, _ := b.svc.CacheStats()
	for range 5 {
		if _, err := a.svc.TakeQuota(ctx, r.Key, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	verifyB()
	if after, _ := b.svc.CacheStats(); after <= hits {
		t.Error("taking the quota on A dropped B's cache")
	}
}
