package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/keygate/keygate/backend/console"
)

const orgsUsage = `orgs list [--json]
       keygate orgs get ORG_ID [--json]
       keygate orgs create NAME [--json]
       keygate orgs rename ORG_ID NAME [--json]`

func runOrgs(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: keygate %s", orgsUsage)
	}
	f := env.newFlags("orgs " + args[0])
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	var (
		o    console.OrgView
		done string
	)
	switch args[0] {
	case "list":
		if err := wantArgs(pos, 0, "orgs list [--json]"); err != nil {
			return err
		}
		list, err := call[console.OrgList](ctx, env, "ListOrgs", console.NoInput{})
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(env.Stdout, list)
		}
		tw := env.Table(env.t("cli.keys.col.id", nil), env.t("cli.keys.col.name", nil), env.t("cli.orgs.col.key_prefix", nil),
			env.t("cli.keys.col.created", nil))
		for _, o := range list.Orgs {
			tw.Row(o.ID, o.Name, o.KeyPrefix, o.CreatedAt.Format(time.DateOnly))
		}
		return tw.Flush()
	case "get":
		if err := wantArgs(pos, 1, "orgs get ORG_ID [--json]"); err != nil {
			return err
		}
		if o, err = call[console.OrgView](ctx, env, "GetOrg", console.OrgInput{Org: pos[0]}); err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(env.Stdout, o)
		}
		tw := env.Table()
		tw.Row(env.t("cli.keys.col.id", nil), o.ID)
		tw.Row(env.t("cli.keys.col.name", nil), o.Name)
		tw.Row(env.t("cli.orgs.col.key_prefix", nil), o.KeyPrefix)
		tw.Row(env.t("cli.keys.col.created", nil), rfc3339(o.CreatedAt))
		return tw.Flush()
	case "create":
		if err := wantArgs(pos, 1, "orgs create NAME [--json]"); err != nil {
			return err
		}
		if o, err = call[console.OrgView](ctx, env, "CreateOrg", console.CreateOrgInput{Name: pos[0]}); err != nil {
			return err
		}
		done = "cli.orgs.created"
	case "rename":
		if err := wantArgs(pos, 2, "orgs rename ORG_ID NAME [--json]"); err != nil {
			return err
		}
		if o, err = call[console.OrgView](ctx, env, "RenameOrg", console.RenameOrgInput{Org: pos[0], Name: pos[1]}); err != nil {
			return err
		}
		done = "cli.orgs.renamed"
	default:
		return usagef("unknown orgs command %q; usage: keygate %s", args[0], orgsUsage)
	}
	if *asJSON {
		return writeJSON(env.Stdout, o)
	}
	fmt.Fprintln(env.Stdout, env.t(done, map[string]any{"Name": strconv.Quote(o.Name), "ID": o.ID}))
	return nil
}
