package cli

import (
	"context"
	"time"

	"github.com/keygate/keygate/backend/console"
)

func runAudit(ctx context.Context, env *Env, args []string) error {
	const usage = "audit list [--org ORG_ID] [--limit N] [--before ID] [--json]"
	if len(args) == 0 || args[0] != "list" {
		return usagef("usage: keygate %s", usage)
	}
	f := env.newFlags("audit list")
	org := f.String("org", "", "organization id (default: the first organization); entries of no organization are included")
	limit := f.Int("limit", 100, "at most this many entries, newest first (1 to 500)")
	before := f.Int64("before", 0, "only entries older than this entry id (the nextBefore of the previous page)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, usage); err != nil {
		return err
	}
	p, err := call[console.AuditPage](ctx, env, "ListAudit", console.ListAuditInput{Org: *org, Limit: *limit, Before: *before})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, p)
	}
	tw := env.Table(env.headers("cli.audit.col.time", "cli.audit.col.actor", "cli.routes.col.org", "cli.audit.col.action",
		"cli.audit.col.target", "cli.audit.col.detail", "cli.audit.col.client")...)
	for _, e := range p.Entries {
		actor := e.Actor
		if e.ActorEmail != "" {
			actor = e.ActorEmail
		}
		tw.Row(e.At.Format(time.RFC3339), actor, e.OrgID, e.Action, e.Target, e.Detail, e.ClientAddr)
	}
	return tw.Flush()
}
