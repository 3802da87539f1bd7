package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/ratelimit"
)

// TestAttemptKeysAreBounded: the login limit is keyed by the address as typed, before any
// validation, and a login body may be 1 MiB; a failed attempt must not pin that much memory for
// the length of the window.
func TestAttemptKeysAreBounded(t *testing.T) {
	a := newAttempts(ratelimit.NewMemory(100), 5, 20, 15*time.Minute)
	now := time.Now()
	long := strings.Repeat("a", 1<<20) + "@example.com"
	if k := accountKey(long); len(k) > 300 {
		t.Fatalf("limiter key of %d bytes", len(k))
	}
	for range 5 {
		if _, err := a.reserve(context.Background(), long, "192.0.2.1", now); err != nil {
			t.Fatal(err)
		}
	}
	// The same long address is still one account, from another client address too.
	if _, err := a.reserve(context.Background(), long, "192.0.2.2", now); err == nil {
		t.Fatal("five attempts for one long address did not lock it")
	}
	for k := range a.refused {
		if len(k) > 700 {
			t.Fatalf("refusal key of %d bytes", len(k))
		}
	}
	// Refusals of that address after the first are repeats (recorded once), whatever its length
	// or letter case.
	for _, again := range []string{long, strings.ToUpper(long), " " + long} {
		_, err := a.reserve(context.Background(), again, "192.0.2.2", now)
		var rl *RateLimitedError
		if !errors.As(err, &rl) || !rl.Repeated {
			t.Fatalf("a repeated refusal of a long address: %v", err)
		}
	}
}

// TestAttemptsBurst: of any number of concurrent attempts, at most the limit are reserved; a
// released attempt (a successful sign-in) does not count.
func TestAttemptsBurst(t *testing.T) {
	a := newAttempts(ratelimit.NewMemory(100), 5, 20, 15*time.Minute)
	now := time.Now()
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.reserve(context.Background(), "a@example.com", "192.0.2.1", now); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 {
		t.Fatalf("%d of 200 concurrent attempts reserved, want 5", ok.Load())
	}
	// Another account from the same address: 15 more (20 per address).
	got := 0
	for i := range 40 {
		release, err := a.reserve(context.Background(), "b"+strings.Repeat("x", i)+"@example.com", "192.0.2.1", now)
		if err == nil {
			got++
			if i == 0 {
				release() // a success gives its attempt back
			}
		}
	}
	if got != 16 {
		t.Fatalf("%d attempts from one address after 5, want 16 (15 + one given back)", got)
	}
	// A setup-token attempt (no account) counts on the same address.
	if _, err := a.reserve(context.Background(), "", "192.0.2.1", now); err == nil {
		t.Fatal("setup attempt passed an exhausted address")
	}
	if _, err := a.reserve(context.Background(), "", "192.0.2.9", now); err != nil {
		t.Fatalf("setup attempt from a fresh address: %v", err)
	}
}

// TestAttemptKeysHoldNoTypedText: what was typed as the address (a password in the wrong box)
// does not become a limiter key, which a shared limiter (Redis) stores as it is; addresses that
// differ only in case or blanks are one account.
func TestAttemptKeysHoldNoTypedText(t *testing.T) {
	typed := "Hunter2-my-actual-password"
	if k := accountKey(typed); strings.Contains(strings.ToLower(k), strings.ToLower(typed)) {
		t.Fatalf("limiter key %q holds what was typed", k)
	}
	if accountKey(" A@Example.com ") != accountKey("a@example.com") || accountKey("a@example.com") == accountKey("b@example.com") {
		t.Fatal("account keys do not follow the address")
	}
	// One account, one budget, however its address is spelled.
	for _, spelling := range []string{"ÜNAL@example.com", "u\u0308nal@example.com", "ünal@ＥＸＡＭＰＬＥ.com"} {
		if accountKey(spelling) != accountKey("ünal@example.com") {
			t.Errorf("accountKey(%q) differs from ünal@example.com's", spelling)
		}
	}
	if accountKey("straße@example.de") != accountKey("STRASSE@example.de") {
		t.Error("accountKey: straße and STRASSE are one account")
	}
}
