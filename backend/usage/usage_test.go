package usage_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/usage"
)

// exactQuantile is the ⌈q·n⌉-th smallest of vs (sorted), in milliseconds.
func exactQuantile(vs []int64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(vs)))) - 1
	return float64(vs[max(i, 0)]) / 1000
}

func TestHistogramQuantileWithinBucketError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, scale := range []float64{50, 3_000, 250_000, 40_000_000} {
		var h usage.Histogram
		vs := make([]int64, 5000)
		for i := range vs {
			vs[i] = int64(rng.ExpFloat64() * scale)
			h.Add(vs[i])
		}
		sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
		for _, q := range []float64{0.5, 0.95, 0.99, 1} {
			got, ok := h.Quantile(q)
			want := exactQuantile(vs, q)
			if !ok || math.Abs(got-want) > want*0.035+0.001 {
				t.Errorf("scale %v q %v: got %v ms, exact %v ms", scale, q, got, want)
			}
		}
	}
	var empty usage.Histogram
	if _, ok := empty.Quantile(0.5); ok {
		t.Error("an empty histogram has a quantile")
	}
}

// TestHistogramMergeIsExact: quantiles of merged minutes equal those of one histogram of all
// their latencies — what makes an hour's p95 right.
func TestHistogramMergeIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var whole, merged usage.Histogram
	for range 60 {
		var minute usage.Histogram
		for range rng.IntN(200) {
			v := int64(rng.NormFloat64()*20_000 + 80_000)
			minute.Add(v)
			whole.Add(v)
		}
		var back usage.Histogram
		if err := back.DecodeInto(minute.Encode()); err != nil {
			t.Fatal(err)
		}
		if back != minute {
			t.Fatal("encode/decode changed the histogram")
		}
		merged.Merge(&back)
	}
	if merged != whole {
		t.Fatal("merged minutes differ from the whole")
	}
	for _, q := range []float64{0.5, 0.95} {
		a, _ := merged.Quantile(q)
		b, _ := whole.Quantile(q)
		if a != b {
			t.Fatalf("q %v: %v vs %v", q, a, b)
		}
	}
	var h usage.Histogram
	for _, bad := range []string{"x", "1", "1:x", "-1:2", "99999:1", "3:1:2"} {
		if err := h.DecodeInto(bad); err == nil {
			t.Errorf("DecodeInto(%q) accepted", bad)
		}
	}
}

func TestParseRange(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 34, 56, 0, time.UTC)
	r, err := usage.ParseRange("", "", "", now)
	if err != nil || !r.From.Equal(time.Date(2026, 11, 30, 11, 34, 0, 0, time.UTC)) || !r.To.Equal(now) || r.Bucket != time.Minute {
		t.Fatalf("defaults: %+v %v", r, err)
	}
	r, err = usage.ParseRange("2026-11-23T00:00:00+01:00", "2026-11-30T00:00:00Z", "", now)
	if err != nil || r.Bucket != 3*time.Hour || r.From.Location() != time.UTC {
		t.Fatalf("a week: %+v %v", r, err)
	}
	if r, err = usage.ParseRange("", "", "1d", now); err != nil || usage.FormatBucket(r.Bucket) != "1d" {
		t.Fatalf("1d: %+v %v", r, err)
	}
	for _, c := range []struct {
		from, to, bucket string
		want             error
	}{
		{"yesterday", "", "", usage.ErrInvalidFrom},
		{"", "2026-11-30", "", usage.ErrInvalidTo},
		{"2026-11-30T13:00:00Z", "2026-11-30T12:00:00Z", "", usage.ErrRangeOrder},
		{"2026-11-30T12:00:00Z", "2026-11-30T12:00:00Z", "", usage.ErrRangeOrder},
		{"2000-01-01T00:00:00Z", "", "1d", usage.ErrRangeOrder},
		{"", "", "1s", usage.ErrInvalidBucket},
		{"", "", "0m", usage.ErrInvalidBucket},
		{"", "", "-5m", usage.ErrInvalidBucket},
		{"", "", "+5m", usage.ErrInvalidBucket},
		{"", "", "5", usage.ErrInvalidBucket},
		{"", "", "32d", usage.ErrInvalidBucket},
		{"", "", "1.5h", usage.ErrInvalidBucket},
		{"2026-11-01T00:00:00Z", "", "1m", usage.ErrTooManyBuckets},
	} {
		_, err := usage.ParseRange(c.from, c.to, c.bucket, now)
		if !errors.Is(err, c.want) || problem.Invalids(err) == nil {
			t.Errorf("%q %q %q: %v, want %v", c.from, c.to, c.bucket, err, c.want)
		}
	}
}

