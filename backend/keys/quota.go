package keys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/backend/store"
)

// quotas counts what keys with a quota may still do. Two ways, one per deployment:
//
//   - In memory (SQLite: one process serves the gateway): the count lives here, taken under
//     a mutex, and is written behind every second (FlushUsage) with a guard on the key's
//     quota_gen, so an edit made meanwhile (here or by the CLI beside the server) wins. A crash
//     forgets at most one flush interval of use (the caller gets those requests back).
//   - In the store (PostgreSQL: several nodes): every take is one conditional UPDATE …
//     RETURNING, which the database serializes per row, so no node can give out a request the
//     quota does not have. It costs a round trip for keys with a quota, and none for others.
//
// Either way a refill sets the remaining count back to the refill amount once the interval has
// passed since the last refill, decided at the first take after it (nothing runs on a timer).
type quotas struct {
	st      *store.Store
	inStore bool
	mu      sync.Mutex // guards m; held by edits across their store write (memory mode)
	m       map[string]*quotaState
	flushMu sync.Mutex  // one flush at a time
	edited  atomic.Bool // an edit here installed a count a stale cached Key may not show
	// exhausted is called (on its own goroutine) when a take uses a key's last request.
	exhausted atomic.Pointer[func(Key)]
}

// quotaState is the in-memory count of one key. gen is the key's quota_gen it belongs to: a
// cached Key with a newer gen was edited elsewhere and resets it, an older one is stale and
// does not.
type quotaState struct {
	gen            int64
	none           bool // the quota was removed by an edit (a stale cached Key may still have one)
	remaining      int64
	refillAmount   int64
	refillInterval time.Duration
	lastRefill     time.Time
	dirty          bool
}

func newQuotas(st *store.Store, inStore bool) *quotas {
	return &quotas{st: st, inStore: inStore, m: make(map[string]*quotaState)}
}

// WithQuotaInStore makes every quota take an atomic store update (as on PostgreSQL, where it
// is the default) instead of a count in memory (the default on SQLite).
func WithQuotaInStore(on bool) Option { return func(s *Service) { s.quotaInStore = &on } }

// OnQuotaExhausted sets fn to be told, on a goroutine of its own, when a request uses the
// last of a key's quota (the key's state as cached, QuotaRemaining 0). One fn at a time; nil
// stops the calls. This is the seam for key.quota_exhausted notifications.
func (s *Service) OnQuotaExhausted(fn func(Key)) {
	if fn == nil {
		s.quotas.exhausted.Store(nil)
		return
	}
	s.quotas.exhausted.Store(&fn)
}

// QuotaTake is the outcome of TakeQuota.
type QuotaTake struct {
	// Limited says the key has a quota; when false the other fields mean nothing.
	Limited bool
	// Allowed says the request may pass (and used one of the quota).
	Allowed bool
	// Remaining is what is left after this request (0 when refused).
	Remaining int64
}

// TakeQuota uses one request of k's quota, if it has one. k is a Key from Verify. It answers
// Allowed false when the quota is used up; an error means the store could not answer (store
// mode only).
func (s *Service) TakeQuota(ctx context.Context, k *Key, now time.Time) (QuotaTake, error) {
	if k.QuotaRemaining == nil {
		q := s.quotas
		if q.inStore {
			return QuotaTake{}, nil
		}
		// A stale cached Key may miss a quota set here a moment ago.
		if !q.edited.Load() {
			return QuotaTake{}, nil
		}
		q.mu.Lock()
		st := q.m[k.ID]
		q.mu.Unlock()
		if st == nil || st.none || st.gen <= k.quotaGen {
			return QuotaTake{}, nil
		}
	}
	if s.quotas.inStore {
		return s.quotas.takeInStore(ctx, k, now)
	}
	return s.quotas.takeInMemory(k, now), nil
}

func (q *quotas) takeInMemory(k *Key, now time.Time) QuotaTake {
	q.mu.Lock()
	st := q.m[k.ID]
	if st == nil || k.quotaGen > st.gen {
		if k.QuotaRemaining == nil {
			q.mu.Unlock()
			return QuotaTake{}
		}
		st = stateOf(k)
		q.m[k.ID] = st
	}
	if st.none {
		q.mu.Unlock()
		return QuotaTake{}
	}
	if st.refillInterval > 0 && !now.Before(st.lastRefill.Add(st.refillInterval)) {
		st.remaining, st.lastRefill, st.dirty = st.refillAmount, now, true
	}
	if st.remaining <= 0 {
		q.mu.Unlock()
		return QuotaTake{Limited: true}
	}
	st.remaining--
	st.dirty = true
	left := st.remaining
	q.mu.Unlock()
	if left == 0 {
		q.notifyExhausted(k)
	}
	return QuotaTake{Limited: true, Allowed: true, Remaining: left}
}

func stateOf(k *Key) *quotaState {
	st := &quotaState{gen: k.quotaGen, none: k.QuotaRemaining == nil}
	if k.QuotaRemaining != nil {
		st.remaining = *k.QuotaRemaining
		st.refillAmount = k.RefillAmount
		st.refillInterval = k.refillInterval()
		if k.LastRefillAt != nil {
			st.lastRefill = *k.LastRefillAt
		} else {
			st.lastRefill = k.CreatedAt
		}
	}
	return st
}

