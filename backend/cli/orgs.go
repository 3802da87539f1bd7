package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/orgs"
)

func runOrgs(ctx context.Context, env *Env, args []string) error {
	const usage = "orgs list [--json] | keygate orgs create NAME [--json]"
	if len(args) == 0 {
		return usagef("usage: keygate %s", usage)
	}
	f := env.newFlags("orgs " + args[0])
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	st, err := env.Store(ctx)
	if err != nil {
		return err
	}
	svc := orgs.New(st, nil)
	switch args[0] {
	case "list":
		if err := wantArgs(pos, 0, "orgs list [--json]"); err != nil {
			return err
		}
		if _, err := svc.EnsureDefault(ctx); err != nil {
			return err
		}
		list, err := svc.List(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(env.Stdout, list)
		}
		tw := env.Table(env.t("cli.keys.col.id", nil), env.t("cli.keys.col.name", nil), env.t("cli.orgs.col.key_prefix", nil),
			env.t("cli.keys.col.created", nil))
		for _, o := range list {
			tw.Row(o.ID, o.Name, o.KeyPrefix, o.CreatedAt.Format(time.DateOnly))
		}
		return tw.Flush()
	case "create":
		if err := wantArgs(pos, 1, "orgs create NAME [--json]"); err != nil {
			return err
		}
		if _, err := svc.EnsureDefault(ctx); err != nil {
			return err
		}
		o, err := svc.Create(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("create organization: %w", err)
		}
		env.record(ctx, audit.Entry{OrgID: o.ID, Action: audit.OrgCreate, Target: o.ID, Detail: o.Name})
		if *asJSON {
			return writeJSON(env.Stdout, o)
		}
		fmt.Fprintf(env.Stdout, "Created organization %q (%s).\n", o.Name, o.ID)
		return nil
	}
	return usagef("unknown orgs command %q; usage: keygate %s", args[0], usage)
}
