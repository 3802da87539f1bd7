package routes

import (
	"context"
	"database/sql"
)

// Recorder records a route change in the change's own transaction tx (the audit entry), so
// that the change and its record commit together or not at all; its error rolls the change
// back and is returned by the change. r is the route as the change wrote it (as it was, for a
// removal). A Recorder must not use the store outside tx.
type Recorder func(ctx context.Context, tx *sql.Tx, r Route) error

// Changes are the route changes that record themselves: each calls its Recorder, in the
// change's transaction, once the change is made.
type Changes struct {
	s   *Service
	rec Recorder
}

// Recording returns the route changes of s that record themselves with rec. The Service's own
// methods of the same names record nothing.
func (s *Service) Recording(rec Recorder) Changes { return Changes{s: s, rec: rec} }

// Add is Service.Add, recorded.
func (c Changes) Add(ctx context.Context, p Params) (Route, error) { return c.s.add(ctx, p, c.rec) }

// Update is Service.Update, recorded.
func (c Changes) Update(ctx context.Context, id string, p Params) (Route, error) {
	return c.s.update(ctx, id, p, c.rec)
}

// Remove is Service.Remove, recorded with the route as it was.
func (c Changes) Remove(ctx context.Context, id string) error { return c.s.remove(ctx, id, c.rec) }
