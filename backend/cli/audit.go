package cli

import (
	"context"
	"time"

	"github.com/keygate/keygate/backend/audit"
)

func runAudit(ctx context.Context, env *Env, args []string) error {
	const usage = "audit list [--org ORG_ID] [--limit N] [--json]"
	if len(args) == 0 || args[0] != "list" {
		return usagef("usage: keygate %s", usage)
	}
	f := env.newFlags("audit list")
	org := f.String("org", "", "only this organization's entries (default: all)")
	limit := f.Int("limit", 100, "at most this many entries, newest first (1 to 500)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, usage); err != nil {
		return err
	}
	if *limit < 1 || *limit > 500 {
		return usagef("--limit must be between 1 and 500")
	}
	st, err := env.Store(ctx)
	if err != nil {
		return err
	}
	es, err := audit.New(st, nil).List(ctx, audit.Filter{OrgID: *org, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, es)
	}
	tw := env.Table("TIME", "ACTOR", "ORG", "ACTION", "TARGET", "DETAIL", "FROM")
	for _, e := range es {
		actor := e.Actor
		if e.ActorEmail != "" {
			actor = e.ActorEmail
		}
		tw.Row(e.At.Format(time.RFC3339), actor, e.OrgID, e.Action, e.Target, e.Detail, e.ClientAddr)
	}
	return tw.Flush()
}
