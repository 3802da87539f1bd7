package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// writeLockKey is the PostgreSQL advisory lock that every write holds until it commits. It makes
// the writers of all nodes (and CLI runs) queue exactly like SQLite's single writer, so the
// check-then-write code of every package ("is this address taken?", "is this the last admin?")
// keeps its meaning on a shared database and two writers never deadlock on each other's rows.
// The cost is one writer at a time cluster-wide: fine for a control plane whose hot path (the
// gateway) never writes synchronously.
const writeLockKey int64 = 0x6b6579676174652e // "keygate."

// OpenPostgres connects to the PostgreSQL database at rawURL (postgres://user:pass@host/db?…,
// every parameter libpq knows) and applies pending migrations.
//
// Keygate talks to PostgreSQL through pgx's database/sql driver rather than its native pool: every
// package is written against database/sql (*sql.DB, *sql.Tx, sql.ErrNoRows), so one code path
// serves both engines, and the store never sits on the gateway's hot path (verifications are
// cached in memory). The change feed uses a native pgx connection for LISTEN.
func OpenPostgres(ctx context.Context, rawURL string) (*Store, error) {
	name := RedactURL(rawURL)
	if !IsPostgresURL(rawURL) {
		return nil, fmt.Errorf("database URL %s: only postgres:// or postgresql:// URLs are supported (without --database, Keygate uses the SQLite file in the data directory)", name)
	}
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %s: %s", name, redactError(err, rawURL))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "keygate"
	}
	w := sql.OpenDB(pgConnector{inner: stdlib.GetConnector(*cfg, pingAlways), serialize: true})
	w.SetMaxOpenConns(8)
	w.SetMaxIdleConns(4)
	w.SetConnMaxIdleTime(5 * time.Minute)

	rcfg := cfg.Copy()
	rcfg.RuntimeParams["default_transaction_read_only"] = "on"
	r := sql.OpenDB(pgConnector{inner: stdlib.GetConnector(*rcfg, pingIdle)})
	r.SetMaxOpenConns(16)
	r.SetMaxIdleConns(8)
	r.SetConnMaxIdleTime(5 * time.Minute)

	s := &Store{Write: w, Read: r, Dialect: Postgres, Name: name, url: rawURL}
	s.changes = newChanges(s)
	if err := w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to %s: %s", name, redactError(err, rawURL))
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// pingIdle checks a pooled connection that has been idle for a while before reusing it: after
// PostgreSQL restarts, every idle connection is dead, and the ping lets database/sql replace
// it instead of failing the next statement. (Busy connections are not pinged.)
var pingIdle = stdlib.OptionShouldPing(func(_ context.Context, p stdlib.ShouldPingParams) bool {
	return p.IdleDuration > 200*time.Millisecond
})

// pingAlways checks every writer connection before reuse. Writes are the control plane's (a few
// a second at most), so a round trip each costs nothing, and the first write after PostgreSQL
// restarted must not land on a connection the restart killed a moment ago.
var pingAlways = stdlib.OptionShouldPing(func(context.Context, stdlib.ShouldPingParams) bool { return true })

// IsPostgresURL reports whether u selects PostgreSQL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// RedactURL returns u without its password, for messages and logs.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		// An unparsable URL may still hold a password after "user:": show only the scheme.
		if scheme, _, ok := strings.Cut(u, "://"); ok {
			return scheme + "://…"
		}
		return "(unparsable URL)"
	}
	q := p.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		p.RawQuery = q.Encode()
	}
	return p.Redacted()
}

// redactError removes the URL's password from a driver error, which may quote the URL.
func redactError(err error, rawURL string) string {
	msg := err.Error()
	if p, perr := url.Parse(rawURL); perr == nil && p.User != nil {
		if pw, ok := p.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// dialectOf tells the engine behind an open pool.
func dialectOf(db *sql.DB) Dialect {
	if _, ok := db.Driver().(*stdlib.Driver); ok {
		return Postgres
	}
	return SQLite
}

// pgConnector opens pgx connections wrapped in pgConn.
type pgConnector struct {
	inner driver.Connector
	// serialize makes every write hold writeLockKey (the Write pool).
	serialize bool
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: conn.(*stdlib.Conn), serialize: c.serialize}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgConn is pgx's database/sql connection with two changes: `?` placeholders are rewritten to
// PostgreSQL's $1, $2, … (so each package writes its SQL once), and on the Write pool every
// transaction, and every statement run outside one, holds writeLockKey until it commits.
type pgConn struct {
	*stdlib.Conn
	serialize bool
}

var (
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.ConnPrepareContext = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.Pinger             = (*pgConn)(nil)
	_ driver.SessionResetter    = (*pgConn)(nil)
	_ driver.NamedValueChecker  = (*pgConn)(nil)
)

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, Rebind(query))
}

func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil || !c.serialize || opts.ReadOnly {
		return tx, err
	}
	if err := c.lock(ctx); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

func (c *pgConn) lock(ctx context.Context) error {
	_, err := c.Conn.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`,
		[]driver.NamedValue{{Ordinal: 1, Value: writeLockKey}})
	if err != nil {
		return fmt.Errorf("wait for the write lock: %w", err)
	}
	return nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) > 0 {
		query = Rebind(query)
	}
	if !c.serialize || c.Conn.Conn().PgConn().TxStatus() != 'I' {
		return c.Conn.ExecContext(ctx, query, args)
	}
	tx, err := c.BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		return nil, err
	}
	res, err := c.Conn.ExecContext(ctx, query, args)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return res, nil
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) > 0 {
		query = Rebind(query)
	}
	return c.Conn.QueryContext(ctx, query, args)
}

// Rebind rewrites `?` placeholders to PostgreSQL's $1, $2, …, leaving alone any `?` inside a
// string literal, a quoted identifier or a comment. A query without `?` comes back unchanged
// (so $n written by hand also works).
func Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case ch == '\'' || ch == '"':
			j := i + 1
			for j < len(query) {
				if query[j] == ch {
					if j+1 < len(query) && query[j+1] == ch { // doubled quote inside
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(query) {
				j = len(query) - 1
			}
			b.WriteString(query[i : j+1])
			i = j
		case ch == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i - 1
			}
			b.WriteString(query[i : i+j+1])
			i += j
		case ch == '/' && i+1 < len(query) && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			end := len(query) - 1
			if j >= 0 {
				end = i + 2 + j + 1
			}
			b.WriteString(query[i : end+1])
			i = end
		case ch == '?':
			n++
			b.WriteByte('$')
			b.WriteString(fmt.Sprint(n))
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
