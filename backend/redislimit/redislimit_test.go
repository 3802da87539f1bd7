package redislimit_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/ratelimit"
	"github.com/keygate/keygate/backend/redislimit"
	"github.com/keygate/keygate/backend/testutil/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

var ctx = context.Background()

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func take(l *redislimit.Limiter, key string, limit int, window time.Duration) ratelimit.Decision {
	d, err := l.Take(ctx, key, ratelimit.Rate{Limit: limit, Window: window}, time.Now())
	if err != nil {
		panic(err) // Take never fails: it falls back
	}
	return d
}

func open(t *testing.T, url, prefix string, log *syncBuffer) *redislimit.Limiter {
	t.Helper()
	opts := redislimit.Options{Prefix: prefix, RetryEvery: 50 * time.Millisecond, Timeout: 2 * time.Second}
	if log != nil {
		opts.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
	l, err := redislimit.Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestExactAcrossNodes: three nodes hammering one key limited to 10 per minute get exactly 10
// successes between them, and the refusals say when to retry.
func TestExactAcrossNodes(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix()
	nodes := []*redislimit.Limiter{open(t, srv.URL(), prefix, nil), open(t, srv.URL(), prefix, nil), open(t, srv.URL(), prefix, nil)}
	var mu sync.Mutex
	allowed, refused := 0, 0
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := take(nodes[i%3], "key_a", 10, time.Minute)
			mu.Lock()
			defer mu.Unlock()
			if d.Allowed {
				allowed++
				return
			}
			refused++
			if d.RetryAfter <= 0 || d.RetryAfter > 6*time.Second || d.Remaining != 0 || d.Limit != 10 {
				t.Errorf("refusal %+v", d)
			}
		}()
	}
	wg.Wait()
	if allowed != 10 || refused != 50 {
		t.Fatalf("%d allowed, %d refused across three nodes; want exactly 10 and 50", allowed, refused)
	}
	for _, n := range nodes {
		if !n.Shared() || n.Fallbacks() != 0 {
			t.Error("a node fell back during the test")
		}
	}
	if d := take(nodes[0], "key_b", 10, time.Minute); !d.Allowed || d.Remaining != 9 {
		t.Fatalf("another key shares nothing with key_a: %+v", d)
	}
	if d := take(nodes[0], "key_c", 0, time.Minute); !d.Allowed {
		t.Fatalf("no limit: %+v", d)
	}
}

// TestSteadyRateIsNeverRefused: requests spaced exactly at the rate all pass (GCRA, burst = limit).
func TestSteadyRateIsNeverRefused(t *testing.T) {
	srv := redistest.Shared(t)
	l := open(t, srv.URL(), redistest.Prefix(), nil)
	for i := range 20 {
		if d := take(l, "k", 50, time.Second); !d.Allowed {
			t.Fatalf("request %d at the steady rate refused: %+v", i, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFallsBackAndReturns: with Redis down, each node limits alone (with a warning); when Redis
// is back, limits are shared again (with a log line), without a restart.
func TestFallsBackAndReturns(t *testing.T) {
	srv, err := redistest.Start() // a server of its own: this test stops it
	if err != nil {
		if err == redistest.ErrNotInstalled {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	defer srv.Stop()
	var log syncBuffer
	l := open(t, srv.URL(), redistest.Prefix(), &log)
	if !l.Shared() {
		t.Fatal("not shared with Redis up")
	}
	srv.Halt()
	d := take(l, "k", 2, time.Minute)
	if !d.Allowed || l.Shared() || l.Fallbacks() != 1 {
		t.Fatalf("first request with Redis down: %+v shared=%v fallbacks=%d", d, l.Shared(), l.Fallbacks())
	}
	if !strings.Contains(log.String(), "per node") {
		t.Fatalf("no warning logged: %s", log.String())
	}
	start := time.Now()
	take(l, "k", 2, time.Minute)
	if d := take(l, "k", 2, time.Minute); d.Allowed {
		t.Fatal("the per-node fallback does not limit")
	}
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("fallback decisions took %v: they must not wait for Redis", took)
	}
	if err := srv.StartAgain(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !l.Shared() {
		if time.Now().After(deadline) {
			t.Fatal("not shared again 5 s after Redis came back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "shared by all nodes again") {
		t.Fatalf("no recovery line logged: %s", log.String())
	}
	if d := take(l, "k", 2, time.Minute); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("first shared decision after recovery: %+v", d)
	}
}

func TestOpen(t *testing.T) {
	if _, err := redislimit.Open(ctx, "http://nope", redislimit.Options{}); err == nil {
		t.Fatal("a non-redis URL was accepted")
	}
	if got := redislimit.RedactURL("redis://u:hunter2@h:6379/0"); strings.Contains(got, "hunter2") {
		t.Fatalf("RedactURL kept the password: %s", got)
	}
	// Unreachable at start: per node, not an error.
	l, err := redislimit.Open(ctx, "redis://127.0.0.1:1/0", redislimit.Options{Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Shared() || !take(l, "k", 1, time.Minute).Allowed {
		t.Fatal("an unreachable Redis at start must mean per-node limits")
	}
}

// TestReserveAcrossNodes: the login limit's reserve-then-release works through Redis: what one
// node reserved and released is back for the others, what it kept is spent for all; Peek spends
// nothing.
func TestReserveAcrossNodes(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix()
	a, b := open(t, srv.URL(), prefix, nil), open(t, srv.URL(), prefix, nil)
	rate := ratelimit.Rate{Limit: 2, Window: time.Hour}
	now := time.Now()
	d, undo, err := ratelimit.Reserve(ctx, a, now, ratelimit.Reservation{Key: "acct", Rate: rate}, ratelimit.Reservation{Key: "addr", Rate: rate})
	if err != nil || !d.Allowed {
		t.Fatalf("first reserve: %+v %v", d, err)
	}
	undo() // a successful login does not count
	for i := range 2 {
		if d, _, _ := ratelimit.Reserve(ctx, b, now, ratelimit.Reservation{Key: "acct", Rate: rate}); !d.Allowed {
			t.Fatalf("reserve %d on node B after A released: %+v", i, d)
		}
	}
	p, err := a.Peek(ctx, "acct", rate, now)
	if err != nil || p.Allowed || p.RetryAfter <= 0 {
		t.Fatalf("node A peeks at the key B filled: %+v %v", p, err)
	}
	if p2, _ := a.Peek(ctx, "acct", rate, now); p2.Allowed {
		t.Fatal("peek spent something")
	}
	if d, _, _ := ratelimit.Reserve(ctx, a, now, ratelimit.Reservation{Key: "acct", Rate: rate}); d.Allowed {
		t.Fatal("the third attempt passed on node A")
	}
	if d, _ := a.Peek(ctx, "addr", rate, now); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("the released address reservation is not whole again: %+v", d)
	}
}
