package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// TestMain lets the test binary act as a second process that holds a database open.
func TestMain(m *testing.M) {
	if dir := os.Getenv("KEYGATE_TEST_HOLD_DB"); dir != "" {
		st, err := store.Open(context.Background(), dir)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if _, err := st.Write.Exec(`INSERT OR REPLACE INTO settings (name, value) VALUES ('holder', 'yes')`); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("holding")
		os.Stdin.Read(make([]byte, 1)) // until the parent closes our stdin
		st.Close()
		os.Exit(0)
	}
	os.Exit(pgtest.Main(m))
}

func setting(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	err := db.QueryRow(`SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func put(t *testing.T, st *store.Store, name, value string) {
	t.Helper()
	if _, err := st.Write.Exec(`INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)`, name, value); err != nil {
		t.Fatal(err)
	}
}

func openDir(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestBackupIsOnlineConsistentAndPrivate(t *testing.T) {
	dir := t.TempDir()
	st := openDir(t, dir)
	defer st.Close()

	// Writers keep going while the backup runs; every row acknowledged before Backup starts
	// must be in the copy.
	var acked atomic.Int64
	for i := 0; i < 100; i++ {
		put(t, st, fmt.Sprintf("before-%d", i), "v")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := st.Write.Exec(`INSERT INTO settings (name, value) VALUES (?, 'v')`, fmt.Sprintf("during-%d", i)); err != nil {
				t.Error(err)
				return
			}
			acked.Add(1)
		}
	}()
	for acked.Load() < 10 {
		time.Sleep(time.Millisecond)
	}
	dest := filepath.Join(t.TempDir(), "backup.db")
	start := time.Now()
	var calls, lastDone, lastTotal atomic.Int64
	err := store.Backup(ctx, dir, dest, store.BackupOptions{Progress: func(done, total int64) {
		calls.Add(1)
		lastDone.Store(done)
		lastTotal.Store(total)
	}})
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backup took %v with %d concurrent writes acknowledged", took, acked.Load())
	// Progress ends with the whole file reported (done == total, the source's size).
	if calls.Load() == 0 || lastTotal.Load() <= 0 || lastDone.Load() != lastTotal.Load() {
		t.Fatalf("progress: %d calls, last %d of %d", calls.Load(), lastDone.Load(), lastTotal.Load())
	}

	fi, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	for _, n := range listDir(t, filepath.Dir(dest)) {
		if n != "backup.db" {
			t.Errorf("left behind %s", n)
		}
	}
	b, err := sql.Open("sqlite3", "file:"+dest+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var check string
	if err := b.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	var n int
	b.QueryRow(`SELECT count(*) FROM settings WHERE name LIKE 'before-%'`).Scan(&n)
	if n != 100 {
		t.Errorf("backup holds %d of the 100 rows written before it", n)
	}
	if v, err := store.SchemaVersion(ctx, b); err != nil || v != store.LatestVersion() {
		t.Errorf("backup schema version %d, %v; want %d", v, err, store.LatestVersion())
	}
}

func TestBackupNeedsNoWriteLock(t *testing.T) {
	dir := t.TempDir()
	st := openDir(t, dir)
	defer st.Close()
	put(t, st, "k", "committed")
	// A write transaction stays open for the whole backup: the backup neither waits for it
	// nor sees its uncommitted row.
	tx, err := st.Write.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO settings (name, value) VALUES ('uncommitted', 'x')`); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "b.db")
	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := store.Backup(bctx, dir, dest, store.BackupOptions{}); err != nil {
		t.Fatalf("backup during an open write transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	b, _ := sql.Open("sqlite3", "file:"+dest+"?mode=ro")
	defer b.Close()
	if v := setting(t, b, "k"); v != "committed" {
		t.Errorf("k=%q in the backup", v)
	}
	if v := setting(t, b, "uncommitted"); v != "" {
		t.Errorf("backup holds an uncommitted row")
	}
}

func TestBackupRefusals(t *testing.T) {
	t.Run("no database", func(t *testing.T) {
		dir := t.TempDir()
		err := store.Backup(ctx, dir, filepath.Join(t.TempDir(), "b.db"), store.BackupOptions{})
		if !errors.Is(err, store.ErrNoDatabase) {
			t.Fatalf("err = %v, want ErrNoDatabase", err)
		}
		if names := listDir(t, dir); len(names) != 0 {
			t.Errorf("backup created %v in an empty data dir", names)
		}
	})
	t.Run("existing destination", func(t *testing.T) {
		dir := t.TempDir()
		st := openDir(t, dir)
		put(t, st, "k", "new")
		st.Close()
		dest := filepath.Join(t.TempDir(), "b.db")
		os.WriteFile(dest, []byte("precious"), 0o644)
		err := store.Backup(ctx, dir, dest, store.BackupOptions{})
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("err = %v, want ErrExists", err)
		}
		if b, _ := os.ReadFile(dest); string(b) != "precious" {
			t.Fatal("existing destination was changed")
		}
		if err := store.Backup(ctx, dir, dest, store.BackupOptions{Overwrite: true}); err != nil {
			t.Fatal(err)
		}
		b, _ := sql.Open("sqlite3", "file:"+dest+"?mode=ro")
		defer b.Close()
		if v := setting(t, b, "k"); v != "new" {
			t.Errorf("overwritten backup has k=%q", v)
		}
	})
	t.Run("onto the live database", func(t *testing.T) {
		dir := t.TempDir()
		openDir(t, dir).Close()
		err := store.Backup(ctx, dir, filepath.Join(dir, store.FileName), store.BackupOptions{Overwrite: true})
		if err == nil || !strings.Contains(err.Error(), "live database") {
			t.Fatalf("err = %v", err)
		}
	})
}

