package cli

import (
	"context"
	"strconv"
	"time"

	"github.com/keygate/keygate/backend/console"
)

// runRequests prints the gateway's request log (kept in the database, so a running server's
// requests show here too).
func runRequests(ctx context.Context, env *Env, args []string) error {
	const usage = "requests list [--org ORG_ID] [--status 4xx|401] [--key KEY_ID] [--route PREFIX] [--limit N] [--json]"
	if len(args) == 0 || args[0] != "list" {
		return usagef("usage: keygate %s", usage)
	}
	f := env.newFlags("requests list")
	org := f.String("org", "", "organization id (default: the first organization)")
	status := f.String("status", "", "only this status class (4xx) or code (401)")
	key := f.String("key", "", "only requests made with this key id")
	route := f.String("route", "", "only requests of this route prefix")
	limit := f.Int("limit", 100, "at most this many requests, newest first (1 to 1000)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, usage); err != nil {
		return err
	}
	list, err := call[console.RequestList](ctx, env, "ListRequests", console.ListRequestsInput{Org: *org, Status: *status,
		KeyID: *key, Route: *route, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	tw := env.Table("TIME", "METHOD", "PATH", "STATUS", "LATENCY", "KEY", "ROUTE", "ERROR")
	for _, e := range list.Requests {
		tw.Row(e.Time.UTC().Format(time.RFC3339), e.Method, e.Path, strconv.Itoa(e.Status),
			(time.Duration(e.LatencyUS) * time.Microsecond).String(), e.KeyID, e.Route, e.ErrorCode)
	}
	return tw.Flush()
}
