// Package store opens Keygate's database — the embedded SQLite file (the default) or a shared
// PostgreSQL database — as a writer and a pool of readers, and applies the embedded numbered
// migrations of its dialect in one transaction.
//
// Every package writes its SQL once, for both dialects: `?` placeholders (rewritten to $n for
// PostgreSQL by this package's driver wrapper), times as Unix milliseconds in integers, upserts
// as INSERT … ON CONFLICT … DO UPDATE, and only functions both engines have. Writes go through
// Store.Write (or Store.Tx), which on both engines runs one writer at a time.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// FileName is the database file inside the data directory.
const FileName = "keygate.db"

//go:embed migrations
var migrationFiles embed.FS

// Dialect names the SQL engine behind a Store.
type Dialect string

// The two dialects. Their migrations live in migrations/sqlite and migrations/postgres.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrNewerSchema is returned when the database was written by a newer Keygate.
var ErrNewerSchema = errors.New("database schema is newer than this Keygate")

// Store is an open database. On SQLite, Write is a single connection so that writers queue in
// Go rather than fight over SQLite's lock; on PostgreSQL every write takes one advisory lock
// until it commits, so writers queue across all nodes the same way (see postgres.go). Read is a
// pool for concurrent readers that cannot write.
type Store struct {
	Write *sql.DB
	Read  *sql.DB
	// Path is the SQLite file ("" on PostgreSQL).
	Path string
	// Dialect is the engine.
	Dialect Dialect
	// Name says where the data is, for messages: the SQLite file, or the PostgreSQL URL without
	// its password.
	Name string
	// url is the PostgreSQL URL, password included, for the change feed's own connection.
	url string

	changes *Changes
}

// OpenURL opens the database a command line selects: databaseURL when set (postgres:// or
// postgresql://), else keygate.db in dir.
func OpenURL(ctx context.Context, dir, databaseURL string) (*Store, error) {
	if databaseURL == "" {
		return Open(ctx, dir)
	}
	return OpenPostgres(ctx, databaseURL)
}

// Open opens (creating if needed) keygate.db in dir, with dir 0700 and the file 0600, and
// applies pending migrations.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secure data dir: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dir, FileName))
}

// OpenFile opens the database at path. SQLite gives the -wal and -shm files the database
// file's mode, so creating the file 0600 first keeps all three private.
func OpenFile(ctx context.Context, path string) (*Store, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("secure database %s: %w", path, err)
	}

	w, err := sql.Open("sqlite3", dsn(path, url.Values{
		"_txlock":      {"immediate"},
		"_synchronous": {"FULL"},
		// Deleted and overwritten content is zeroed, so a pruned log row, a deleted session or
		// a redacted header value is gone from the file, not left in free space.
		"_secure_delete": {"on"},
	}))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)

	r, err := sql.Open("sqlite3", dsn(path, url.Values{"_query_only": {"true"}}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)

	s := &Store{Write: w, Read: r, Path: path, Dialect: SQLite, Name: path}
	s.changes = newChanges(s)
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func dsn(path string, extra url.Values) string {
	v := url.Values{
		"_journal_mode": {"WAL"},
		"_foreign_keys": {"on"},
		"_busy_timeout": {"10000"},
	}
	for k, vs := range extra {
		v[k] = vs
	}
	return URI(path, v)
}

// OpenAgain opens a second, independent Store on the same database, as another process (the CLI
// beside a server, another node) would.
func (s *Store) OpenAgain(ctx context.Context) (*Store, error) {
	if s.Dialect == Postgres {
		return OpenPostgres(ctx, s.url)
	}
	return OpenFile(ctx, s.Path)
}

// Close stops the change feed and closes both pools.
func (s *Store) Close() error {
	s.changes.close()
	if s.Read == s.Write {
		return s.Write.Close()
	}
	return errors.Join(s.Read.Close(), s.Write.Close())
}

// Tx runs fn in a write transaction and commits it if fn returns nil.
//
// On SQLite it also notes which revisions the transaction made (Changes.poll skips them: this
// process's subscribers had those changes from Publish). The transaction holds the write lock
// from its start (_txlock=immediate), so no other process can bump the revision between the
// two reads; the span is noted only once the commit succeeded, since after a rollback another
// process may make those same revision numbers, and before the poll may read again
// (Changes.commit).
func (s *Store) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.tx(ctx, fn, s.Dialect == SQLite)
}

// tx is Tx; noteRevisions is false for the migrations, which may run before the revision
// table exists.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error, noteRevisions bool) error {
	tx, err := s.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	var before int64
	if noteRevisions {
		if err := tx.QueryRowContext(ctx, `SELECT rev FROM revision WHERE id = 1`).Scan(&before); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	var after int64
	if noteRevisions {
		if err := tx.QueryRowContext(ctx, `SELECT rev FROM revision WHERE id = 1`).Scan(&after); err != nil {
			tx.Rollback()
			return err
		}
	}
	if !noteRevisions {
		return tx.Commit()
	}
	return s.changes.commit(tx, before, after)
}

// Revision returns the counter that every verification-relevant change bumps (see the
// revision table); a cache compares it to notice changes made by other processes.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	err := s.Read.QueryRowContext(ctx, `SELECT rev FROM revision WHERE id = 1`).Scan(&rev)
	return rev, err
}

type migration struct {
	version int
	name    string
	sql     string
	// step, when set, runs right after sql in the same transaction (goSteps).
	step func(context.Context, *sql.Tx) error
}

