package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/settings"
	"github.com/keygate/keygate/backend/store"
)

// Retention bounds the logs Keygate keeps in the database — the audit log and the gateway's
// request log: rows older than Days days, and beyond the newest Rows rows, are deleted. A
// flood of failed logins or refused requests therefore cannot grow the database without
// bound.
type Retention struct {
	Days int `json:"days"`
	Rows int `json:"rows"`
}

// DefaultRetention is 90 days and 100,000 rows per log.
var DefaultRetention = Retention{Days: 90, Rows: 100_000}

// Bounds of the retention setting.
const (
	MinRetentionDays, MaxRetentionDays = 1, 3650
	MinRetentionRows, MaxRetentionRows = 1000, 10_000_000
)

var (
	// ErrInvalidRetentionDays means a retention outside 1–3650 days.
	ErrInvalidRetentionDays error = &problem.Invalid{Field: "logRetentionDays", Code: "range", Msg: "validation.retention.days",
		Data: map[string]any{"Count": MinRetentionDays, "Max": MaxRetentionDays}, Text: "log retention must be 1 to 3650 days"}
	// ErrInvalidRetentionRows means a retention outside 1,000–10,000,000 rows.
	ErrInvalidRetentionRows error = &problem.Invalid{Field: "logRetentionRows", Code: "range", Msg: "validation.retention.rows",
		Data: map[string]any{"Count": MinRetentionRows, "Max": MaxRetentionRows}, Text: "log retention must be 1000 to 10000000 rows"}
)

// Validate checks r against the bounds.
func (r Retention) Validate() error {
	if r.Days < MinRetentionDays || r.Days > MaxRetentionDays {
		return ErrInvalidRetentionDays
	}
	if r.Rows < MinRetentionRows || r.Rows > MaxRetentionRows {
		return ErrInvalidRetentionRows
	}
	return nil
}

// LoadRetention reads the retention setting (DefaultRetention for what was never set).
func LoadRetention(ctx context.Context, st *store.Store) (Retention, error) {
	vs, err := settings.New(st).Get(ctx, settings.RetentionDays, settings.RetentionRows)
	if err != nil {
		return Retention{}, err
	}
	r := DefaultRetention
	if n, err := strconv.Atoi(vs[settings.RetentionDays]); err == nil {
		r.Days = n
	}
	if n, err := strconv.Atoi(vs[settings.RetentionRows]); err == nil {
		r.Rows = n
	}
	if r.Validate() != nil {
		return DefaultRetention, nil
	}
	return r, nil
}

// SaveRetention stores the retention setting.
func SaveRetention(ctx context.Context, st *store.Store, r Retention) error {
	values, err := RetentionValues(r)
	if err != nil {
		return err
	}
	return settings.New(st).Set(ctx, values)
}

// RetentionValues are the settings rows that store r, for a caller that writes them in a
// transaction with other settings and their audit entry.
func RetentionValues(r Retention) (map[string]string, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return map[string]string{settings.RetentionDays: strconv.Itoa(r.Days), settings.RetentionRows: strconv.Itoa(r.Rows)}, nil
}

// Prune deletes the rows of table (audit_log or request_log, both with an id that grows and an
// `at` in Unix milliseconds) that r does not keep.
func Prune(ctx context.Context, st *store.Store, table string, r Retention, now time.Time) error {
	if table != "audit_log" && table != "request_log" {
		return fmt.Errorf("prune %s: not a log table", table)
	}
	cutoff := now.Add(-time.Duration(r.Days) * 24 * time.Hour).UnixMilli()
	return st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE at < ?`, cutoff); err != nil {
			return fmt.Errorf("prune %s: %w", table, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id <= (SELECT max(id) FROM `+table+`) - ?`, r.Rows); err != nil {
			return fmt.Errorf("prune %s: %w", table, err)
		}
		return nil
	})
}

// pruneEvery is how many audit entries are recorded between two prunes.
const pruneEvery = 200

// maybePrune prunes the audit log every pruneEvery records (and on the first), so the cost of
// pruning is spread thinly over writes.
func (l *Log) maybePrune(ctx context.Context) {
	if l.recorded.Add(1)%pruneEvery != 1 {
		return
	}
	r, err := LoadRetention(ctx, l.st)
	if err == nil {
		err = Prune(ctx, l.st, "audit_log", r, l.clock.Now())
	}
	_ = err // pruning is housekeeping: the next round tries again
}
