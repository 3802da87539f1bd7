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
	progress, done := env.Progress(env.t("cli.progress.backup", nil), true, false)
	err = store.Backup(ctx, dir, pos[0], store.BackupOptions{Overwrite: *force, Progress: progress})
	done()
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(pos[0])
	fmt.Fprintln(env.Stdout, env.t("cli.backup.done", map[string]any{"Source": filepath.Join(dir, store.FileName), "Path": abs}))
	fmt.Fprintln(env.Stdout, env.t("cli.backup.private", nil))
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
	progress, done := env.Progress(env.t("cli.progress.restore", nil), true, false)
	res, err := store.Restore(ctx, dir, pos[0], progress)
	done()
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, env.t("cli.restore.done", map[string]any{"Path": pos[0], "Target": filepath.Join(dir, store.FileName), "Version": res.Version}))
	if res.Version < store.LatestVersion() {
		fmt.Fprintln(env.Stdout, env.t("cli.restore.upgrade", map[string]any{"Version": store.LatestVersion()}))
	}
	if res.Previous != "" {
		fmt.Fprintln(env.Stdout, env.t("cli.restore.previous", map[string]any{"Path": res.Previous}))
	}
	return nil
}
