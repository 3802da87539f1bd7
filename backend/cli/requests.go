package cli

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/keygate/keygate/backend/console"
)

// runRequests prints the gateway's request log (kept in the database, so a running server's
// requests show here too).
func runRequests(ctx context.Context, env *Env, args []string) error {
	const usage = "requests list [--org ORG_ID] [--status 4xx|401] [--key KEY_ID] [--route PREFIX] [--since TIME] [--until TIME] [--limit N] [--format table|csv|ndjson] [--json]"
	if len(args) == 0 || args[0] != "list" {
		return usagef("usage: keygate %s", usage)
	}
	f := env.newFlags("requests list")
	org := f.String("org", "", "organization id (default: the first organization)")
	status := f.String("status", "", "only this status class (4xx) or code (401)")
	key := f.String("key", "", "only requests made with this key id")
	route := f.String("route", "", "only requests of this route prefix")
	since := f.String("since", "", "from this time on: RFC 3339 (2026-01-30T15:45:00Z) or a span back from now (15m, 24h, 7d)")
	until := f.String("until", "", "before this time (the same forms as --since)")
	limit := f.Int("limit", 100, "at most this many requests, newest first (1 to 1000)")
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
	list, err := call[console.RequestList](ctx, env, "ListRequests", console.ListRequestsInput{Org: *org, Status: *status,
		KeyID: *key, Route: *route, From: timeFlag(*since, now), To: timeFlag(*until, now), Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	switch *format {
	case "ndjson":
		return writeNDJSON(env.Stdout, list.Requests)
	case "csv":
		rows := make([][]string, 0, len(list.Requests))
		for _, e := range list.Requests {
			hj, _ := json.Marshal(e.Headers)
			rows = append(rows, []string{strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(time.RFC3339Nano), e.RequestID, e.Method,
				e.Path, strconv.Itoa(e.Status), strconv.FormatFloat(float64(e.LatencyUS)/1000, 'f', -1, 64), e.Route, e.KeyID,
				e.KeyName, e.UserID, e.OrgID, e.ErrorCode, e.ClientAddr, string(hj)})
		}
		return writeCSV(env.Stdout, []string{"id", "time", "requestId", "method", "path", "status", "latencyMs", "route", "keyId",
			"keyName", "userId", "orgId", "errorCode", "clientAddr", "headers"}, map[int]bool{0: true, 5: true, 6: true}, rows)
	}
	tw := env.Table("TIME", "METHOD", "PATH", "STATUS", "LATENCY", "KEY", "ROUTE", "ERROR")
	for _, e := range list.Requests {
		tw.Row(e.Time.UTC().Format(time.RFC3339), e.Method, e.Path, strconv.Itoa(e.Status),
			(time.Duration(e.LatencyUS) * time.Microsecond).String(), e.KeyID, e.Route, e.ErrorCode)
	}
	return tw.Flush()
}
