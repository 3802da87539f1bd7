package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/usage"
)

// TestUsageCommands: `usage show` and `usage top` print what GetUsage and GetUsageTop answer
// for rollups written by a gateway (here a recorder on the same data directory).
func TestUsageCommands(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, dir, "", "orgs", "list"); r.code != 0 {
		t.Fatalf("orgs list: %+v", r)
	}
	var orgs struct {
		Orgs []struct{ ID string } `json:"orgs"`
	}
	r := run(t, dir, "", "orgs", "list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &orgs); err != nil || len(orgs.Orgs) == 0 {
		t.Fatalf("orgs: %v %s", err, r.stdout)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := usage.NewRecorder(st, usage.Options{})
	at := time.Now().Add(-20 * time.Minute)
	for i := range 4 {
		rec.Record(usage.Sample{At: at, OrgID: orgs.Orgs[0].ID, KeyID: "key_1", Route: "/api", Status: 200 + 229*(i/3), Code: map[bool]string{true: "RATE_LIMITED"}[i == 3], LatencyUS: 2000})
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()

	r = run(t, dir, "", "usage", "show", "--from", "1h", "--bucket", "15m", "--json")
	var s usage.Series
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &s) != nil {
		t.Fatalf("usage show --json: %+v", r)
	}
	if s.Summary.Total != 4 || s.Summary.Rejected != 1 || s.Summary.RejectedByCode["RATE_LIMITED"] != 1 || s.Bucket != "15m" || len(s.Buckets) != 5 { // four and the minute under way
		t.Fatalf("series %+v, %d buckets", s.Summary, len(s.Buckets))
	}
	r = run(t, dir, "", "usage", "show", "--from", "1h", "--bucket", "15m")
	// 2 ms is shown as its histogram bucket's midpoint.
	if r.code != 0 || !strings.Contains(r.stdout, "TOTAL") || !strings.Contains(r.stdout, "2.016 ms") {
		t.Fatalf("usage show: %+v", r)
	}
	r = run(t, dir, "", "usage", "top", "--by", "route", "--from", "2h")
	if r.code != 0 || !strings.Contains(r.stdout, "/api") || !strings.Contains(r.stdout, "25.0 %") {
		t.Fatalf("usage top: %+v", r)
	}
	var top console.UsageTop
	r = run(t, dir, "", "usage", "top", "--by", "key", "--json")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &top) != nil || len(top.Items) != 1 || top.Items[0].KeyID != "key_1" {
		t.Fatalf("usage top --json: %+v", r)
	}
	for _, bad := range [][]string{
		{"usage", "show", "--bucket", "1s"},
		{"usage", "show", "--from", "last tuesday"},
		{"usage", "top"},
		{"usage", "top", "--by", "route", "--limit", "99"},
		{"usage"},
	} {
		if r := run(t, dir, "", bad...); r.code == 0 || r.stderr == "" {
			t.Errorf("%v: %+v, want a failure with a message", bad, r)
		}
	}

	r = run(t, dir, "", "gateway", "settings", "set", "--usage-retention-days", "30", "--json")
	var gs console.GatewaySettings
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &gs) != nil || gs.UsageRetentionDays != 30 {
		t.Fatalf("set usage retention: %+v", r)
	}
	if r := run(t, dir, "", "gateway", "settings", "set", "--usage-retention-days", "5000"); r.code == 0 {
		t.Fatalf("5000 days accepted: %+v", r)
	}
}
