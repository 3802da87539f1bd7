package orgs

import (
	"context"
	"database/sql"
)

// Recorder records an organization change in the change's own transaction tx (the audit
// entry), so that the change and its record commit together or not at all; its error rolls
// the change back and is returned by the change. before is the organization as the change
// found it (the zero Org for a new one), after as tx has it. A Recorder must not use the
// store outside tx.
type Recorder func(ctx context.Context, tx *sql.Tx, before, after Org) error

// Changes are the organization changes that record themselves with a Recorder.
type Changes struct {
	s   *Service
	rec Recorder
}

// Recording returns the organization changes of s that record themselves with rec. The
// Service's own methods of the same names record nothing.
func (s *Service) Recording(rec Recorder) Changes { return Changes{s: s, rec: rec} }

// Create is Service.Create, recorded.
func (c Changes) Create(ctx context.Context, name string) (Org, error) {
	return c.s.create(ctx, name, c.rec)
}

// Rename is Service.Rename, recorded.
func (c Changes) Rename(ctx context.Context, id, name string) (Org, error) {
	return c.s.rename(ctx, id, name, c.rec)
}
