package auth

import (
	"strings"
	"testing"
	"time"
)

// TestLimiterKeysAreBounded: the login limit is keyed by the address as typed, before any
// validation, and a login body may be 1 MiB; a failed attempt must not pin that much memory for
// the length of the window.
func TestLimiterKeysAreBounded(t *testing.T) {
	l := newLimiter(5, 20, 15*time.Minute)
	now := time.Now()
	long := strings.Repeat("a", 1<<20) + "@example.com"
	l.fail(long, "192.0.2.1", now)
	for k := range l.fails {
		if len(k) > 300 {
			t.Fatalf("limiter key of %d bytes", len(k))
		}
	}
	// The same long address is still one account.
	for range 4 {
		l.fail(long, "192.0.2.1", now)
	}
	if d, _ := l.wait(long, "192.0.2.2", now); d == 0 {
		t.Fatal("five failures for one long address did not lock it")
	}
}
