package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

var (
	// ErrNotKeygate is returned by Restore for a file that is not a Keygate database.
	ErrNotKeygate = errors.New("not a Keygate database")
	// ErrInUse is returned by Restore while another connection (a running server, the desktop
	// app) holds the database open.
	ErrInUse = errors.New("database is in use")
	// ErrNoDatabase is returned by Backup when the data directory holds no database yet.
	ErrNoDatabase = errors.New("no database")
	// ErrExists is returned by Backup when the destination exists and overwriting was not asked for.
	ErrExists = errors.New("file exists")
	// ErrNotSQLite is returned by Store.Backup on PostgreSQL, whose own tools (pg_dump) back it up.
	ErrNotSQLite = errors.New("backups are of the SQLite file; for a PostgreSQL database use pg_dump")
)

// sqliteMagic starts every SQLite 3 database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// requiredTables are tables every Keygate schema has; a database without them is not Keygate's.
var requiredTables = []string{"schema_version", "orgs", "keys", "revision"}

// BackupOptions tune Backup.
type BackupOptions struct {
	// Overwrite replaces an existing destination (atomically: the old file stays whole until
	// the new one is complete).
	Overwrite bool
	// Progress, if set, is told how many bytes of the copy are written out of about how many
	// (the source file's size; VACUUM leaves out free pages, so the copy may end short of it).
	Progress Progress
}

// Progress is told that done of about total units (bytes, rows) are complete; a last call
// has done == total.
type Progress func(done, total int64)

// watchSize calls p with path's size every 100 ms until stop is called, then once with total.
func watchSize(path string, total int64, p Progress) (stop func()) {
	if p == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if fi, err := os.Stat(path); err == nil {
					p(min(fi.Size(), total), total)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		p(total, total)
	}
}

// Backup writes a consistent copy of the database in dir to dest while servers keep using it.
// VACUUM INTO reads one snapshot (WAL readers do not block writers nor wait for them) into a
// temporary file beside dest, created 0600 before SQLite writes a byte; the copy is checked,
// synced and renamed into place, so dest is either absent or complete.
func Backup(ctx context.Context, dir, dest string, opts BackupOptions) error {
	src := filepath.Join(dir, FileName)
	if _, err := os.Stat(src); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w in %s", ErrNoDatabase, dir)
		}
		return fmt.Errorf("back up %s: %w", src, err)
	}
	return backupFile(ctx, src, dest, opts)
}

// Backup writes a consistent copy of s's database to dest, as the package's Backup does for a
// data directory, while s stays open and in use. On PostgreSQL it returns ErrNotSQLite.
func (s *Store) Backup(ctx context.Context, dest string, opts BackupOptions) error {
	if s.Dialect != SQLite || s.Path == "" {
		return ErrNotSQLite
	}
	return backupFile(ctx, s.Path, dest, opts)
}