// TestRecorderNodesAddUp: two recorders (two nodes) write the same minute's row; counts add and
// the latency histogram merges exactly, whatever order they flush in.
func TestRecorderNodesAddUp(t *testing.T) {
	st := testutil.NewStore(t)
	ctx := context.Background()
	at := testutil.Epoch.Add(30 * time.Second)
	a := usage.NewRecorder(st, usage.Options{})
	b := usage.NewRecorder(st, usage.Options{})
	var whole usage.Histogram
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := a
			if w%2 == 1 {
				rec = b
			}
			for i := range 500 {
				lat := int64(1000 + (w*500+i)*37%90_000)
				// Shard: one cell counted under several locks (as by event loops) adds up too.
				s := usage.Sample{At: at, OrgID: "org", KeyID: "k1", Route: "/", Status: 200, LatencyUS: lat, Shard: w % 3}
				switch i % 10 {
				case 0:
					s.Status, s.Code = 429, "RATE_LIMITED"
				case 1:
					s.Status = 503
				case 2:
					s.Status, s.Code = 499, "CLIENT_CLOSED"
				}
				rec.Record(s)
				mu.Lock()
				whole.Add(lat)
				mu.Unlock()
			}
			if w == 3 {
				if err := b.Flush(ctx); err != nil { // a flush while the others record
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for _, rec := range []*usage.Recorder{a, b, a} {
		if err := rec.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r, err := usage.ParseRange(testutil.Epoch.Format(time.RFC3339), testutil.Epoch.Add(time.Minute).Format(time.RFC3339), "1m", testutil.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	s, err := usage.Query(ctx, st, usage.Filter{OrgID: "org"}, r)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Summary
	if got.Total != 4000 || got.Rejected != 400 || got.ClientErrors != 800 || got.ServerErrors != 400 || got.OK != 2800 ||
		got.RejectedByCode["RATE_LIMITED"] != 400 || len(got.RejectedByCode) != 1 {
		t.Fatalf("summary %+v", got)
	}
	p95, _ := whole.Quantile(0.95)
	p50, _ := whole.Quantile(0.5)
	if *got.P95Ms != p95 || *got.P50Ms != p50 {
		t.Fatalf("quantiles %v/%v, want %v/%v", *got.P50Ms, *got.P95Ms, p50, p95)
	}
	var rows int
	if err := st.Read.QueryRow(`SELECT count(*) FROM usage_minutes`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d rows (%v), want one per minute, organization, key and route", rows, err)
	}
	// Another organization sees none of it; a filter by another key neither.
	for _, f := range []usage.Filter{{OrgID: "other"}, {OrgID: "org", KeyID: "k2"}, {OrgID: "org", Route: "/x"}} {
		s, err := usage.Query(ctx, st, f, r)
		if err != nil || s.Summary.Total != 0 || s.Summary.P50Ms != nil {
			t.Fatalf("%+v: %+v %v", f, s.Summary, err)
		}
	}
}

// TestRecorderKeepsCountsWhenTheStoreFails: a failed write loses nothing; the next one saves it.
func TestRecorderKeepsCountsWhenTheStoreFails(t *testing.T) {
	st := testutil.NewStore(t)
	ctx := context.Background()
	rec := usage.NewRecorder(st, usage.Options{})
	rec.Record(usage.Sample{At: testutil.Epoch, OrgID: "org", KeyID: "k", Route: "/", Status: 200, LatencyUS: 900})
	if _, err := st.Write.Exec(`ALTER TABLE usage_minutes RENAME TO usage_minutes_away`); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(ctx); err == nil {
		t.Fatal("flush into a missing table succeeded")
	}
	rec.Record(usage.Sample{At: testutil.Epoch, OrgID: "org", KeyID: "k", Route: "/", Status: 404, LatencyUS: 900})
	if _, err := st.Write.Exec(`ALTER TABLE usage_minutes_away RENAME TO usage_minutes`); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r, _ := usage.ParseRange(testutil.Epoch.Format(time.RFC3339), testutil.Epoch.Add(time.Minute).Format(time.RFC3339), "", testutil.Epoch)
	s, err := usage.Query(ctx, st, usage.Filter{}, r)
	if err != nil || s.Summary.Total != 2 || s.Summary.OK != 1 || s.Summary.ClientErrors != 1 || s.Summary.Rejected != 0 {
		t.Fatalf("%+v %v", s.Summary, err)
	}
}

func TestRetentionAndPrune(t *testing.T) {
	st := testutil.NewStore(t)
	ctx := context.Background()
	if d, err := usage.LoadRetention(ctx, st); err != nil || d != 90 {
		t.Fatalf("default retention %d %v", d, err)
	}
	for _, bad := range []int{0, -1, 3651} {
		if err := usage.SaveRetention(ctx, st, bad); !errors.Is(err, usage.ErrInvalidRetention) {
			t.Fatalf("SaveRetention(%d): %v", bad, err)
		}
	}
	if err := usage.SaveRetention(ctx, st, 2); err != nil {
		t.Fatal(err)
	}
	rec := usage.NewRecorder(st, usage.Options{})
	now := testutil.Epoch
	for _, age := range []time.Duration{0, 47 * time.Hour, 49 * time.Hour, 100 * 24 * time.Hour} {
		rec.Record(usage.Sample{At: now.Add(-age), KeyID: "k", Status: 200, LatencyUS: 10})
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := usage.Prune(ctx, st, now); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := st.Read.QueryRow(`SELECT count(*) FROM usage_minutes`).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("%d rows after pruning to 2 days (%v), want 2", rows, err)
	}
}

func TestTopRefusesUnknownGrouping(t *testing.T) {
	st := testutil.NewStore(t)
	r, _ := usage.ParseRange("", "", "", testutil.Epoch)
	if _, err := usage.Top(context.Background(), st, usage.Filter{}, r, "org_id", 5); !errors.Is(err, usage.ErrInvalidBy) {
		t.Fatalf("by org_id: %v", err)
	}
}

// BenchmarkRecord is the request path's cost of usage: one sample into the minute's cell.
func BenchmarkRecord(b *testing.B) {
	rec := usage.NewRecorder(testutil.NewStore(b), usage.Options{})
	s := usage.Sample{At: time.Now(), OrgID: "org_1", KeyID: "key_abcdefgh", Route: "/api", Status: 200, LatencyUS: 1234}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec.Record(s)
		}
	})
}
