package console_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/usage"
)

// TestGetUsage: each caller sees their organization's traffic only; the requests no
// organization can be told from are for the instance organization's admins; bad ranges are
// 400 naming the field.
func TestGetUsage(t *testing.T) {
	srv := testutil.NewServer(t)
	ctx := context.Background()
	other, err := srv.Orgs.Create(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	now := srv.Clock.Now()
	rec := usage.NewRecorder(srv.Store, usage.Options{})
	for i := range 6 {
		rec.Record(usage.Sample{At: now.Add(-10 * time.Minute), OrgID: srv.Org.ID, KeyID: "key_a", Route: "/api", Status: 200, LatencyUS: int64(1000 * (i + 1))})
	}
	rec.Record(usage.Sample{At: now.Add(-5 * time.Minute), OrgID: srv.Org.ID, KeyID: "key_a", Route: "/api", Status: 500, LatencyUS: 9000})
	rec.Record(usage.Sample{At: now.Add(-5 * time.Minute), OrgID: other.ID, KeyID: "key_b", Route: "/api", Status: 200, LatencyUS: 100})
	rec.Record(usage.Sample{At: now.Add(-2 * time.Minute), Route: "/api", Status: 401, Code: "MISSING_CREDENTIAL", LatencyUS: 50})
	rec.Record(usage.Sample{At: now.Add(-2 * time.Hour), OrgID: srv.Org.ID, KeyID: "key_a", Route: "/api", Status: 200, LatencyUS: 50})
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	srv.AddUser(t, "member@example.com", auth.RoleMember, srv.Org.ID)
	srv.AddUser(t, "b@example.com", auth.RoleAdmin, other.ID)

	get := func(who, query string) usage.Series {
		t.Helper()
		var out usage.Series
		if code := srv.Login(t, who).Call("GET", "/api/v1/usage?"+query, nil, &out); code != 200 {
			t.Fatalf("%s %s: %d", who, query, code)
		}
		return out
	}
	s := get("admin@example.com", "bucket=5m")
	if s.Summary.Total != 8 || s.Summary.Rejected != 1 || s.Summary.ServerErrors != 1 || s.Bucket != "5m" || len(s.Buckets) != 12 {
		t.Fatalf("instance admin, last hour: %+v, %d buckets", s.Summary, len(s.Buckets))
	}
	if s.Summary.RejectedByCode["MISSING_CREDENTIAL"] != 1 {
		t.Fatalf("refusals by code %v", s.Summary.RejectedByCode)
	}
	if got := get("member@example.com", ""); got.Summary.Total != 7 || got.Summary.Rejected != 0 {
		t.Fatalf("member: %+v (the anonymous refusal is the admins')", got.Summary)
	}
	if got := get("b@example.com", "org="+other.ID); got.Summary.Total != 1 {
		t.Fatalf("other organization: %+v", got.Summary)
	}
	if got := get("admin@example.com", "keyId=key_a&from="+url.QueryEscape(now.Add(-3*time.Hour).Format(time.RFC3339))); got.Summary.Total != 8 || got.Bucket != "5m" {
		t.Fatalf("one key over three hours: %+v %s", got.Summary, got.Bucket)
	}
	if p95 := get("admin@example.com", "keyId=key_a").Summary.P95Ms; p95 == nil || *p95 < 8.5 || *p95 > 9.5 {
		t.Fatalf("p95 %v, want about 9 ms", p95)
	}
	// A member of another organization cannot read this one's.
	if p := srv.Login(t, "b@example.com").Problem("GET", "/api/v1/usage?org="+srv.Org.ID, nil); p.Status != 403 {
		t.Fatalf("other organization's usage: %+v", p)
	}
	for query, field := range map[string]string{
		"from=yesterday": "from",
		"to=2026-13-01":  "to",
		"bucket=1s":      "bucket",
		"bucket=5x":      "bucket",
		"from=" + url.QueryEscape(now.Add(-48*time.Hour).Format(time.RFC3339)) + "&bucket=1m": "bucket",
		"from=" + url.QueryEscape(now.Add(time.Hour).Format(time.RFC3339)):                    "to",
	} {
		p := srv.Login(t, "admin@example.com").Problem("GET", "/api/v1/usage?"+query, nil)
		if p.Status != 400 || p.Code != "VALIDATION" || len(p.Fields) != 1 || p.Fields[0].Field != field || p.Fields[0].Detail == "" {
			t.Errorf("%s: %+v, want 400 on %s", query, p, field)
		}
	}

	var top console.UsageTop
	if code := srv.Login(t, "admin@example.com").Call("GET", "/api/v1/usage/top?by=key", nil, &top); code != 200 ||
		len(top.Items) != 2 || top.Items[0].KeyID != "key_a" || top.Items[0].Total != 7 || top.Items[1].KeyID != "" {
		t.Fatalf("top keys: %d %+v", code, top.Items)
	}
	for query, field := range map[string]string{"by=org": "by", "": "by", "by=route&limit=51": "limit"} {
		p := srv.Login(t, "admin@example.com").Problem("GET", "/api/v1/usage/top?"+query, nil)
		if p.Status != 400 || len(p.Fields) != 1 || p.Fields[0].Field != field {
			t.Errorf("top %q: %+v, want 400 on %s", query, p, field)
		}
	}
}

// TestUsageRetentionSetting: the gateway settings carry the usage retention; out of range is
// 400 and changes nothing.
func TestUsageRetentionSetting(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Login(t, "admin@example.com")
	var s console.GatewaySettings
	if code := c.Call("GET", "/api/v1/gateway/settings", nil, &s); code != 200 || s.UsageRetentionDays != 90 {
		t.Fatalf("default: %d %+v", code, s)
	}
	s.UsageRetentionDays = 4000
	if p := c.Problem("PUT", "/api/v1/gateway/settings", s); p.Status != 400 || len(p.Fields) != 1 || p.Fields[0].Field != "usageRetentionDays" {
		t.Fatalf("4000 days: %+v", p)
	}
	s.UsageRetentionDays = 30
	if code := c.Call("PUT", "/api/v1/gateway/settings", s, &s); code != 200 || s.UsageRetentionDays != 30 {
		t.Fatalf("30 days: %d %+v", code, s)
	}
	if d, _ := usage.LoadRetention(context.Background(), srv.Store); d != 30 {
		t.Fatalf("stored %d", d)
	}
	s.UsageRetentionDays = 0 // keeps the stored value
	if code := c.Call("PUT", "/api/v1/gateway/settings", s, &s); code != 200 || s.UsageRetentionDays != 30 {
		t.Fatalf("0 keeps: %d %+v", code, s)
	}
}
