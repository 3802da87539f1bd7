package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// TestPersistWritesEveryRowInOrder: persist writes its batch in multi-row INSERTs of
// persistChunk rows; a batch of several full chunks and a remainder must arrive whole, every
// column in place, in the batch's order (ids grow with time), and the pruning to keep rows
// still applies — on SQLite and, when installed, PostgreSQL.
func TestPersistWritesEveryRowInOrder(t *testing.T) { onBothEngines(t, "persist", checkPersist) }

// onBothEngines runs check against a fresh SQLite store and, when PostgreSQL is installed, a
// fresh database of its own named db.
func onBothEngines(t *testing.T, db string, check func(*testing.T, *store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := store.OpenURL(context.Background(), t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		check(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		srv, err := pgtest.Start()
		if errors.Is(err, pgtest.ErrNotInstalled) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Stop()
		if err := srv.CreateDatabase(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		st, err := store.OpenURL(context.Background(), t.TempDir(), srv.DatabaseURL(db))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		check(t, st)
	})
}

func checkPersist(t *testing.T, st *store.Store) {
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	batch := func(from, n int) []Entry {
		b := make([]Entry, n)
		for i := range b {
			k := from + i
			b[i] = Entry{Time: t0.Add(time.Duration(k) * time.Millisecond), RequestID: fmt.Sprintf("r%04d", k), Method: "GET",
				Path: fmt.Sprintf("/p/%d", k), Status: 200 + k%300, LatencyUS: int64(k), KeyID: "key_1", KeyName: "k",
				UserID: "", OrgID: "org_1", Route: "/p", ErrorCode: "", ClientAddr: "127.0.0.1",
				raw: http.Header{"Accept": {"text/plain"}}}
		}
		return b
	}
	n := 2*persistChunk + 7
	if err := persist(ctx, st, batch(0, n), 100_000, logMask{}); err != nil {
		t.Fatal(err)
	}
	rows, err := st.Read.QueryContext(ctx, `SELECT id, at, request_id, path, status, latency_us, org_id, headers FROM request_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	k, last := 0, int64(0)
	for rows.Next() {
		var id, at, lat int64
		var rid, path, org, headers string
		var status int
		if err := rows.Scan(&id, &at, &rid, &path, &status, &lat, &org, &headers); err != nil {
			t.Fatal(err)
		}
		if id <= last || at != t0.UnixMilli()+int64(k) || rid != fmt.Sprintf("r%04d", k) || path != fmt.Sprintf("/p/%d", k) ||
			status != 200+k%300 || lat != int64(k) || org != "org_1" || headers != `{"Accept":["text/plain"]}` {
			t.Fatalf("row %d: id %d (after %d) at %d %s %s %d %d %s %s", k, id, last, at, rid, path, status, lat, org, headers)
		}
		last = id
		k++
	}
	rows.Close()
	if k != n {
		t.Fatalf("%d rows stored, want %d", k, n)
	}
	// Pruning to keep rows: the newest keep survive.
	if err := persist(ctx, st, batch(n, 3), 10, logMask{}); err != nil {
		t.Fatal(err)
	}
	var count int
	var oldest string
	if err := st.Read.QueryRowContext(ctx, `SELECT count(*), min(request_id) FROM request_log`).Scan(&count, &oldest); err != nil {
		t.Fatal(err)
	}
	if count != 10 || oldest != fmt.Sprintf("r%04d", n+3-10) {
		t.Fatalf("after pruning to 10: %d rows, oldest %s", count, oldest)
	}

	// The tail a follower reads: ids in (after, upTo], oldest first, filters applied, the
	// limit respected; and the time range (From inclusive, To exclusive) on both reads.
	top, err := LastRequestID(ctx, st)
	if err != nil || top != last+3 {
		t.Fatalf("last id %d (%v), want %d", top, err, last+3)
	}
	tail, err := RequestsBetween(ctx, st, Filter{}, top-5, top-1, nil)
	if err != nil || len(tail) != 4 || tail[0].ID != top-4 || tail[3].ID != top-1 {
		t.Fatalf("between: %v %+v", err, tail)
	}
	if tail, _ = RequestsBetween(ctx, st, Filter{Limit: 2}, top-5, top, nil); len(tail) != 2 || tail[0].ID != top-4 {
		t.Fatalf("between, limit 2: %+v", tail)
	}
	status := fmt.Sprint(200 + (n+1)%300)
	if tail, _ = RequestsBetween(ctx, st, Filter{Status: status}, 0, top, nil); len(tail) != 1 || tail[0].RequestID != fmt.Sprintf("r%04d", n+1) {
		t.Fatalf("between, status %s: %+v", status, tail)
	}
	at := func(k int) time.Time { return t0.Add(time.Duration(k) * time.Millisecond) }
	ranged, err := QueryRequests(ctx, st, Filter{From: at(n + 1), To: at(n + 2)}, nil)
	if err != nil || len(ranged) != 1 || ranged[0].RequestID != fmt.Sprintf("r%04d", n+1) {
		t.Fatalf("from..to: %v %+v", err, ranged)
	}
	if ranged, _ = QueryRequests(ctx, st, Filter{From: at(n + 1)}, nil); len(ranged) != 2 || ranged[0].RequestID != fmt.Sprintf("r%04d", n+2) {
		t.Fatalf("from only: %+v", ranged)
	}
	if ranged, _ = QueryRequests(ctx, st, Filter{To: at(n - 7)}, nil); len(ranged) != 0 {
		t.Fatalf("before every kept row: %+v", ranged)
	}
}

// TestRingTimeRange: the in-memory log applies From and To as the store does.
func TestRingTimeRange(t *testing.T) {
	l := newRequestLog(8, 1)
	t0 := time.UnixMilli(1_700_000_000_000)
	for i := range 5 {
		l.add(0, &Entry{Time: t0.Add(time.Duration(i) * time.Second), Path: fmt.Sprint(i)})
	}
	got := l.recent(context.Background(), Filter{From: t0.Add(time.Second), To: t0.Add(3 * time.Second)}, logMask{})
	if len(got) != 2 || got[0].Path != "2" || got[1].Path != "1" {
		t.Fatalf("%+v", got)
	}
	if err := (Filter{From: t0, To: t0}).Check(); !errors.Is(err, ErrInvalidTimeRange) {
		t.Fatalf("empty range: %v", err)
	}
}

// TestRequestLogRingsMerge: entries kept in several rings (one per event loop) read as one log:
// newest first for the console, oldest first for persisting, each ring's order kept, the
// budget taking the newest, and what was overwritten or over the budget counted as skipped.
func TestRequestLogRingsMerge(t *testing.T) {
	l := newRequestLog(4, 3)
	t0 := time.UnixMilli(1_700_000_000_000)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// Ring 1 gets the even seconds, ring 2 the odd ones; ring 0 nothing.
	for s := range 6 {
		l.add(1+s%2, &Entry{Time: at(s), Path: fmt.Sprint(s)})
	}
	paths := func(es []Entry) (p string) {
		for _, e := range es {
			p += e.Path
		}
		return p
	}
	// The rings hold 6 (3 each), the console reads the newest 4 (the size).
	if got := paths(l.recent(context.Background(), Filter{}, logMask{})); got != "5432" {
		t.Fatalf("recent: %s, want 5432", got)
	}
	if got := paths(l.recent(context.Background(), Filter{Limit: 3}, logMask{})); got != "543" {
		t.Fatalf("recent, 3: %s", got)
	}
	if got := paths(l.recent(context.Background(), Filter{From: at(1), To: at(4)}, logMask{})); got != "321" {
		t.Fatalf("recent, 1 s to 4 s: %s", got)
	}
	batch, skipped := l.unpersisted(4)
	if got := paths(batch); got != "2345" || skipped != 2 || l.skipped.Load() != 2 {
		t.Fatalf("unpersisted(4): %s, %d skipped (%d in all), want 2345 and 2", got, skipped, l.skipped.Load())
	}
	if batch, skipped = l.unpersisted(4); len(batch) != 0 || skipped != 0 {
		t.Fatalf("again: %d entries, %d skipped", len(batch), skipped)
	}
	// A ring that wraps before a persist: its overwritten entries are skipped; equal times keep
	// the rings' order.
	for i := range 6 {
		l.add(1, &Entry{Time: at(10 + i), Path: fmt.Sprint(i)})
	}
	l.add(2, &Entry{Time: at(15), Path: "x"})
	batch, skipped = l.unpersisted(100)
	if got := paths(batch); got != "2345x" || skipped != 2 {
		t.Fatalf("after a wrap: %s, %d skipped, want 2345x and 2", got, skipped)
	}
	if got := paths(l.recent(context.Background(), Filter{Limit: 2}, logMask{})); got != "5x" {
		t.Fatalf("tie: %s, want 5x (ring 1 before ring 2)", got)
	}
}
