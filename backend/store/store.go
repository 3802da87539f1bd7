// Package store opens Keygate's SQLite database: one writer connection, a pool of readers, and
// the embedded numbered migrations that bring the schema up to date in one transaction.
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
	"sort"
	"strconv"
	"strings"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// FileName is the database file inside the data directory.
const FileName = "keygate.db"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrNewerSchema is returned when the database was written by a newer Keygate.
var ErrNewerSchema = errors.New("database schema is newer than this Keygate")

// Store is an open database. Write goes through a single connection so that writers queue in
// Go rather than fight over SQLite's lock; Read is a pool for concurrent readers.
type Store struct {
	Write *sql.DB
	Read  *sql.DB
	Path  string
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

	s := &Store{Write: w, Read: r, Path: path}
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
	return "file:" + path + "?" + v.Encode()
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.Read.Close(), s.Write.Close())
}

// Tx runs fn in a write transaction and commits it if fn returns nil.
func (s *Store) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
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
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and '_'", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// LatestVersion is the schema version this build brings a database to.
func LatestVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// SchemaVersion reads the version row of an open database (0 for an empty database).
func SchemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var exists int
	if err := db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if exists == 0 {
		var tables int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil {
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

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	current, err := SchemaVersion(ctx, s.Write)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	if current > latest {
		return fmt.Errorf("%s has schema version %d but this Keygate knows up to %d; upgrade Keygate or restore a backup: %w",
			s.Path, current, latest, ErrNewerSchema)
	}
	if current == latest {
		return nil
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
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
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, latest); err != nil {
			return fmt.Errorf("record schema version: %w", err)
		}
		return nil
	})
}
