package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/keygate/keygate/backend/store"
)

// errBackupPostgres refuses backup and restore against PostgreSQL, whose own tools do it.
var errBackupPostgres = errors.New("backup and restore work on the SQLite file; for a PostgreSQL database use pg_dump and pg_restore")

// runBackup copies the live database to FILE; servers may keep running meanwhile.
func runBackup(ctx context.Context, env *Env, args []string) error {
	const usage = "backup FILE [--force]"
	f := env.newFlags("backup")
	force := f.Bool("force", false, "replace FILE if it exists")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, usage); err != nil {
		return err
	}
	if env.DatabaseURL() != "" {
		return errBackupPostgres
	}
	dir, err := env.ResolvedDataDir()
	if err != nil {
		return err
	}
	if err := store.Backup(ctx, dir, pos[0], store.BackupOptions{Overwrite: *force}); err != nil {
		return err
	}
	abs, _ := filepath.Abs(pos[0])
	fmt.Fprintf(env.Stdout, "Backed up %s to %s.\n", filepath.Join(dir, store.FileName), abs)
	fmt.Fprintln(env.Stdout, "The backup holds key hashes and account data: keep it as private as the data directory.")
	return nil
}

// runRestore replaces the database with a backup; the server must be stopped.
func runRestore(ctx context.Context, env *Env, args []string) error {
	const usage = "restore FILE"
	f := env.newFlags("restore")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, usage); err != nil {
		return err
	}
	if env.DatabaseURL() != "" {
		return errBackupPostgres
	}
	dir, err := env.ResolvedDataDir()
	if err != nil {
		return err
	}
	res, err := store.Restore(ctx, dir, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Restored %s into %s (schema version %d).\n", pos[0], filepath.Join(dir, store.FileName), res.Version)
	if res.Version < store.LatestVersion() {
		fmt.Fprintf(env.Stdout, "It will be upgraded to schema version %d when Keygate next opens it.\n", store.LatestVersion())
	}
	if res.Previous != "" {
		fmt.Fprintf(env.Stdout, "The previous database is kept as %s.\n", res.Previous)
	}
	return nil
}