// migrateTo, when not 0, stops migrations at that version (tests build older databases).
var migrateTo int

// migrations returns the dialect's migrations in order. Each dialect has the same numbered
// files (checked here, so a migration written for one engine only fails every open, and the
// tests, instead of reaching users as two different schemas).
func migrations(d Dialect) ([]migration, error) {
	sets := map[Dialect][]migration{}
	root, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	for _, e := range root {
		if !e.IsDir() || (Dialect(e.Name()) != SQLite && Dialect(e.Name()) != Postgres) {
			return nil, fmt.Errorf("migration %s: migrations live in migrations/sqlite/ and migrations/postgres/, one file of the same name in each", e.Name())
		}
	}
	for _, dialect := range []Dialect{SQLite, Postgres} {
		dir := "migrations/" + string(dialect)
		entries, err := fs.ReadDir(migrationFiles, dir)
		if err != nil {
			return nil, err
		}
		var ms []migration
		for _, e := range entries {
			num, _, ok := strings.Cut(e.Name(), "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
				return nil, fmt.Errorf("migration %s/%s: name must be NNNN_name.sql", dialect, e.Name())
			}
			b, err := migrationFiles.ReadFile(dir + "/" + e.Name())
			if err != nil {
				return nil, err
			}
			ms = append(ms, migration{version: v, name: e.Name(), sql: string(b), step: goSteps[e.Name()]})
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
		for i := range ms {
			if i > 0 && ms[i].version == ms[i-1].version {
				return nil, fmt.Errorf("migrations %s/%s and %s: same number", dialect, ms[i-1].name, ms[i].name)
			}
		}
		sets[dialect] = ms
	}
	a, b := sets[SQLite], sets[Postgres]
	for i := 0; i < max(len(a), len(b)); i++ {
		if i >= len(a) || i >= len(b) || a[i].name != b[i].name {
			return nil, fmt.Errorf("migrations differ between sqlite/ and postgres/ (every migration needs both dialects, same file name): %s", firstDifference(a, b))
		}
	}
	for name := range goSteps {
		if !slices.ContainsFunc(a, func(m migration) bool { return m.name == name }) {
			return nil, fmt.Errorf("migration step %s names no migration file", name)
		}
	}
	if len(sets[d]) == 0 {
		return nil, fmt.Errorf("no migrations for dialect %q", d)
	}
	if migrateTo > 0 {
		i := sort.Search(len(sets[d]), func(i int) bool { return sets[d][i].version > migrateTo })
		return sets[d][:i], nil
	}
	return sets[d], nil
}

func firstDifference(a, b []migration) string {
	for i := 0; i < max(len(a), len(b)); i++ {
		switch {
		case i >= len(a):
			return "sqlite/ lacks " + b[i].name
		case i >= len(b):
			return "postgres/ lacks " + a[i].name
		case a[i].name != b[i].name:
			return "sqlite/" + a[i].name + " vs postgres/" + b[i].name
		}
	}
	return ""
}

// LatestVersion is the schema version this build brings a database to.
func LatestVersion() int {
	ms, err := migrations(SQLite)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// querier is what reading the schema version needs: a pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// SchemaVersion reads the version row of an open database (0 for an empty database).
func SchemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	return schemaVersion(ctx, db, dialectOf(db))
}

// SchemaVersion reads the store's version row.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return schemaVersion(ctx, s.Read, s.Dialect)
}

func schemaVersion(ctx context.Context, db querier, d Dialect) (int, error) {
	hasVersion, anyTable := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`,
		`SELECT count(*) FROM sqlite_master`
	if d == Postgres {
		hasVersion = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_version'`
		anyTable = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	var exists int
	if err := db.QueryRowContext(ctx, hasVersion).Scan(&exists); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if exists == 0 {
		var tables int
		if err := db.QueryRowContext(ctx, anyTable).Scan(&tables); err != nil {
			return 0, fmt.Errorf("read schema: %w", err)
		}
		if tables > 0 {
			return 0, errors.New("not a Keygate database (it has tables but no schema_version)")
		}
		return 0, nil
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// migrate brings the schema up to date. The version is read again inside the write
// transaction, which every other writer waits for (SQLite's lock, PostgreSQL's advisory lock),
// so nodes that start together apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations(s.Dialect)
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	current, err := schemaVersion(ctx, s.Write, s.Dialect)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	if err := refuseNewer(s.Name, current, latest); err != nil || current == latest {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		current, err := schemaVersion(ctx, tx, s.Dialect)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		if err := refuseNewer(s.Name, current, latest); err != nil || current == latest {
			return err
		}
		if current == 0 {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER NOT NULL)`); err != nil {
				return fmt.Errorf("create schema_version: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return fmt.Errorf("create schema_version: %w", err)
			}
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %s/%s: %w", s.Dialect, m.name, err)
			}
			if m.step != nil {
				if err := m.step(ctx, tx); err != nil {
					return fmt.Errorf("%s: apply migration %s/%s: %w", s.Name, s.Dialect, m.name, err)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, latest); err != nil {
			return fmt.Errorf("record schema version: %w", err)
		}
		return nil
	}, false)
}

func refuseNewer(name string, current, latest int) error {
	if current > latest {
		return fmt.Errorf("%s has schema version %d but this Keygate knows up to %d; upgrade Keygate or restore a backup: %w",
			name, current, latest, ErrNewerSchema)
	}
	return nil
}
