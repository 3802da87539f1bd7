package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/usage"
)

const usageUsage = `usage show [--org ORG_ID] [--key KEY_ID] [--route PREFIX] [--from WHEN] [--to WHEN] [--bucket 5m|1h|1d] [--json]
       keygate usage top --by key|route [--org ORG_ID] [--from WHEN] [--to WHEN] [--limit N] [--json]
WHEN is an RFC 3339 time (2026-11-30T12:00:00Z) or how long ago (90m, 24h, 7d).`

// runUsage prints the per-minute usage rollups through the console operations GetUsage and
// GetUsageTop: the same numbers as the console's charts.
func runUsage(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "show" && args[0] != "top" {
		return usagef("usage: keygate %s", usageUsage)
	}
	f := env.newFlags("usage " + args[0])
	org := f.String("org", "", "organization id (default: the first organization)")
	from := f.String("from", "", "start: RFC 3339 or how long ago, such as 24h or 7d (default: an hour before --to)")
	to := f.String("to", "", "end: RFC 3339 or how long ago (default: now)")
	asJSON := f.Bool("json", false, "print JSON")
	var key, route, bucket, by *string
	var limit *int
	if args[0] == "show" {
		key = f.String("key", "", "only requests made with this key id")
		route = f.String("route", "", "only requests of this route prefix")
		bucket = f.String("bucket", "", "bucket width such as 1m, 5m, 1h or 1d (default: at most 60 buckets)")
	} else {
		by = f.String("by", "", "key or route")
		limit = f.Int("limit", usage.DefaultTop, "at most this many, most requests first (1 to 50)")
	}
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "usage "+args[0]); err != nil {
		return err
	}
	now := time.Now()
	fromAt, err := when(*from, now, "--from")
	if err != nil {
		return err
	}
	toAt, err := when(*to, now, "--to")
	if err != nil {
		return err
	}
	if args[0] == "top" {
		top, err := call[console.UsageTop](ctx, env, "GetUsageTop", console.GetUsageTopInput{Org: *org, From: fromAt, To: toAt,
			By: *by, Limit: *limit})
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(env.Stdout, top)
		}
		first := env.t("cli.usage.col.route", nil)
		if *by == "key" {
			first = env.t("cli.usage.col.key", nil)
		}
		tw := env.Table(first, env.t("cli.usage.col.requests", nil), env.t("cli.usage.col.errors", nil),
			env.t("cli.usage.col.rejected", nil), "P50", "P95")
		for _, it := range top.Items {
			name := it.Route
			if *by == "key" {
				name = strings.TrimSpace(it.KeyName + " " + it.KeyID)
			}
			if name == "" {
				name = env.t("cli.usage.none", nil)
			}
			tw.Row(name, strconv.FormatInt(it.Total, 10), errorShare(it.Counts), strconv.FormatInt(it.Rejected, 10),
				ms(it.P50Ms), ms(it.P95Ms))
		}
		return tw.Flush()
	}
	s, err := call[usage.Series](ctx, env, "GetUsage", console.GetUsageInput{Org: *org, KeyID: *key, Route: *route,
		From: fromAt, To: toAt, Bucket: *bucket})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, s)
	}
	tw := env.Table(env.t("cli.usage.col.start", nil), env.t("cli.usage.col.requests", nil), "2xx/3xx", "4xx", "5xx",
		env.t("cli.usage.col.rejected", nil), "P50", "P95")
	for _, b := range s.Buckets {
		tw.Row(b.Start.UTC().Format("2006-01-02 15:04Z"), strconv.FormatInt(b.Total, 10), strconv.FormatInt(b.OK, 10),
			strconv.FormatInt(b.ClientErrors, 10), strconv.FormatInt(b.ServerErrors, 10), strconv.FormatInt(b.Rejected, 10),
			ms(b.P50Ms), ms(b.P95Ms))
	}
	sum := s.Summary
	tw.Row(env.t("cli.usage.total", nil), strconv.FormatInt(sum.Total, 10), strconv.FormatInt(sum.OK, 10),
		strconv.FormatInt(sum.ClientErrors, 10), strconv.FormatInt(sum.ServerErrors, 10), strconv.FormatInt(sum.Rejected, 10),
		ms(sum.P50Ms), ms(sum.P95Ms))
	return tw.Flush()
}

// when reads a --from/--to value: RFC 3339 as it is, or a duration (with d for days) before now.
func when(s string, now time.Time, flagName string) (string, error) {
	if s == "" {
		return "", nil
	}
	if _, err := time.Parse(time.RFC3339, s); err == nil {
		return s, nil
	}
	d, err := time.ParseDuration(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	}
	if err != nil || d < 0 {
		return "", usagef("%s wants an RFC 3339 time such as 2026-11-30T12:00:00Z or how long ago, such as 90m, 24h or 7d", flagName)
	}
	return now.Add(-d).UTC().Format(time.RFC3339), nil
}

func ms(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', -1, 64) + " ms"
}

func errorShare(c usage.Counts) string {
	if c.Total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f %%", float64(c.ClientErrors+c.ServerErrors)*100/float64(c.Total))
}
