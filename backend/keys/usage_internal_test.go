package keys

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/store"
)

// TestFlushWaitsForAFlushInProgress: while one flush holds the pending counts and waits for
// the writer, a second FlushUsage must not return early claiming everything is written.
func TestFlushWaitsForAFlushInProgress(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	o, _ := orgs.New(st, nil).EnsureDefault(ctx)
	svc := New(st)
	c, err := svc.Create(ctx, CreateParams{OrgID: o.ID, Name: "k", CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	svc.RecordUse(c.ID, time.Now())

	// Hold the only writer connection so the first flush blocks after taking the counts.
	conn, err := st.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- svc.FlushUsage(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if !svc.usage.pending() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first flush never took the counts")
		}
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	go func() { second <- svc.FlushUsage(ctx) }()
	select {
	case <-second:
		t.Fatal("a second flush returned while the first had not written the counts yet")
	case <-time.After(200 * time.Millisecond):
	}
	conn.Close()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if k, _ := svc.Get(ctx, "", c.ID); k.UsageCount != 1 {
		t.Fatalf("usage count %d, want 1", k.UsageCount)
	}
}

// TestLostFeedPausesCache: between Lost and Resync every verification reads the store.
func TestLostFeedPausesCache(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	o, err := orgs.New(st, nil).EnsureDefault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := New(st)
	k, err := s.Create(ctx, CreateParams{OrgID: o.ID, Name: "k", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	misses := func() uint64 { _, m := s.CacheStats(); return m }
	s.Verify(ctx, k.Key)
	before := misses()
	s.Verify(ctx, k.Key)
	if misses() != before {
		t.Fatal("not cached while the feed is up")
	}
	s.onChange(store.Change{Lost: true})
	for i := range 3 {
		s.Verify(ctx, k.Key)
		if misses() != before+uint64(i)+1 {
			t.Fatal("answered from the cache while the feed was lost")
		}
	}
	s.onChange(store.Change{Resync: true})
	s.Verify(ctx, k.Key)
	m := misses()
	s.Verify(ctx, k.Key)
	if misses() != m {
		t.Fatal("not caching again after Resync")
	}
}
