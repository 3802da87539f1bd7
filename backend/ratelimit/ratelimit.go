// Package ratelimit is Keygate's one rate limiter: the gateway's per-key limits and its limit on
// failed authentications per client address, and the console's login, setup-token and
// password-reset attempt limits all count through a Limiter. Memory is the in-process GCRA
// implementation; an implementation shared by several nodes (Redis) satisfies the same
// interface.
package ratelimit

import (
	"context"
	"time"
)

// Rate is Limit events per Window, with a burst of up to Limit. A zero or negative Limit or
// Window means no limit.
type Rate struct {
	Limit  int
	Window time.Duration
}

// Decision is the outcome of Take or Peek.
type Decision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	Reset      time.Duration // until the full burst is available again
	RetryAfter time.Duration // when refused: until the next event would pass
}

// Limiter counts events per key. Implementations must make Take atomic per key: of any number
// of concurrent Takes, at most the remaining capacity are allowed.
type Limiter interface {
	// Take spends one event for key if allowed; a refused Take spends nothing.
	Take(ctx context.Context, key string, r Rate, now time.Time) (Decision, error)
	// Peek reports whether a Take now would be allowed, spending nothing.
	Peek(ctx context.Context, key string, r Rate, now time.Time) (Decision, error)
	// Release gives back one event taken earlier (an attempt that turned out not to count).
	Release(ctx context.Context, key string, r Rate, now time.Time) error
}

// Reservation is one key and rate for Reserve.
type Reservation struct {
	Key  string
	Rate Rate
}

// Reserve takes one event from every reservation, all or none: when one is refused, those
// already taken are released and the refusal is returned (Allowed false, with the longest
// RetryAfter). On success the caller gets release, which gives every event back (to call when
// the attempt turns out not to count, e.g. a login that succeeded).
//
// This is how an expensive check is limited: reserve before the work, release after it if it
// must not count. A burst of any size then gets at most the remaining capacity of checks,
// where counting only after the work would let every concurrent attempt through.
func Reserve(ctx context.Context, l Limiter, now time.Time, rs ...Reservation) (Decision, func(), error) {
	taken := make([]Reservation, 0, len(rs))
	undo := func() {
		for _, t := range taken {
			l.Release(context.WithoutCancel(ctx), t.Key, t.Rate, now)
		}
	}
	for _, r := range rs {
		d, err := l.Take(ctx, r.Key, r.Rate, now)
		if err != nil {
			undo()
			return Decision{}, nil, err
		}
		if !d.Allowed {
			undo()
			// Report the longest wait among the keys that are full right now.
			for _, o := range rs {
				if p, err := l.Peek(ctx, o.Key, o.Rate, now); err == nil && !p.Allowed && p.RetryAfter > d.RetryAfter {
					d.RetryAfter = p.RetryAfter
				}
			}
			return d, nil, nil
		}
		taken = append(taken, r)
	}
	return Decision{Allowed: true}, undo, nil
}
