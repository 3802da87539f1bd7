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

// usage collects last-used times and counts in memory so the request path never writes to
// SQLite; Flush writes them in one transaction. The counts are kept in shards: RecordUse
// counts in the first, each Local in one of its own, so that event loops counting the same key
// do not take turns at one lock (a cache line that moves between cores on every request).
type usage struct {
	st      *store.Store
	flushMu sync.Mutex // one flush at a time, so FlushUsage returns only when all counts are written
	shards  [usageShards]usageShard
	next    atomic.Uint32 // the shard the next Local gets
}

// usageShards is how many shards of counts there are: the first for RecordUse, the others
// handed out to Locals in turn.
const usageShards = 16

type usageShard struct {
	mu      sync.Mutex // guards pending
	pending map[string]*use
	_       [48]byte // (a shard to a cache line, with the lock and map above)
}

type use struct {
	count int64
	last  time.Time
}

func newUsage(st *store.Store) *usage {
	u := &usage{st: st}
	for i := range u.shards {
		u.shards[i].pending = make(map[string]*use)
	}
	return u
}

// shard returns the shard for a new Local.
func (u *usage) shard() *usageShard {
	return &u.shards[1+int(u.next.Add(1)-1)%(usageShards-1)]
}

// RecordUse notes that a key authenticated a request at t.
func (s *Service) RecordUse(keyID string, t time.Time) { s.usage.shards[0].record(keyID, 1, t) }

// RecordUse is Service.RecordUse, counted in l's shard.
func (l *Local) RecordUse(keyID string, t time.Time) { l.use.record(keyID, 1, t) }

func (sh *usageShard) record(keyID string, n int64, t time.Time) {
	sh.mu.Lock()
	p := sh.pending[keyID]
	if p == nil {
		p = &use{}
		sh.pending[keyID] = p
	}
	p.count += n
	if t.After(p.last) {
		p.last = t
	}
	sh.mu.Unlock()
}

// take empties every shard and returns what they counted, merged.
func (u *usage) take() map[string]*use {
	batch := map[string]*use{}
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		pending := sh.pending
		if len(pending) == 0 {
			sh.mu.Unlock()
			continue
		}
		sh.pending = make(map[string]*use, len(pending))
		sh.mu.Unlock()
		for id, p := range pending {
			if q := batch[id]; q != nil {
				q.count += p.count
				if p.last.After(q.last) {
					q.last = p.last
				}
			} else {
				batch[id] = p
			}
		}
	}
	return batch
}

// pending reports whether any count waits for a flush.
func (u *usage) pending() bool {
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		n := len(sh.pending)
		sh.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// FlushUsage writes the collected usage and quota counts. On failure the counts are put back for the next try.
// A call that overlaps another waits for it, so when FlushUsage returns nil every use recorded
// before the call is in the store.
func (s *Service) FlushUsage(ctx context.Context) error {
	qerr := s.quotas.flush(ctx)
	return errors.Join(s.flushUsage(ctx), qerr)
}

func (s *Service) flushUsage(ctx context.Context) error {
	u := s.usage
	u.flushMu.Lock()
	defer u.flushMu.Unlock()
	batch := u.take()
	if len(batch) == 0 {
		return nil
	}
	err := u.st.Tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE keys SET usage_count = usage_count + ?,
			last_used_at = CASE WHEN last_used_at > ? THEN last_used_at ELSE ? END WHERE id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for id, p := range batch {
			if _, err := stmt.ExecContext(ctx, p.count, p.last.UnixMilli(), p.last.UnixMilli(), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for id, p := range batch { // back for the next flush
			u.shards[0].record(id, p.count, p.last)
		}
		return fmt.Errorf("flush key usage: %w", err)
	}
	return nil
}

// Run keeps the service in step with its store until ctx ends: it follows the store's change
// feed (so a revoke by another process or node is honoured at once on PostgreSQL, within
// store.PollEvery on SQLite) and flushes usage every second.
// On return it flushes usage one last time.
func (s *Service) Run(ctx context.Context) error {
	return s.run(ctx, time.Second)
}

func (s *Service) run(ctx context.Context, flushEvery time.Duration) error {
	unsubscribe := s.st.Changes().Subscribe(s.onChange)
	defer unsubscribe()
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return s.FlushUsage(fctx)
		case <-flush.C:
			_ = s.FlushUsage(ctx) // counts stay pending and are retried on the next tick
		}
	}
}

// onChange follows the store's change feed: any change to keys or their secrets, here or in
// another process, drops the cache; while the feed is lost nothing is cached.
func (s *Service) onChange(c store.Change) {
	switch {
	case c.Lost:
		s.cache.pause(true)
		s.foreign.reset()
	case c.Resync:
		s.cache.pause(false)
		s.foreign.reset()
	case c.Touches("keys", "key_secrets"):
		s.cache.invalidate()
		s.foreign.reset()
	}
}

// changed drops this Service's cache (and what it remembers of key id for outages) and tells
// the rest of the process (the feed carries it to other processes through the database).
func (s *Service) changed(id string) {
	s.cache.forgetKey(id)
	s.cache.invalidate()
	s.st.Changes().Publish("keys")
}
