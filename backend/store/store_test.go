package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

var ctx = context.Background()

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "keygate")
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Write.Exec(`INSERT INTO settings (name, value) VALUES ('x', 'y')`); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v, want 0700", fi.Mode().Perm())
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(filepath.Join(dir, store.FileName+suffix))
		if err != nil {
			t.Errorf("%s: %v", suffix, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("keygate.db%s mode %v, want 0600", suffix, fi.Mode().Perm())
		}
	}
}

func TestOpenTightensExistingDir(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v, want 0700", fi.Mode().Perm())
	}
}

func TestPragmas(t *testing.T) {
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mode string
	var fk, sync int
	st.Write.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	st.Write.QueryRow(`PRAGMA foreign_keys`).Scan(&fk)
	st.Write.QueryRow(`PRAGMA synchronous`).Scan(&sync)
	if mode != "wal" || fk != 1 || sync != 2 {
		t.Errorf("journal_mode=%s foreign_keys=%d synchronous=%d; want wal, 1, 2 (FULL)", mode, fk, sync)
	}
	if _, err := st.Read.Exec(`INSERT INTO settings (name, value) VALUES ('a', 'b')`); err == nil {
		t.Error("the reader pool accepted a write")
	}
	if _, err := st.Write.Exec(`INSERT INTO keys (id, org_id, name, prefix, start, created_at, created_by) VALUES ('k', 'org_missing', 'n', 'kg', 'kg_x', 0, 't')`); err == nil {
		t.Error("a key referencing a missing organization was accepted")
	}
}

// dialects runs fn once per engine, each with a function that opens the same (initially empty)
// database again.
func dialects(t *testing.T, fn func(t *testing.T, open func() (*store.Store, error))) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, func() (*store.Store, error) { return store.Open(ctx, dir) })
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		fn(t, func() (*store.Store, error) { return store.OpenPostgres(ctx, url) })
	})
}

func TestReopenKeepsDataAndVersion(t *testing.T) {
	dialects(t, func(t *testing.T, open func() (*store.Store, error)) {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write.Exec(`INSERT INTO settings (name, value) VALUES (?, ?)`, "kept", "1"); err != nil {
			t.Fatal(err)
		}
		st.Close()
		st, err = open()
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var v string
		if err := st.Read.QueryRow(`SELECT value FROM settings WHERE name = 'kept'`).Scan(&v); err != nil || v != "1" {
			t.Fatalf("data lost across reopen: %q %v", v, err)
		}
		if got, _ := store.SchemaVersion(ctx, st.Read); got != store.LatestVersion() || got < 1 {
			t.Fatalf("schema version %d, want %d", got, store.LatestVersion())
		}
		if got, _ := st.SchemaVersion(ctx); got != store.LatestVersion() {
			t.Fatalf("Store.SchemaVersion %d, want %d", got, store.LatestVersion())
		}
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	dialects(t, func(t *testing.T, open func() (*store.Store, error)) {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write.Exec(`UPDATE schema_version SET version = 999`); err != nil {
			t.Fatal(err)
		}
		st.Close()
		_, err = open()
		if !errors.Is(err, store.ErrNewerSchema) {
			t.Fatalf("open newer schema: %v, want ErrNewerSchema", err)
		}
		if !strings.Contains(err.Error(), "999") || !strings.Contains(err.Error(), "upgrade Keygate") {
			t.Errorf("message does not say what to do: %v", err)
		}
	})
}

func TestRefusesForeignDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "foreign.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := store.OpenFile(ctx, path); err == nil || !strings.Contains(err.Error(), "not a Keygate database") {
		t.Fatalf("foreign database: %v", err)
	}

	url := pgtest.URL(t)
	pg, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if _, err := pg.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenPostgres(ctx, url); err == nil || !strings.Contains(err.Error(), "not a Keygate database") {
		t.Fatalf("foreign PostgreSQL database: %v", err)
	}
}