func backupFile(ctx context.Context, src, dest string, opts BackupOptions) error {
	dest, err := filepath.Abs(dest)
	if err != nil {
		return fmt.Errorf("back up to %s: %w", dest, err)
	}
	if same, _ := sameFile(src, dest); same {
		return fmt.Errorf("back up to %s: that is the live database", dest)
	}
	if !opts.Overwrite {
		if _, err := os.Lstat(dest); err == nil {
			return fmt.Errorf("back up to %s: %w (remove it or choose another name)", dest, ErrExists)
		}
	}
	// No journal_mode in this DSN: the copy must not change the live database in any way. (Not
	// _query_only either: SQLite counts VACUUM INTO as a write and refuses it there.)
	db, err := sql.Open("sqlite3", URI(src, url.Values{"_busy_timeout": {"10000"}}))
	if err != nil {
		return fmt.Errorf("open database %s: %w", src, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := SchemaVersion(ctx, db); err != nil {
		return fmt.Errorf("back up %s: %w", src, err)
	}
	tmp, err := vacuumInto(ctx, db, filepath.Dir(dest), filepath.Base(dest), sizeOf(src), opts.Progress)
	if err != nil {
		return fmt.Errorf("back up %s: %w", src, err)
	}
	if err := publish(tmp, dest, opts.Overwrite); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("back up to %s: %w", dest, err)
	}
	return nil
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	// Version is the schema version of the restored database (migrated on the next open).
	Version int
	// Previous is where the database that was replaced now lives ("" when there was none).
	Previous string
}

// Restore replaces the database in dir with the Keygate backup at src. It refuses a file that is
// not a Keygate database, fails SQLite's integrity check or comes from a newer schema, and a
// database that another connection holds open (ErrInUse: stop the server first). The previous
// database is kept as keygate.db.bak-<time>. keygate.db is at every instant either the whole
// old database or the whole new one: the copy is completed and synced beside it, the old file
// gets a second name, and one rename swaps them, all while an exclusive lock keeps every other
// connection out of the old file.
func Restore(ctx context.Context, dir, src string, progress ...Progress) (RestoreResult, error) {
	var res RestoreResult
	version, err := checkBackup(ctx, src)
	if err != nil {
		return res, err
	}
	res.Version = version
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return res, fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return res, fmt.Errorf("secure data dir: %w", err)
	}
	live := filepath.Join(dir, FileName)
	if same, _ := sameFile(src, live); same {
		return res, fmt.Errorf("restore %s: that is the live database", src)
	}

	// Copy first: nothing in dir changes until the copy is complete and checked.
	sdb, err := sql.Open("sqlite3", readOnlyDSN(src))
	if err != nil {
		return res, fmt.Errorf("open %s: %w", src, err)
	}
	sdb.SetMaxOpenConns(1)
	var p Progress
	if len(progress) > 0 {
		p = progress[0]
	}
	tmp, err := vacuumInto(ctx, sdb, dir, FileName+".restore", sizeOf(src), p)
	sdb.Close()
	if err != nil {
		return res, fmt.Errorf("restore %s: %w", src, err)
	}
	defer os.Remove(tmp) // a no-op once renamed

	if _, err := os.Stat(live); errors.Is(err, os.ErrNotExist) {
		if err := removeSidecars(live); err != nil {
			return res, err
		}
		if err := publish(tmp, live, false); err != nil {
			return res, fmt.Errorf("restore %s: %w", src, err)
		}
		return res, nil
	}

	// Take the live database exclusively. Switching it out of WAL mode needs every other
	// connection gone (SQLITE_BUSY otherwise), folds the WAL into the file and deletes it, so no
	// stale WAL can be replayed onto the restored file; the exclusive transaction then keeps
	// the lock until Close.
	ldb, err := sql.Open("sqlite3", URI(live, url.Values{
		"_locking_mode": {"EXCLUSIVE"},
		"_busy_timeout": {"1000"},
	}))
	if err != nil {
		return res, fmt.Errorf("open database %s: %w", live, err)
	}
	defer ldb.Close()
	ldb.SetMaxOpenConns(1)
	inUse := func(err error) error {
		if err == nil || isBusy(err) {
			return fmt.Errorf("%s: %w by another process; stop `keygate serve` (and close the desktop app) first, nothing was changed", live, ErrInUse)
		}
		return fmt.Errorf("lock database %s: %w", live, err)
	}
	conn, err := ldb.Conn(ctx)
	if err != nil {
		return res, inUse(err)
	}
	defer conn.Close()
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode=DELETE`).Scan(&mode); err != nil || mode != "delete" {
		return res, inUse(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN EXCLUSIVE; COMMIT`); err != nil {
		return res, inUse(err)
	}
	if _, err := os.Stat(live + "-wal"); err == nil {
		return res, fmt.Errorf("restore: %s-wal is still present after the checkpoint; nothing was changed", live)
	}

	prev := live + ".bak-" + time.Now().UTC().Format("20060102T150405.000Z")
	if err := os.Link(live, prev); err != nil {
		return res, fmt.Errorf("keep previous database as %s: %w", prev, err)
	}
	if err := syncDir(dir); err != nil {
		os.Remove(prev)
		return res, err
	}
	if err := removeSidecars(live); err != nil {
		os.Remove(prev)
		return res, err
	}
	if err := publish(tmp, live, true); err != nil {
		os.Remove(prev)
		return res, fmt.Errorf("restore %s: %w", src, err)
	}
	res.Previous = prev
	return res, nil
}

