package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/usage"
)

// TestUsageRollups sends traffic through the gateway over sockets and reads it back from the
// usage rollups: answers by class, refusals by code, per key and per route, and the request log
// being capped does not touch them.
func TestUsageRollups(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.RequestLogKeep = 1 })
	f := false
	e.addRoute(routes.Params{Prefix: "/open", Upstream: e.up.URL, AuthRequired: &f})
	ctx := context.Background()
	for range 5 {
		if res := e.do("GET", "/pets", map[string]string{"x-api-key": e.key.Key}, nil); res.StatusCode != 200 {
			t.Fatalf("valid key: %d", res.StatusCode)
		}
	}
	for range 3 {
		if res := e.do("GET", "/pets", nil, nil); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("missing key: %d", res.StatusCode)
		}
	}
	if res := e.do("GET", "/open/x", nil, nil); res.StatusCode != 200 {
		t.Fatalf("open route: %d", res.StatusCode)
	}
	if err := e.usage.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := usage.ParseRange(testutil.Epoch.Add(-time.Hour).Format(time.RFC3339), testutil.Epoch.Add(time.Hour).Format(time.RFC3339), "1h", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	all, err := usage.Query(ctx, e.st, usage.Filter{}, r)
	if err != nil {
		t.Fatal(err)
	}
	s := all.Summary
	if s.Total != 9 || s.OK != 6 || s.ClientErrors != 3 || s.Rejected != 3 || s.ServerErrors != 0 ||
		s.RejectedByCode["MISSING_CREDENTIAL"] != 3 {
		t.Fatalf("summary %+v", s)
	}
	if len(all.Buckets) != 2 || all.Buckets[1].Total != 9 || all.Buckets[0].Total != 0 {
		t.Fatalf("buckets %+v", all.Buckets)
	}
	if s.P50Ms == nil || s.P95Ms == nil || *s.P95Ms < *s.P50Ms || *s.P50Ms <= 0 {
		t.Fatalf("latency quantiles %v %v", s.P50Ms, s.P95Ms)
	}
	byKey, err := usage.Query(ctx, e.st, usage.Filter{OrgID: e.org.ID, KeyID: e.key.ID}, r)
	if err != nil {
		t.Fatal(err)
	}
	if byKey.Summary.Total != 5 || byKey.Summary.OK != 5 {
		t.Fatalf("by key %+v", byKey.Summary)
	}
	byRoute, err := usage.Query(ctx, e.st, usage.Filter{Route: "/open"}, r)
	if err != nil {
		t.Fatal(err)
	}
	if byRoute.Summary.Total != 1 {
		t.Fatalf("by route %+v", byRoute.Summary)
	}
	top, err := usage.Top(ctx, e.st, usage.Filter{}, r, "route", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[0].Route != "/" || top[0].Total != 8 || top[1].Route != "/open" {
		t.Fatalf("top routes %+v", top)
	}
	keysTop, err := usage.Top(ctx, e.st, usage.Filter{OrgID: e.org.ID}, r, "key", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(keysTop) != 1 || keysTop[0].KeyID != e.key.ID || keysTop[0].KeyName != "test key" || keysTop[0].Total != 5 {
		t.Fatalf("top keys of the organization %+v", keysTop)
	}
	// The request log is persisted once a second and capped at one row; the rollups keep all
	// nine requests.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var logged int
		if err := e.st.Read.QueryRow(`SELECT count(*) FROM request_log`).Scan(&logged); err != nil {
			t.Fatal(err)
		}
		if logged == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("request log holds %d rows, want its cap of 1", logged)
		}
		time.Sleep(50 * time.Millisecond)
	}
	again, err := usage.Query(ctx, e.st, usage.Filter{}, r)
	if err != nil || again.Summary.Total != 9 {
		t.Fatalf("after the log's cap: %+v, %v", again.Summary, err)
	}
}
