package audit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/testutil"
)

func TestRecordAndList(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	l := audit.New(st, clk)
	ctx := context.Background()
	for _, e := range []audit.Entry{
		{Actor: "usr_1", OrgID: "org_a", Action: audit.KeyCreate, Target: "key_1", Detail: "\"ci\"\nforged line", ClientAddr: "127.0.0.1"},
		{Actor: "usr_1", Action: audit.Login, Target: "a@example.com"},
		{Actor: "usr_2", OrgID: "org_b", Action: audit.KeyRevoke, Target: "key_2", Detail: strings.Repeat("é", 2000)},
	} {
		clk.Advance(1)
		if err := l.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(ctx, audit.Entry{Action: audit.Login}); err == nil {
		t.Fatal("entry without actor recorded")
	}
	all, _ := l.List(ctx, audit.Filter{})
	if len(all) != 3 || all[0].Action != audit.KeyRevoke || all[2].Action != audit.KeyCreate {
		t.Fatalf("newest first: %+v", all)
	}
	if strings.ContainsAny(all[2].Detail, "\n\r") {
		t.Fatal("control characters kept: log injection")
	}
	if len(all[0].Detail) > 1024 || !strings.HasPrefix(all[0].Detail, "é") || strings.ContainsRune(all[0].Detail, '\uFFFD') {
		t.Fatal("detail not bounded on a character boundary")
	}
	a, _ := l.List(ctx, audit.Filter{OrgID: "org_a"})
	ag, _ := l.List(ctx, audit.Filter{OrgID: "org_a", Global: true})
	if len(a) != 1 || len(ag) != 2 {
		t.Fatalf("org filter %d, with global %d", len(a), len(ag))
	}
	page, _ := l.List(ctx, audit.Filter{Limit: 1, Before: all[0].ID})
	if len(page) != 1 || page[0].ID != all[1].ID {
		t.Fatalf("paging: %+v", page)
	}
	if _, err := l.List(ctx, audit.Filter{Limit: 501}); err == nil {
		t.Fatal("limit 501 accepted")
	}
}