// checkBackup returns the schema version of the Keygate database at path, or why it is not one.
func checkBackup(ctx context.Context, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open backup: %w", err)
	}
	head := make([]byte, len(sqliteMagic))
	_, err = io.ReadFull(f, head)
	fi, statErr := f.Stat()
	f.Close()
	if statErr == nil && !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not a regular file", path)
	}
	if err != nil || !bytes.Equal(head, sqliteMagic) {
		return 0, fmt.Errorf("%s: %w (not an SQLite database)", path, ErrNotKeygate)
	}
	db, err := sql.Open("sqlite3", readOnlyDSN(path))
	if err != nil {
		return 0, fmt.Errorf("open backup %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&check); err != nil {
		return 0, fmt.Errorf("%s: %w (%v)", path, ErrNotKeygate, err)
	}
	if check != "ok" {
		return 0, fmt.Errorf("%s is damaged (integrity check: %s); nothing was changed", path, check)
	}
	for _, t := range requiredTables {
		var n int
		if err := db.QueryRowContext(ctx,
			`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, t).Scan(&n); err != nil {
			return 0, fmt.Errorf("read backup %s: %w", path, err)
		}
		if n == 0 {
			return 0, fmt.Errorf("%s: %w (no %s table)", path, ErrNotKeygate, t)
		}
	}
	v, err := SchemaVersion(ctx, db)
	if err != nil {
		return 0, fmt.Errorf("%s: %w (%v)", path, ErrNotKeygate, err)
	}
	if v < 1 {
		return 0, fmt.Errorf("%s: %w (no schema version)", path, ErrNotKeygate)
	}
	if latest := LatestVersion(); v > latest {
		return 0, fmt.Errorf("%s has schema version %d but this Keygate knows up to %d; upgrade Keygate first: %w",
			path, v, latest, ErrNewerSchema)
	}
	return v, nil
}

// vacuumInto writes a compacted copy of db's main database to a new file in dir and returns its
// path. The file is created empty with mode 0600 first (VACUUM INTO accepts an empty file), so
// the copy is never readable by others, and synced before returning.
// sizeOf is path's size, or 0.
func sizeOf(path string) int64 {
	if fi, err := os.Stat(path); err == nil {
		return fi.Size()
	}
	return 0
}

func vacuumInto(ctx context.Context, db *sql.DB, dir, base string, total int64, p Progress) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	f.Close()
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return "", err
	}
	stop := watchSize(tmp, total, p)
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, tmp)
	stop()
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("copy database: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	// A check of the copy itself: what is published must open and be whole.
	cdb, err := sql.Open("sqlite3", readOnlyDSN(tmp))
	if err == nil {
		var check string
		err = cdb.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&check)
		cdb.Close()
		if err == nil && check != "ok" {
			err = fmt.Errorf("integrity check of the copy: %s", check)
		}
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("check copy: %w", err)
	}
	return tmp, nil
}

// publish renames tmp to dest (replacing it when overwrite) and syncs the directory.
func publish(tmp, dest string, overwrite bool) error {
	if !overwrite {
		// Link fails when dest exists, so a file that appeared meanwhile is never replaced.
		if err := os.Link(tmp, dest); err != nil {
			if errors.Is(err, os.ErrExist) {
				return ErrExists
			}
			return err
		}
		os.Remove(tmp)
	} else if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dest))
}

// removeSidecars deletes a -wal or -shm left beside path with no database connection using it.
// A WAL that still has frames is not removed: it may hold acknowledged writes.
func removeSidecars(path string) error {
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return fmt.Errorf("%s-wal holds data not yet in %s; open and close Keygate once, then restore again", path, filepath.Base(path))
	}
	for _, s := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(path + s); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s%s: %w", path, s, err)
		}
	}
	return nil
}

func readOnlyDSN(path string) string {
	return URI(path, url.Values{"mode": {"ro"}, "_busy_timeout": {"2000"}})
}

func isBusy(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked
	}
	return strings.Contains(err.Error(), "database is locked")
}

func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
