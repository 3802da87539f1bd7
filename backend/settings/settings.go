// Package settings owns the settings table: the instance's named values (the gateway's
// allowed origins and upstream timeout, the desktop user's language and theme). It is the
// only package that reads or writes that table; the packages whose settings they are (routes
// for the gateway's, console for the desktop's preferences) give the values their meaning
// and check them, and ask this package to keep them.
package settings

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/keygate/keygate/backend/store"
)

// Names of the stored settings. A name belongs to the package that gives it meaning.
const (
	GatewayAllowedOrigins  = "gateway.allowed_origins"     // routes: a JSON array of origins
	GatewayUpstreamTimeout = "gateway.upstream_timeout_ms" // routes: milliseconds
	DesktopLanguage        = "console.language"            // console: a language tag or ""
	DesktopTheme           = "console.theme"               // console: system, light or dark
	InstanceOrg            = "orgs.instance"               // orgs: the instance organization's id
	RetentionDays          = "retention.days"              // audit: days the audit and request logs keep rows
	RetentionRows          = "retention.rows"              // audit: rows the audit and request logs keep at most
	UsageRetentionDays     = "usage.retention_days"        // usage: days the per-minute usage rollups are kept
	// DesktopGatewayAutostart is "false" once the desktop window's user stopped the gateway
	// (console): the next start of the app leaves it stopped; otherwise the app starts it.
	DesktopGatewayAutostart = "desktop.gateway_autostart"
	DesktopWindow           = "desktop.window"      // main: the desktop window's last size and position, JSON
	GatewayPort             = "listen.gateway_port" // listen: the gateway's port, when no flag or variable sets it
	ConsolePort             = "listen.console_port" // listen: serve's console port, likewise
	// IdentityJWKSMaxAge is the key set's max-age (seconds) the last started server advertises
	// (identity): a rotation by any process waits at least this long before the new key signs.
	IdentityJWKSMaxAge = "identity.jwks_max_age_s"
)

// Store reads and writes settings.
type Store struct{ st *store.Store }

// New returns the settings of st.
func New(st *store.Store) *Store { return &Store{st: st} }

// Get returns the stored values of names; a name never set is absent from the map.
func (s *Store) Get(ctx context.Context, names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	if len(names) == 0 {
		return out, nil
	}
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	q := `SELECT name, value FROM settings WHERE name IN (?` + strings.Repeat(", ?", len(names)-1) + `)`
	rows, err := s.st.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("read settings: %w", err)
		}
		out[name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	return out, nil
}

// Set stores values in one transaction, in name order. A value that does not change is not
// written, so it does not count as a change for the processes that watch the store.
func (s *Store) Set(ctx context.Context, values map[string]string) error {
	return s.SetRecorded(ctx, values, nil)
}

// Recorder records a change of settings in the change's own transaction tx (the audit entry),
// so that the change and its record commit together or not at all; its error rolls the change
// back and is returned by it. A Recorder must not use the store outside tx.
type Recorder func(ctx context.Context, tx *sql.Tx) error

// SetRecorded is Set, with rec (when not nil) run in its transaction after the values are
// written, whether or not one of them changed (the change was asked for).
func (s *Store) SetRecorded(ctx context.Context, values map[string]string, rec Recorder) error {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	changed := false
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		const up = `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value
			WHERE settings.value != excluded.value`
		for _, n := range names {
			res, err := tx.ExecContext(ctx, up, n, values[n])
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k > 0 {
				changed = true
			}
		}
		if rec == nil {
			return nil
		}
		return rec(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("store settings: %w", err)
	}
	if changed {
		// This process's caches (the gateway's settings, the port it follows) hear it now;
		// other processes through the database.
		s.st.Changes().Publish("settings")
	}
	return nil
}
