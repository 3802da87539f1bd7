package cli

import (
	"context"
	"fmt"
	"sort"

	"github.com/keygate/keygate/backend/store"
)

const storeUsage = "store copy --to postgres://USER:PASSWORD@HOST/DB"

// runStore moves an instance between engines: `store copy --to URL` copies the SQLite database
// of the data directory into an empty PostgreSQL database.
func runStore(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "copy" {
		return usagef("usage: keygate %s", storeUsage)
	}
	f := env.newFlags("store copy")
	to := f.String("to", "", "URL of the empty PostgreSQL database to copy into")
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, storeUsage); err != nil {
		return err
	}
	if *to == "" {
		return usagef("usage: keygate %s", storeUsage)
	}
	if !store.IsPostgresURL(*to) {
		return usagef("--to must be a postgres:// or postgresql:// URL")
	}
	if env.DatabaseURL() != "" {
		return usagef("store copy reads the SQLite database of the data directory: run it without --database (and without $KEYGATE_DATABASE_URL)")
	}
	src, err := env.Store(ctx)
	if err != nil {
		return err
	}
	progress, done := env.Progress(env.t("cli.progress.copy", nil), false, false)
	res, err := store.Copy(ctx, src, *to, progress)
	done()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(res.Tables))
	for t := range res.Tables {
		names = append(names, t)
	}
	sort.Strings(names)
	tw := env.Table(env.t("cli.store.table", nil), env.t("cli.store.rows", nil))
	for _, t := range names {
		tw.Row(t, fmt.Sprint(res.Tables[t]))
	}
	tw.Flush()
	fmt.Fprintln(env.Stdout, env.t("cli.store.copied", map[string]any{"Rows": res.Rows, "From": src.Name, "To": store.RedactURL(*to)}))
	fmt.Fprintln(env.Stdout, env.t("cli.store.next", nil))
	return nil
}
