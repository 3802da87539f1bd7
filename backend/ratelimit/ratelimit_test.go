package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/ratelimit"
)

var ctx = context.Background()

func TestMemorySteadyRateAndBurst(t *testing.T) {
	l := ratelimit.NewMemory(100)
	r := ratelimit.Rate{Limit: 10, Window: time.Second}
	now := time.Unix(1000, 0)
	for i := range 10 {
		if d, _ := l.Take(ctx, "k", r, now); !d.Allowed || d.Remaining != 9-i {
			t.Fatalf("burst event %d: %+v", i, d)
		}
	}
	d, _ := l.Take(ctx, "k", r, now)
	if d.Allowed || d.RetryAfter != 100*time.Millisecond {
		t.Fatalf("11th event: %+v, want refused for 100ms", d)
	}
	// Steady traffic at exactly the limit is never refused, and a refusal spent nothing.
	for i := range 50 {
		now = now.Add(100 * time.Millisecond)
		if d, _ := l.Take(ctx, "k", r, now); !d.Allowed {
			t.Fatalf("steady event %d refused", i)
		}
	}
	if p, _ := l.Peek(ctx, "k", r, now); p.Allowed {
		t.Fatal("Peek allows what Take would refuse")
	}
	if d, _ := l.Take(ctx, "other", r, now); !d.Allowed {
		t.Fatal("keys are not independent")
	}
}

func TestMemoryRelease(t *testing.T) {
	l := ratelimit.NewMemory(100)
	r := ratelimit.Rate{Limit: 2, Window: time.Minute}
	now := time.Unix(1000, 0)
	l.Take(ctx, "k", r, now)
	l.Take(ctx, "k", r, now)
	if d, _ := l.Take(ctx, "k", r, now); d.Allowed {
		t.Fatal("third of two allowed")
	}
	l.Release(ctx, "k", r, now)
	if d, _ := l.Take(ctx, "k", r, now); !d.Allowed {
		t.Fatal("a released event was not given back")
	}
	// Releasing more than was taken never makes more than the burst available.
	for range 5 {
		l.Release(ctx, "k", r, now)
	}
	n := 0
	for range 5 {
		if d, _ := l.Take(ctx, "k", r, now); d.Allowed {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d allowed after over-release, want the burst of 2", n)
	}
}

func TestReserveAllOrNone(t *testing.T) {
	l := ratelimit.NewMemory(100)
	now := time.Unix(1000, 0)
	small := ratelimit.Rate{Limit: 1, Window: time.Minute}
	big := ratelimit.Rate{Limit: 100, Window: time.Minute}
	d, release, err := ratelimit.Reserve(ctx, l, now, ratelimit.Reservation{Key: "big", Rate: big}, ratelimit.Reservation{Key: "small", Rate: small})
	if err != nil || !d.Allowed {
		t.Fatalf("first reservation: %+v %v", d, err)
	}
	d, _, _ = ratelimit.Reserve(ctx, l, now, ratelimit.Reservation{Key: "big", Rate: big}, ratelimit.Reservation{Key: "small", Rate: small})
	if d.Allowed || d.RetryAfter <= 0 {
		t.Fatalf("second reservation: %+v, want refused", d)
	}
	// The refused reservation gave back what it took from "big": 99 remain.
	if p, _ := l.Peek(ctx, "big", big, now); p.Remaining != 99 {
		t.Fatalf("big has %d left, want 99", p.Remaining)
	}
	release()
	if p, _ := l.Peek(ctx, "small", small, now); !p.Allowed {
		t.Fatal("release did not give the event back")
	}
}

// TestConcurrentTakes: of any number of concurrent Takes at one instant, exactly the burst
// is allowed.
func TestConcurrentTakes(t *testing.T) {
	l := ratelimit.NewMemory(100)
	r := ratelimit.Rate{Limit: 5, Window: 15 * time.Minute}
	now := time.Unix(1000, 0)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d, release, _ := ratelimit.Reserve(ctx, l, now, ratelimit.Reservation{Key: "acct", Rate: r}); d.Allowed && release != nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 {
		t.Fatalf("%d of 500 allowed, want 5", ok.Load())
	}
}

func TestMemoryBounded(t *testing.T) {
	l := ratelimit.NewMemory(1000)
	r := ratelimit.Rate{Limit: 1, Window: time.Hour}
	now := time.Unix(1000, 0)
	for i := range 100_000 {
		l.Take(ctx, string(rune(i))+"k", r, now)
	}
	if n := l.Len(); n > 2000 {
		t.Fatalf("remembers %d keys, want about 1000", n)
	}
}
