package usage

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/settings"
	"github.com/keygate/keygate/backend/store"
)

// Retention of usage rollups, in days. It is its own setting, apart from the request log's
// (audit.Retention): rollups are small, so they outlive the log's row cap.
const (
	DefaultRetentionDays = 90
	MinRetentionDays     = 1
	MaxRetentionDays     = 3650
)

// ErrInvalidRetention means a usage retention outside 1–3650 days.
var ErrInvalidRetention error = &problem.Invalid{Field: "usageRetentionDays", Code: "range", Msg: "validation.usage.retention",
	Data: map[string]any{"Count": MinRetentionDays, "Max": MaxRetentionDays}, Text: "usage retention must be 1 to 3650 days"}

// LoadRetention returns the stored usage retention in days (DefaultRetentionDays when never
// set or out of range).
func LoadRetention(ctx context.Context, st *store.Store) (int, error) {
	vs, err := settings.New(st).Get(ctx, settings.UsageRetentionDays)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(vs[settings.UsageRetentionDays])
	if err != nil || n < MinRetentionDays || n > MaxRetentionDays {
		return DefaultRetentionDays, nil
	}
	return n, nil
}

// SaveRetention stores the usage retention in days.
func SaveRetention(ctx context.Context, st *store.Store, days int) error {
	values, err := RetentionValues(days)
	if err != nil {
		return err
	}
	return settings.New(st).Set(ctx, values)
}

// RetentionValues are the settings rows that store days, for a caller that writes them in a
// transaction with other settings and their audit entry.
func RetentionValues(days int) (map[string]string, error) {
	if days < MinRetentionDays || days > MaxRetentionDays {
		return nil, ErrInvalidRetention
	}
	return map[string]string{settings.UsageRetentionDays: strconv.Itoa(days)}, nil
}

// Prune deletes the rollups older than the retention setting.
func Prune(ctx context.Context, st *store.Store, now time.Time) error {
	days, err := LoadRetention(ctx, st)
	if err != nil {
		return err
	}
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()
	if _, err := st.Write.ExecContext(ctx, `DELETE FROM usage_minutes WHERE minute < ?`, cutoff); err != nil {
		return fmt.Errorf("prune usage: %w", err)
	}
	return nil
}
