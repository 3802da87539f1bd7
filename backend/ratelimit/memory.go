package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Memory is a GCRA (generic cell rate algorithm) limiter in this process: Rate.Limit events per
// Rate.Window with a burst of up to Limit. Steady traffic at exactly the limit is never refused,
// and a refused event does not use up capacity. It keeps one timestamp per key, in shards, and
// bounds how many keys it remembers. Its methods never fail.
type Memory struct {
	seed     maphash.Seed
	shards   [32]shard
	maxShard int
}

var _ Limiter = (*Memory)(nil)

type shard struct {
	mu  sync.Mutex
	tat map[string]int64 // theoretical arrival time, Unix nanoseconds
}

// NewMemory returns a limiter remembering at most about maxKeys keys.
func NewMemory(maxKeys int) *Memory {
	l := &Memory{seed: maphash.MakeSeed(), maxShard: max(maxKeys/32, 16)}
	for i := range l.shards {
		l.shards[i].tat = map[string]int64{}
	}
	return l
}

func (l *Memory) shard(k string) *shard {
	return &l.shards[maphash.String(l.seed, k)%uint64(len(l.shards))]
}

// emission is the time one event takes back from the burst, and the burst's length.
func emission(r Rate) (T, w int64) {
	T = max(int64(r.Window)/int64(r.Limit), 1)
	return T, T * int64(r.Limit)
}

// Take spends one event for k if allowed.
func (l *Memory) Take(_ context.Context, k string, r Rate, now time.Time) (Decision, error) {
	return l.TakeNow(k, r, now), nil
}

// TakeNow is Take without a context or error, for callers on a hot path that hold a *Memory.
func (l *Memory) TakeNow(k string, r Rate, now time.Time) Decision {
	if r.Limit <= 0 || r.Window <= 0 {
		return Decision{Allowed: true}
	}
	t := now.UnixNano()
	T, w := emission(r)
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
		return Decision{Limit: r.Limit, Remaining: 0, Reset: time.Duration(tat - t), RetryAfter: time.Duration(allowAt - t)}
	}
	if !ok && len(s.tat) >= l.maxShard {
		s.sweep(t, l.maxShard)
	}
	s.tat[k] = next
	s.mu.Unlock()
	return Decision{Allowed: true, Limit: r.Limit, Remaining: int((t + w - next) / T), Reset: time.Duration(next - t)}
}

// Peek reports whether the next Take for k would be allowed, without spending anything.
func (l *Memory) Peek(_ context.Context, k string, r Rate, now time.Time) (Decision, error) {
	if r.Limit <= 0 || r.Window <= 0 {
		return Decision{Allowed: true}, nil
	}
	t := now.UnixNano()
	T, w := emission(r)
	s := l.shard(k)
	s.mu.Lock()
	tat, ok := s.tat[k]
	s.mu.Unlock()
	if !ok || tat < t {
		tat = t
	}
	if allowAt := tat + T - w; t < allowAt {
		return Decision{Limit: r.Limit, Reset: time.Duration(tat - t), RetryAfter: time.Duration(allowAt - t)}, nil
	}
	return Decision{Allowed: true, Limit: r.Limit, Remaining: int((t + w - tat) / T), Reset: time.Duration(tat - t)}, nil
}

// Release gives back one event of k.
func (l *Memory) Release(_ context.Context, k string, r Rate, now time.Time) error {
	if r.Limit <= 0 || r.Window <= 0 {
		return nil
	}
	T, _ := emission(r)
	s := l.shard(k)
	s.mu.Lock()
	if tat, ok := s.tat[k]; ok {
		if tat -= T; tat <= now.UnixNano() {
			delete(s.tat, k) // the burst is back: the key behaves as unknown
		} else {
			s.tat[k] = tat
		}
	}
	s.mu.Unlock()
	return nil
}

// sweep forgets keys whose burst is fully back (they behave as unknown keys); if that frees
// nothing, it forgets an arbitrary tenth so memory stays bounded under a flood of new keys.
func (s *shard) sweep(now int64, max int) {
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
func (l *Memory) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}
