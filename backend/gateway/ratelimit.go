package gateway

import (
	"hash/maphash"
	"sync"
	"time"
)

// Limiter is a GCRA (generic cell rate algorithm) limiter: limit requests per window, with a
// burst of up to limit. Steady traffic at exactly the limit is never refused, and a refused
// request does not use up capacity. It keeps one timestamp per key, in shards, and bounds how
// many keys it remembers.
type Limiter[K comparable] struct {
	seed     maphash.Seed
	shards   [32]limiterShard[K]
	maxShard int
}

type limiterShard[K comparable] struct {
	mu  sync.Mutex
	tat map[K]int64 // theoretical arrival time, Unix nanoseconds
}

// Decision is the outcome of Take.
type Decision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	Reset      time.Duration // until the full burst is available again
	RetryAfter time.Duration // when refused: until the next request would pass
}

// NewLimiter returns a limiter remembering at most about maxKeys keys.
func NewLimiter[K comparable](maxKeys int) *Limiter[K] {
	l := &Limiter[K]{seed: maphash.MakeSeed(), maxShard: max(maxKeys/32, 16)}
	for i := range l.shards {
		l.shards[i].tat = map[K]int64{}
	}
	return l
}

func (l *Limiter[K]) shard(k K) *limiterShard[K] {
	return &l.shards[maphash.Comparable(l.seed, k)%uint64(len(l.shards))]
}

// Take spends one request for k if allowed.
func (l *Limiter[K]) Take(k K, limit int, window time.Duration, now time.Time) Decision {
	if limit <= 0 || window <= 0 {
		return Decision{Allowed: true}
	}
	t := now.UnixNano()
	T := int64(window) / int64(limit)
	if T <= 0 {
		T = 1
	}
	w := T * int64(limit)
	s := l.shard(k)
	s.mu.Lock()
	tat, ok := s.tat[k]
	if !ok || tat < t {
		tat = t
	}
	next := tat + T
	allowAt := next - w
	if t < allowAt {
		s.mu.Unlock()
		return Decision{Limit: limit, Remaining: 0, Reset: time.Duration(tat - t), RetryAfter: time.Duration(allowAt - t)}
	}
	if !ok && len(s.tat) >= l.maxShard {
		s.sweep(t, l.maxShard)
	}
	s.tat[k] = next
	s.mu.Unlock()
	return Decision{Allowed: true, Limit: limit, Remaining: int((t + w - next) / T), Reset: time.Duration(next - t)}
}

// Blocked reports whether the next Take for k would be refused, without spending anything.
func (l *Limiter[K]) Blocked(k K, limit int, window time.Duration, now time.Time) (bool, time.Duration) {
	if limit <= 0 || window <= 0 {
		return false, 0
	}
	t := now.UnixNano()
	T := max(int64(window)/int64(limit), 1)
	s := l.shard(k)
	s.mu.Lock()
	tat, ok := s.tat[k]
	s.mu.Unlock()
	if !ok {
		return false, 0
	}
	allowAt := max(tat, t) + T - T*int64(limit)
	if t < allowAt {
		return true, time.Duration(allowAt - t)
	}
	return false, 0
}

// sweep forgets keys whose burst is fully back (they behave as unknown keys); if that frees
// nothing, it forgets an arbitrary tenth so memory stays bounded under a flood of new keys.
func (s *limiterShard[K]) sweep(now int64, max int) {
	for k, tat := range s.tat {
		if tat <= now {
			delete(s.tat, k)
		}
	}
	if drop := len(s.tat)/10 + 1; len(s.tat) >= max {
		for k := range s.tat {
			delete(s.tat, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
}

// Len reports how many keys the limiter remembers.
func (l *Limiter[K]) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}
