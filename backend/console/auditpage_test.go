package console_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/testutil"
)

// TestAuditPages: ListAudit pages newest first with before/nextBefore, so every entry is
// reachable past the first page — each exactly once, none skipped — with or without a filter;
// the last page says so with nextBefore 0.
func TestAuditPages(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Login(t, "admin@example.com") // records a login (an entry of no organization)
	ctx := context.Background()
	for i := range 250 {
		action := audit.KeyUpdate
		if i%5 == 0 {
			action = audit.KeyRevoke
		}
		if err := srv.Audit.Record(ctx, audit.Entry{Actor: audit.ActorCLI, OrgID: srv.Org.ID, Action: action, Target: fmt.Sprintf("key_%03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(query string) []audit.Entry {
		t.Helper()
		var all []audit.Entry
		before := int64(0)
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			var p console.AuditPage
			path := fmt.Sprintf("/api/v1/audit?org=%s&limit=100%s", srv.Org.ID, query)
			if before != 0 {
				path += fmt.Sprintf("&before=%d", before)
			}
			if code := c.Call("GET", path, nil, &p); code != 200 {
				t.Fatalf("%s: %d", path, code)
			}
			all = append(all, p.Entries...)
			if p.NextBefore == 0 {
				return all
			}
			if len(p.Entries) != 100 || p.NextBefore != p.Entries[len(p.Entries)-1].ID {
				t.Fatalf("%s: %d entries, nextBefore %d", path, len(p.Entries), p.NextBefore)
			}
			before = p.NextBefore
		}
	}
	check := func(es []audit.Entry, want int) {
		t.Helper()
		if len(es) != want {
			t.Fatalf("%d entries over the pages, want %d", len(es), want)
		}
		for i := 1; i < len(es); i++ {
			if es[i].ID >= es[i-1].ID {
				t.Fatalf("entry %d (id %d) is not older than the one before (id %d)", i, es[i].ID, es[i-1].ID)
			}
		}
	}
	all := walk("")
	check(all, 251) // the 250 and the sign-in
	if all[len(all)-1].Action != audit.Login || all[len(all)-2].Target != "key_000" {
		t.Errorf("the oldest entries: %+v %+v", all[len(all)-2], all[len(all)-1])
	}
	check(walk("&action="+audit.KeyRevoke), 50)
}
