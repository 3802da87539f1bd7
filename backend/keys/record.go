package keys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Recorder records a key change in the change's own transaction tx: the audit entry, and what
// the audit log's hooks write with it (the webhooks' outbox). The change and its record thus
// commit together or not at all; an error from the Recorder rolls the change back and is
// returned by the change. before is the key as the change found it (the zero Key for a new
// one), after the key as tx has it once changed, so nothing reads it outside tx. A Recorder
// must not use the store outside tx, nor the Service: an edit of a key's quota holds the
// quota counts' lock while it runs.
type Recorder func(ctx context.Context, tx *sql.Tx, before, after Key) error

// Changes are the changes of keys that record themselves: each calls its Recorder, in the
// change's transaction, when and only when it changed the key.
type Changes struct {
	s   *Service
	rec Recorder
}

// Recording returns the key changes of s that record themselves with rec. The Service's own
// methods of the same names record nothing.
func (s *Service) Recording(rec Recorder) Changes { return Changes{s: s, rec: rec} }

// Create is Service.Create, recorded.
func (c Changes) Create(ctx context.Context, p CreateParams) (Created, error) {
	return c.s.create(ctx, p, c.rec)
}

// Update is Service.Update, recorded when it wrote something.
func (c Changes) Update(ctx context.Context, orgID, id string, p UpdateParams) (Key, error) {
	return c.s.update(ctx, orgID, id, p, c.rec)
}

// Disable is Service.Disable, recorded when it disabled the key.
func (c Changes) Disable(ctx context.Context, orgID, id, by string) (Key, bool, error) {
	return c.s.setDisabled(ctx, orgID, id, by, true, c.rec)
}

// Enable is Service.Enable, recorded when it enabled the key.
func (c Changes) Enable(ctx context.Context, orgID, id string) (Key, bool, error) {
	return c.s.setDisabled(ctx, orgID, id, "", false, c.rec)
}

// Revoke is Service.Revoke, recorded when this call revoked the key.
func (c Changes) Revoke(ctx context.Context, orgID, id, reason string) (Key, error) {
	return c.s.revoke(ctx, orgID, id, reason, c.rec)
}

// Roll is Service.Roll, recorded.
func (c Changes) Roll(ctx context.Context, orgID, id string, grace time.Duration) (Created, error) {
	return c.s.roll(ctx, orgID, id, grace, c.rec)
}

// record runs rec, if any, with the key as tx has it. overlay puts this process's unwritten
// quota count into it, as Get does; an edit of the quota passes false (it holds the counts'
// lock, and the row it just wrote is the count).
func (s *Service) record(ctx context.Context, tx *sql.Tx, rec Recorder, before Key, id string, overlay bool) error {
	if rec == nil {
		return nil
	}
	after, err := scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM keys WHERE id = ?`, id), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("read key %s: %w", id, err)
	}
	if overlay {
		s.quotas.overlay(&after)
	}
	return rec(ctx, tx, before, after)
}

// ImportRecorder records an import in the import's own transaction, as a Recorder does a key
// change: res is what the import wrote. A dry run writes nothing and records nothing.
type ImportRecorder func(ctx context.Context, tx *sql.Tx, res ImportResult) error

// RecordedImport is Service.Import recorded by an ImportRecorder.
type RecordedImport struct {
	s   *Service
	rec ImportRecorder
}

// ImportRecording returns the import of s that records itself with rec.
func (s *Service) ImportRecording(rec ImportRecorder) RecordedImport {
	return RecordedImport{s: s, rec: rec}
}

// Import is Service.Import, recorded unless dryRun.
func (r RecordedImport) Import(ctx context.Context, orgID, by string, recs []Record, dryRun bool) (ImportResult, error) {
	return r.s.importRecords(ctx, orgID, by, recs, dryRun, r.rec)
}
