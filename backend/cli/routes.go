package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/routes"
)

const routesUsage = `routes list [--json]
       keygate routes add PREFIX UPSTREAM_URL [--strip-prefix] [--org ORG_ID] [--openapi FILE_OR_URL]
                          [--public] [--query-key PARAM] [--max-body BYTES] [--validate] [--console-session]
       keygate routes remove PREFIX`

// runRoutes manages the gateway's routes; a running server picks changes up within a second.
func runRoutes(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: keygate %s", routesUsage)
	}
	switch args[0] {
	case "list":
		return routesList(ctx, env, args[1:])
	case "add":
		return routesAdd(ctx, env, args[1:])
	case "remove":
		return routesRemove(ctx, env, args[1:])
	}
	return usagef("unknown routes command %q; usage: keygate %s", args[0], routesUsage)
}

func routesList(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("routes list")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "routes list [--json]"); err != nil {
		return err
	}
	st, err := env.Store(ctx)
	if err != nil {
		return err
	}
	rs, err := routes.New(st, nil).List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rs)
	}
	if len(rs) == 0 {
		fmt.Fprintln(env.Stdout, "No routes. Add one with: keygate routes add / http://127.0.0.1:9000")
		return nil
	}
	tw := env.Table("PREFIX", "UPSTREAM", "AUTH", "STRIP", "ORG", "OPTIONS")
	for _, r := range rs {
		auth := "key"
		if !r.AuthRequired {
			auth = "public"
		}
		org := r.OrgID
		if org == "" {
			org = "any"
		}
		opts := ""
		if r.QueryKeyParam != "" {
			opts += "query-key=" + r.QueryKeyParam + " "
		}
		if r.MaxBodyBytes > 0 {
			opts += fmt.Sprintf("max-body=%d ", r.MaxBodyBytes)
		}
		if r.ValidateRequests {
			opts += "validate "
		}
		if r.ConsoleSession {
			opts += "console-session "
		}
		if r.OpenAPISource != "" {
			opts += "openapi=" + r.OpenAPISource
		}
		tw.Row(r.Prefix, r.Upstream, auth, fmt.Sprint(yesNo(r.StripPrefix)), org, strings.TrimSpace(opts))
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func routesAdd(ctx context.Context, env *Env, args []string) error {
	const usage = "routes add PREFIX UPSTREAM_URL [--strip-prefix] [--org ORG_ID] [--openapi FILE_OR_URL] [--public] [--query-key PARAM] [--max-body BYTES] [--validate] [--console-session]"
	f := env.newFlags("routes add")
	strip := f.Bool("strip-prefix", false, "remove the route prefix before forwarding")
	org := f.String("org", "", "only keys of this organization may use the route (default: any)")
	oas := f.String("openapi", "", "the upstream's OpenAPI document: a file path or URL")
	public := f.Bool("public", false, "no key needed on this route")
	queryKey := f.String("query-key", "", "also accept the key in this query parameter (off by default: URLs leak into logs)")
	maxBody := f.Int64("max-body", 0, "largest request body in bytes (0: no limit)")
	validate := f.Bool("validate", false, "check requests against the OpenAPI document")
	consoleSession := f.Bool("console-session", false, "let pages served through the gateway call this route with the signed-in console session")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, usage); err != nil {
		return err
	}
	st, err := env.Store(ctx)
	if err != nil {
		return err
	}
	auth := !*public
	r, err := routes.New(st, nil).Add(ctx, routes.Params{Prefix: pos[0], Upstream: pos[1], StripPrefix: *strip, OrgID: *org,
		OpenAPISource: *oas, AuthRequired: &auth, QueryKeyParam: *queryKey, MaxBodyBytes: *maxBody, ValidateRequests: *validate,
		ConsoleSession: *consoleSession})
	if err != nil {
		return err
	}
	env.record(ctx, audit.Entry{OrgID: r.OrgID, Action: audit.RouteAdd, Target: r.ID, Detail: r.Prefix + " → " + r.Upstream})
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(r)
	}
	fmt.Fprintf(env.Stdout, "Added route %s → %s (%s). A running server uses it within a second.\n", r.Prefix, r.Upstream, r.ID)
	return nil
}

func routesRemove(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("routes remove")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "routes remove PREFIX"); err != nil {
		return err
	}
	st, err := env.Store(ctx)
	if err != nil {
		return err
	}
	rs := routes.New(st, nil)
	r, err := rs.GetByPrefix(ctx, pos[0])
	if err == nil {
		err = rs.Remove(ctx, r.ID)
	}
	if err != nil {
		return fmt.Errorf("remove route %s: %w", pos[0], err)
	}
	env.record(ctx, audit.Entry{OrgID: r.OrgID, Action: audit.RouteRemove, Target: r.ID, Detail: r.Prefix})
	fmt.Fprintf(env.Stdout, "Removed route %s.\n", pos[0])
	return nil
}
