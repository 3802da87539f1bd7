package cli

import (
	"context"
	"strconv"
	"time"

	"github.com/keygate/keygate/backend/console"
)

func runAudit(ctx context.Context, env *Env, args []string) error {
	const usage = "audit list [--org ORG_ID] [--action ACTION] [--actor ACTOR] [--since TIME] [--until TIME] [--limit N] [--before ID] [--format table|csv|ndjson] [--json]"
	if len(args) == 0 || args[0] != "list" {
		return usagef("usage: keygate %s", usage)
	}
	f := env.newFlags("audit list")
	org := f.String("org", "", "organization id (default: the first organization); entries of no organization are included")
	limit := f.Int("limit", 100, "at most this many entries, newest first (1 to 500)")
	before := f.Int64("before", 0, "only entries older than this entry id (the nextBefore of the previous page)")
	action := f.String("action", "", "just this action, e.g. org.rename or login.fail")
	actor := f.String("actor", "", "just this actor: a user's e-mail address or id, cli, local or anonymous")
	since := f.String("since", "", "from this time on: RFC 3339 (2026-01-30T15:45:00Z) or a span back from now (15m, 24h, 7d)")
	until := f.String("until", "", "before this time (the same forms as --since)")
	format := f.String("format", "table", "table, csv or ndjson (csv and ndjson: every field, for a spreadsheet or a script)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, usage); err != nil {
		return err
	}
	if err := checkExportFormat(*format); err != nil {
		return err
	}
	now := time.Now()
	p, err := call[console.AuditPage](ctx, env, "ListAudit", console.ListAuditInput{Org: *org, Limit: *limit, Before: *before,
		Action: *action, Actor: *actor, From: timeFlag(*since, now), To: timeFlag(*until, now)})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, p)
	}
	switch *format {
	case "ndjson":
		return writeNDJSON(env.Stdout, p.Entries)
	case "csv":
		rows := make([][]string, 0, len(p.Entries))
		for _, e := range p.Entries {
			rows = append(rows, []string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.ActorEmail,
				e.OrgID, e.Action, e.Target, e.Detail, e.ClientAddr})
		}
		return writeCSV(env.Stdout, []string{"id", "at", "actor", "actorEmail", "orgId", "action", "target", "detail", "clientAddr"},
			map[int]bool{0: true}, rows)
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
