package auth

import (
	"strings"
	"sync"
	"time"
)

// limiter counts failed logins per account and per client address in a sliding window. Only
// failures count, so a user who types the password right is never held back by their own
// successful logins.
type limiter struct {
	mu         sync.Mutex
	perAccount int
	perAddr    int
	window     time.Duration
	fails      map[string][]time.Time
	// refused holds, for a locked-out key, when its current lockout ends: a refusal before
	// then is a repeat.
	refused map[string]time.Time
}

// maxTracked bounds the map: beyond it, entries whose failures have all aged out are dropped.
const maxTracked = 10_000

func newLimiter(perAccount, perAddr int, window time.Duration) *limiter {
	return &limiter{perAccount: perAccount, perAddr: perAddr, window: window, fails: map[string][]time.Time{},
		refused: map[string]time.Time{}}
}

// accountKey is cut to the longest valid address (254 bytes): the address is as typed, before
// any validation, and a key of up to a request body's size would stay in memory for the window.
func accountKey(email string) string {
	email = strings.TrimSpace(email)
	if len(email) > 254 {
		email = email[:254]
	}
	return "a:" + strings.ToLower(email)
}

func addrKey(addr string) string { return "i:" + addr }

// wait returns how long the caller must wait before another attempt (0: go ahead), and whether
// an earlier attempt was already refused in the same lockout.
func (l *limiter) wait(email, addr string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := []string{accountKey(email)}
	if addr != "" {
		keys = append(keys, addrKey(addr))
	}
	var w time.Duration
	repeated := true
	for i, k := range keys {
		limit := l.perAccount
		if i == 1 {
			limit = l.perAddr
		}
		d := l.waitLocked(k, limit, now)
		if d == 0 {
			continue
		}
		if !l.refused[k].After(now) {
			repeated = false
			if len(l.refused) >= maxTracked {
				l.forgetRefusals(now)
			}
			l.refused[k] = now.Add(d)
		}
		w = max(w, d)
	}
	return w, repeated
}

// forgetRefusals drops the lockouts that are over.
func (l *limiter) forgetRefusals(now time.Time) {
	for k, until := range l.refused {
		if !until.After(now) {
			delete(l.refused, k)
		}
	}
}

func (l *limiter) waitLocked(key string, max int, now time.Time) time.Duration {
	ts := l.recent(key, now)
	if len(ts) < max {
		return 0
	}
	// The oldest failure that still counts must age out before the next attempt.
	d := ts[len(ts)-max].Add(l.window).Sub(now)
	if d < time.Second {
		d = time.Second
	}
	return d
}

func (l *limiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-l.window)) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = ts
	}
	return ts
}

func (l *limiter) fail(email, addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > maxTracked {
		for k := range l.fails {
			l.recent(k, now)
		}
	}
	for _, k := range []string{accountKey(email), addrKey(addr)} {
		if k == "i:" {
			continue
		}
		ts := append(l.recent(k, now), now)
		if len(ts) > 1000 { // concurrent attempts can overshoot the limit; keep memory bounded
			ts = ts[len(ts)-1000:]
		}
		l.fails[k] = ts
	}
}

func (l *limiter) succeed(email string) {
	l.mu.Lock()
	delete(l.fails, accountKey(email))
	l.mu.Unlock()
}
