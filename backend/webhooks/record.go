package webhooks

import (
	"context"
	"database/sql"
)

// Recorder records a change of an endpoint in the change's own transaction tx (the audit
// entry), so that the change and its record commit together or not at all; its error rolls
// the change back and is returned by the change. e is the endpoint as added, or as it was
// when removed. A Recorder must not use the store outside tx.
type Recorder func(ctx context.Context, tx *sql.Tx, e Endpoint) error

// RetryRecorder records a retried delivery as a Recorder does an endpoint change; d is the
// delivery as tx has it.
type RetryRecorder func(ctx context.Context, tx *sql.Tx, d Delivery) error

// Changes are the endpoint changes that record themselves with a Recorder.
type Changes struct {
	s   *Service
	rec Recorder
}

// Recording returns the endpoint changes of s that record themselves with rec. The Service's
// own methods of the same names record nothing.
func (s *Service) Recording(rec Recorder) Changes { return Changes{s: s, rec: rec} }

// Add is Service.Add, recorded.
func (c Changes) Add(ctx context.Context, p AddParams) (CreatedEndpoint, error) {
	return c.s.add(ctx, p, c.rec)
}

// Remove is Service.Remove, recorded when this call removed the endpoint.
func (c Changes) Remove(ctx context.Context, orgID, id string) (Endpoint, error) {
	return c.s.remove(ctx, orgID, id, c.rec)
}

// RetryRecorded is Service.Retry, recorded with rec.
func (s *Service) RetryRecorded(ctx context.Context, orgID, id string, rec RetryRecorder) (Delivery, error) {
	return s.retry(ctx, orgID, id, rec)
}