// backupWith makes a data dir whose database has settings k=value and returns a backup of it.
func backupWith(t *testing.T, value string) string {
	t.Helper()
	dir := t.TempDir()
	st := openDir(t, dir)
	put(t, st, "k", value)
	st.Close()
	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := store.Backup(ctx, dir, dest, store.BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	return dest
}

func TestRestoreKeepsPreviousDatabase(t *testing.T) {
	backup := backupWith(t, "from-backup")
	dir := t.TempDir()
	st := openDir(t, dir)
	put(t, st, "k", "live")
	st.Close()

	res, err := store.Restore(ctx, dir, backup)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != store.LatestVersion() || res.Previous == "" {
		t.Fatalf("result %+v", res)
	}
	if !strings.HasPrefix(filepath.Base(res.Previous), store.FileName+".bak-") {
		t.Errorf("previous kept as %s", res.Previous)
	}
	for _, n := range listDir(t, dir) {
		if n != store.FileName && n != filepath.Base(res.Previous) {
			t.Errorf("left behind %s", n)
		}
	}
	for _, p := range []string{filepath.Join(dir, store.FileName), res.Previous} {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	st = openDir(t, dir)
	defer st.Close()
	if v := setting(t, st.Read, "k"); v != "from-backup" {
		t.Errorf("restored k=%q", v)
	}
	prev, _ := sql.Open("sqlite3", "file:"+res.Previous+"?mode=ro")
	defer prev.Close()
	if v := setting(t, prev, "k"); v != "live" {
		t.Errorf("previous database k=%q, want the live value", v)
	}
}

func TestRestoreIntoEmptyDataDir(t *testing.T) {
	backup := backupWith(t, "b")
	dir := filepath.Join(t.TempDir(), "fresh")
	res, err := store.Restore(ctx, dir, backup)
	if err != nil {
		t.Fatal(err)
	}
	if res.Previous != "" {
		t.Errorf("previous = %q with no database before", res.Previous)
	}
	st := openDir(t, dir)
	defer st.Close()
	if v := setting(t, st.Read, "k"); v != "b" {
		t.Errorf("restored k=%q", v)
	}
}

func TestRestoreRefusesAndChangesNothing(t *testing.T) {
	good := backupWith(t, "b")
	newer := filepath.Join(t.TempDir(), "newer.db")
	copyFile(t, good, newer)
	execOn(t, newer, fmt.Sprintf(`UPDATE schema_version SET version = %d`, store.LatestVersion()+1))

	foreign := filepath.Join(t.TempDir(), "foreign.db")
	execOn(t, foreign, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`)
	emptyDB := filepath.Join(t.TempDir(), "empty.db")
	execOn(t, emptyDB, `PRAGMA user_version = 0`)
	text := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(text, []byte("hello, this is not a database at all, not even close\n"), 0o600)
	empty := filepath.Join(t.TempDir(), "zero")
	os.WriteFile(empty, nil, 0o600)
	damaged := filepath.Join(t.TempDir(), "damaged.db")
	copyFile(t, good, damaged)
	b, _ := os.ReadFile(damaged)
	os.WriteFile(damaged, b[:len(b)/2], 0o600) // truncated mid-file

	cases := []struct {
		name, path string
		want       error
		wantText   string
	}{
		{"newer schema", newer, store.ErrNewerSchema, "upgrade Keygate"},
		{"other application's database", foreign, store.ErrNotKeygate, ""},
		{"empty database", emptyDB, store.ErrNotKeygate, ""},
		{"text file", text, store.ErrNotKeygate, "not an SQLite database"},
		{"empty file", empty, store.ErrNotKeygate, ""},
		{"damaged", damaged, nil, ""},
		{"missing", filepath.Join(t.TempDir(), "nope.db"), os.ErrNotExist, ""},
		{"a directory", t.TempDir(), nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			st := openDir(t, dir)
			put(t, st, "k", "live")
			st.Close()
			before := listDir(t, dir)
			_, err := store.Restore(ctx, dir, c.path)
			if err == nil {
				t.Fatal("restore succeeded")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.wantText) {
				t.Errorf("err = %v, want it to say %q", err, c.wantText)
			}
			if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("data dir changed: %v → %v", before, after)
			}
			st = openDir(t, dir)
			defer st.Close()
			if v := setting(t, st.Read, "k"); v != "live" {
				t.Errorf("live k=%q after a refused restore", v)
			}
		})
	}
}

func TestRestoreRefusesWhileAnotherProcessHoldsTheDatabase(t *testing.T) {
	backup := backupWith(t, "from-backup")
	dir := t.TempDir()
	openDir(t, dir).Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KEYGATE_TEST_HOLD_DB="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 64)
	n, _ := stdout.Read(line)
	if !strings.HasPrefix(string(line[:n]), "holding") {
		t.Fatalf("helper said %q", line[:n])
	}
	before := listDir(t, dir)
	_, err := store.Restore(ctx, dir, backup)
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "stop `keygate serve`") {
		t.Errorf("err = %v, want ErrInUse with an instruction", err)
	}
	for _, n := range listDir(t, dir) {
		if strings.Contains(n, ".bak-") || strings.Contains(n, ".tmp-") {
			t.Errorf("refused restore left %s (before: %v)", n, before)
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}

	// The helper's write is intact and, once it has stopped, the restore goes through.
	st := openDir(t, dir)
	if v := setting(t, st.Read, "holder"); v != "yes" {
		t.Errorf("holder's write lost: %q", v)
	}
	st.Close()
	if _, err := store.Restore(ctx, dir, backup); err != nil {
		t.Fatalf("restore after the server stopped: %v", err)
	}
	st = openDir(t, dir)
	defer st.Close()
	if v := setting(t, st.Read, "k"); v != "from-backup" {
		t.Errorf("restored k=%q", v)
	}
}

func TestRestoreRefusesWhileThisProcessHoldsTheDatabase(t *testing.T) {
	backup := backupWith(t, "b")
	dir := t.TempDir()
	st := openDir(t, dir)
	defer st.Close()
	put(t, st, "k", "live")
	if _, err := store.Restore(ctx, dir, backup); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("err = %v, want ErrInUse", err)
	}
	put(t, st, "k", "still writable")
	if v := setting(t, st.Read, "k"); v != "still writable" {
		t.Errorf("k=%q", v)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func execOn(t *testing.T, path, q string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// TestStoreBackup: an open store backs itself up (the console's download) while it stays open
// and writable, with the same checks as Backup; a PostgreSQL store refuses with ErrNotSQLite
// and writes nothing.
func TestStoreBackup(t *testing.T) {
	dir := t.TempDir()
	st := openDir(t, dir)
	defer st.Close()
	put(t, st, "k", "kept")
	dest := filepath.Join(t.TempDir(), "b.db")
	if err := st.Backup(ctx, dest, store.BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	put(t, st, "k", "after") // the store is still open and writable
	b, _ := sql.Open("sqlite3", "file:"+dest+"?mode=ro")
	defer b.Close()
	if v := setting(t, b, "k"); v != "kept" {
		t.Errorf("backup has k=%q, want kept", v)
	}
	if err := st.Backup(ctx, dest, store.BackupOptions{}); !errors.Is(err, store.ErrExists) {
		t.Errorf("onto an existing file: %v, want ErrExists", err)
	}

	pg, err := store.OpenPostgres(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	other := filepath.Join(t.TempDir(), "pg.db")
	if err := pg.Backup(ctx, other, store.BackupOptions{}); !errors.Is(err, store.ErrNotSQLite) {
		t.Fatalf("PostgreSQL: %v, want ErrNotSQLite", err)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PostgreSQL: a file was written (%v)", err)
	}
}