// takeSQL uses one request: refilled first when the interval has passed. Parameters: now (three
// times), id, now. PostgreSQL re-checks the WHERE on the row it waited for, so concurrent takes
// on several nodes never go below zero.
const takeSQL = `UPDATE keys SET
	quota_remaining = (CASE WHEN refill_interval_ms > 0 AND ? >= COALESCE(last_refill_at, created_at) + refill_interval_ms
		THEN refill_amount ELSE quota_remaining END) - 1,
	last_refill_at = CASE WHEN refill_interval_ms > 0 AND ? >= COALESCE(last_refill_at, created_at) + refill_interval_ms
		THEN ? ELSE last_refill_at END
	WHERE id = ? AND quota_remaining IS NOT NULL
	AND (CASE WHEN refill_interval_ms > 0 AND ? >= COALESCE(last_refill_at, created_at) + refill_interval_ms
		THEN refill_amount ELSE quota_remaining END) > 0
	RETURNING quota_remaining`

func (q *quotas) takeInStore(ctx context.Context, k *Key, now time.Time) (QuotaTake, error) {
	ms := now.UnixMilli()
	var left int64
	err := q.st.Write.QueryRowContext(ctx, takeSQL, ms, ms, ms, k.ID, ms).Scan(&left)
	if errors.Is(err, sql.ErrNoRows) {
		// Used up, or the quota was removed a moment ago: ask which.
		var has sql.NullInt64
		if err := q.st.Read.QueryRowContext(ctx, `SELECT quota_remaining FROM keys WHERE id = ?`, k.ID).Scan(&has); err != nil {
			return QuotaTake{}, fmt.Errorf("take quota of key %s: %w", k.ID, err)
		}
		if !has.Valid {
			return QuotaTake{}, nil
		}
		return QuotaTake{Limited: true}, nil
	}
	if err != nil {
		return QuotaTake{}, fmt.Errorf("take quota of key %s: %w", k.ID, err)
	}
	if left == 0 {
		q.notifyExhausted(k)
	}
	return QuotaTake{Limited: true, Allowed: true, Remaining: left}, nil
}

func (q *quotas) notifyExhausted(k *Key) {
	if fn := q.exhausted.Load(); fn != nil {
		c := *k
		var zero int64
		c.QuotaRemaining = &zero
		go (*fn)(c)
	}
}

// overlay puts the in-memory count (not yet written) into k.
func (q *quotas) overlay(k *Key) {
	if q.inStore || k.QuotaRemaining == nil {
		return
	}
	q.mu.Lock()
	st := q.m[k.ID]
	var remaining int64
	var last time.Time
	ok := st != nil && !st.none && st.gen >= k.quotaGen
	if ok {
		remaining, last = st.remaining, st.lastRefill
	}
	q.mu.Unlock()
	if ok {
		k.QuotaRemaining = &remaining
		if !last.IsZero() {
			l := last.UTC().Truncate(time.Millisecond)
			k.LastRefillAt = &l
		}
	}
}

// current is the remaining count of k in force now (memory mode: the unwritten count); the
// caller holds q.mu.
func (q *quotas) current(k *Key) int64 {
	if st := q.m[k.ID]; st != nil && !st.none && st.gen >= k.quotaGen {
		return st.remaining
	}
	return *k.QuotaRemaining
}

// flush writes the in-memory counts that changed. The write is guarded by quota_gen: an edit
// made since (by another process) is not overwritten.
func (q *quotas) flush(ctx context.Context) error {
	if q.inStore {
		return nil
	}
	q.flushMu.Lock()
	defer q.flushMu.Unlock()
	type row struct {
		id        string
		gen       int64
		remaining int64
		last      time.Time
	}
	var batch []row
	q.mu.Lock()
	for id, st := range q.m {
		if st.dirty && !st.none {
			batch = append(batch, row{id, st.gen, st.remaining, st.lastRefill})
			st.dirty = false
		}
	}
	q.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := q.st.Tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE keys SET quota_remaining = ?, last_refill_at = ?
			WHERE id = ? AND quota_gen = ? AND quota_remaining IS NOT NULL`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range batch {
			if _, err := stmt.ExecContext(ctx, r.remaining, r.last.UnixMilli(), r.id, r.gen); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		q.mu.Lock()
		for _, r := range batch {
			if st := q.m[r.id]; st != nil && st.gen == r.gen {
				st.dirty = true
			}
		}
		q.mu.Unlock()
		return fmt.Errorf("flush key quotas: %w", err)
	}
	return nil
}

// edit runs write (the store update of k's quota, returning the new quota_gen) with every
// take held off, then installs next as the key's count: no request taken before the edit is
// lost and none after it is counted against the old quota. Unless setRemaining, the count in
// force (not yet flushed) carries over into next.
func (q *quotas) edit(k *Key, next *quotaState, setRemaining bool, write func(remaining int64) (int64, error)) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !setRemaining && !next.none && k.QuotaRemaining != nil {
		next.remaining = q.current(k)
	}
	gen, err := write(next.remaining)
	if err != nil {
		return err
	}
	next.gen = gen
	q.m[k.ID] = next
	q.edited.Store(true)
	return nil
}
