package keys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keygate/keygate/backend/store"
)

// usage collects last-used times and counts in memory so the request path never writes to
// SQLite; Flush writes them in one transaction.
type usage struct {
	st      *store.Store
	flushMu sync.Mutex // one flush at a time, so FlushUsage returns only when all counts are written
	mu      sync.Mutex // guards pending
	pending map[string]*use
}

type use struct {
	count int64
	last  time.Time
}

func newUsage(st *store.Store) *usage { return &usage{st: st, pending: make(map[string]*use)} }

// RecordUse notes that a key authenticated a request at t.
func (s *Service) RecordUse(keyID string, t time.Time) {
	u := s.usage
	u.mu.Lock()
	p := u.pending[keyID]
	if p == nil {
		p = &use{}
		u.pending[keyID] = p
	}
	p.count++
	if t.After(p.last) {
		p.last = t
	}
	u.mu.Unlock()
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
	u.mu.Lock()
	batch := u.pending
	u.pending = make(map[string]*use, len(batch))
	u.mu.Unlock()
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
		u.mu.Lock()
		for id, p := range batch {
			q := u.pending[id]
			if q == nil {
				u.pending[id] = p
				continue
			}
			q.count += p.count
			if p.last.After(q.last) {
				q.last = p.last
			}
		}
		u.mu.Unlock()
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
