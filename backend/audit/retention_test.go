package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/testutil"
)

func TestRetention(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	r, err := audit.LoadRetention(ctx, st)
	if err != nil || r != audit.DefaultRetention || r.Days != 90 || r.Rows != 100_000 {
		t.Fatalf("default retention %+v %v", r, err)
	}
	for _, bad := range []audit.Retention{{0, 5000}, {3651, 5000}, {30, 999}, {30, 10_000_001}} {
		if err := audit.SaveRetention(ctx, st, bad); err == nil {
			t.Errorf("SaveRetention(%+v) accepted", bad)
		}
	}
	if err := audit.SaveRetention(ctx, st, audit.Retention{Days: 10, Rows: 1000}); err != nil {
		t.Fatal(err)
	}
	log := audit.New(st, clk)
	// 300 entries 20 days ago, then 1,500 now: the old ones go by age, the oldest new ones by
	// count.
	for i := 0; i < 300; i++ {
		log.Record(ctx, audit.Entry{Actor: "cli", Action: audit.LoginFail, Target: "old"})
	}
	clk.Advance(20 * 24 * time.Hour)
	for i := 0; i < 1500; i++ {
		if err := log.Record(ctx, audit.Entry{Actor: "cli", Action: audit.LoginFail, Target: "new"}); err != nil {
			t.Fatal(err)
		}
	}
	var total, old int
	st.Read.QueryRow(`SELECT count(*), coalesce(sum(CASE WHEN target = 'old' THEN 1 ELSE 0 END), 0) FROM audit_log`).Scan(&total, &old)
	if old != 0 || total > 1000+200 {
		t.Fatalf("%d rows kept (%d old), want at most 1,200 and no old one", total, old)
	}
	if err := audit.Prune(ctx, st, "audit_log", audit.Retention{Days: 10, Rows: 1000}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	st.Read.QueryRow(`SELECT count(*) FROM audit_log`).Scan(&total)
	if total != 1000 {
		t.Fatalf("%d rows after a prune, want 1,000", total)
	}
	if err := audit.Prune(ctx, st, "users", audit.DefaultRetention, clk.Now()); err == nil || errors.Is(err, context.Canceled) {
		t.Fatal("Prune accepted a table that is not a log")
	}
}
