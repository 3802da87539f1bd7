package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/routes"
)

const routesUsage = `routes list [--json]
       keygate routes add PREFIX UPSTREAM_URL [--strip-prefix] [--org ORG_ID] [--openapi FILE_OR_URL]
                          [--public] [--query-key PARAM] [--max-body BYTES] [--validate] [--console-session] [--learn]
                          [--scope RESOURCE:ACTION]... [--identity-jwt] [--json]
       keygate routes update PREFIX_OR_ID [--prefix P] [--upstream URL] [the flags of add] [--json]
       keygate routes remove PREFIX_OR_ID [--json]
       keygate routes scopes [--org ORG_ID] [--json]`

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
	case "update":
		return routesUpdate(ctx, env, args[1:])
	case "remove":
		return routesRemove(ctx, env, args[1:])
	case "scopes":
		return routesScopes(ctx, env, args[1:])
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
	list, err := call[console.RouteList](ctx, env, "ListRoutes", console.NoInput{})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	if len(list.Routes) == 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.routes.none", nil))
		return nil
	}
	tw := env.Table(env.headers("cli.routes.col.prefix", "cli.routes.col.upstream", "cli.routes.col.auth", "cli.routes.col.strip_prefix",
		"cli.routes.col.org", "cli.routes.col.options")...)
	for _, r := range list.Routes {
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
		if r.Learn {
			opts += "learn "
		}
		if len(r.Scopes) > 0 {
			opts += "scopes=" + strings.Join(r.Scopes, ",") + " "
		}
		if n := len(r.DocumentScopes.All()); n > 0 {
			opts += fmt.Sprintf("document-scopes=%d ", n)
		}
		if r.IdentityJWT {
			opts += "identity-jwt "
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

// routeFlags are a route's settings as flags, shared by add and update.
type routeFlags struct {
	strip, public, validate *bool
	consoleSession, learn   *bool
	identityJWT             *bool
	scopes                  *listFlag
	org, openapi, queryKey  *string
	maxBody                 *int64
	asJSON                  *bool
}

func newRouteFlags(f *flag.FlagSet) routeFlags {
	return routeFlags{
		strip:    f.Bool("strip-prefix", false, "remove the route prefix before forwarding"),
		org:      f.String("org", "", "only keys of this organization may use the route (default: any)"),
		openapi:  f.String("openapi", "", "the upstream's OpenAPI document: a file path or URL"),
		public:   f.Bool("public", false, "no key needed on this route"),
		queryKey: f.String("query-key", "", "also accept the key in this query parameter (off by default: URLs leak into logs)"),
		maxBody:  f.Int64("max-body", 0, "largest request body in bytes (0: no limit)"),
		validate: f.Bool("validate", false, "check requests against the OpenAPI document"),
		consoleSession: f.Bool("console-session", false,
			"let pages served through the gateway call this route with the signed-in console session"),
		learn:       f.Bool("learn", false, learnFlag),
		identityJWT: f.Bool("identity-jwt", false, "send the upstream a signed identity (X-Keygate-Jwt, ES256)"),
		scopes:      scopesFlag(f),
		asJSON:      f.Bool("json", false, "print JSON"),
	}
}

func scopesFlag(f *flag.FlagSet) *listFlag {
	var l listFlag
	f.Var(&l, "scope", "a scope every request on the route needs, resource:action (repeatable; on update the flags replace the list, --scope '' clears it)")
	return &l
}

// apply sets the fields whose flags were given (all of them for a new route).
func (rf routeFlags) apply(f *flag.FlagSet, in *console.RouteInput, all bool) {
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if all || set["strip-prefix"] {
		in.StripPrefix = *rf.strip
	}
	if all || set["org"] {
		in.OrgID = *rf.org
	}
	if all || set["openapi"] {
		in.OpenAPISource = *rf.openapi
	}
	if all || set["public"] {
		auth := !*rf.public
		in.AuthRequired = &auth
	}
	if all || set["query-key"] {
		in.QueryKeyParam = *rf.queryKey
	}
	if all || set["max-body"] {
		in.MaxBodyBytes = *rf.maxBody
	}
	if all || set["validate"] {
		in.ValidateRequests = *rf.validate
	}
	if all || set["console-session"] {
		in.ConsoleSession = *rf.consoleSession
	}
	if all || set["learn"] {
		in.Learn = *rf.learn
	}
	if all || set["identity-jwt"] {
		in.IdentityJWT = *rf.identityJWT
	}
	if all || set["scope"] {
		in.Scopes = []string{}
		for _, sc := range *rf.scopes {
			if sc != "" {
				in.Scopes = append(in.Scopes, sc)
			}
		}
	}
}

func routesAdd(ctx context.Context, env *Env, args []string) error {
	const usage = "routes add PREFIX UPSTREAM_URL [--strip-prefix] [--org ORG_ID] [--openapi FILE_OR_URL] [--public] [--query-key PARAM] [--max-body BYTES] [--validate] [--console-session] [--learn] [--scope RESOURCE:ACTION]... [--identity-jwt] [--json]"
	f := env.newFlags("routes add")
	rf := newRouteFlags(f)
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, usage); err != nil {
		return err
	}
	in := console.RouteInput{Prefix: pos[0], Upstream: pos[1]}
	rf.apply(f, &in, true)
	r, err := call[routes.Route](ctx, env, "AddRoute", in)
	if err != nil {
		return err
	}
	if *rf.asJSON {
		return writeJSON(env.Stdout, r)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.routes.added", map[string]any{"Prefix": r.Prefix, "Upstream": r.Upstream, "ID": r.ID}),
		env.t("cli.routes.live", nil))
	printRouteScopes(env, r)
	return nil
}

func routesUpdate(ctx context.Context, env *Env, args []string) error {
	const usage = "routes update PREFIX_OR_ID [--prefix P] [--upstream URL] [--strip-prefix=false] [--org ORG_ID] [--openapi FILE_OR_URL] [--public=false] [--query-key PARAM] [--max-body BYTES] [--validate=false] [--learn=false] [--scope RESOURCE:ACTION]... [--identity-jwt=false] [--json]"
	f := env.newFlags("routes update")
	prefix := f.String("prefix", "", "the route's new prefix")
	upstream := f.String("upstream", "", "the route's new upstream URL")
	rf := newRouteFlags(f)
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, usage); err != nil {
		return err
	}
	cur, err := findRoute(ctx, env, pos[0])
	if err != nil {
		return err
	}
	// The operation replaces every setting: start from the route as it is.
	auth := cur.AuthRequired
	in := console.RouteInput{Prefix: cur.Prefix, Upstream: cur.Upstream, StripPrefix: cur.StripPrefix, OrgID: cur.OrgID,
		OpenAPISource: cur.OpenAPISource, AuthRequired: &auth, QueryKeyParam: cur.QueryKeyParam,
		MaxBodyBytes: cur.MaxBodyBytes, ValidateRequests: cur.ValidateRequests, ConsoleSession: cur.ConsoleSession, Learn: cur.Learn,
		Scopes: cur.Scopes, IdentityJWT: cur.IdentityJWT}
	if *prefix != "" {
		in.Prefix = *prefix
	}
	if *upstream != "" {
		in.Upstream = *upstream
	}
	rf.apply(f, &in, false)
	r, err := call[routes.Route](ctx, env, "UpdateRoute", console.UpdateRouteInput{ID: cur.ID, Prefix: in.Prefix,
		Upstream: in.Upstream, StripPrefix: in.StripPrefix, OrgID: in.OrgID, OpenAPISource: in.OpenAPISource,
		AuthRequired: in.AuthRequired, QueryKeyParam: in.QueryKeyParam, MaxBodyBytes: in.MaxBodyBytes,
		ValidateRequests: in.ValidateRequests, ConsoleSession: in.ConsoleSession, Learn: in.Learn,
		Scopes: in.Scopes, IdentityJWT: in.IdentityJWT})
	if err != nil {
		return err
	}
	if *rf.asJSON {
		return writeJSON(env.Stdout, r)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.routes.updated", map[string]any{"Prefix": r.Prefix, "Upstream": r.Upstream, "ID": r.ID}),
		env.t("cli.routes.live", nil))
	printRouteScopes(env, r)
	return nil
}

func routesRemove(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("routes remove")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "routes remove PREFIX_OR_ID [--json]"); err != nil {
		return err
	}
	r, err := findRoute(ctx, env, pos[0])
	if err != nil {
		return err
	}
	out, err := call[console.Empty](ctx, env, "RemoveRoute", console.RouteIDInput{ID: r.ID})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, out)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.routes.removed", map[string]any{"Prefix": r.Prefix}))
	return nil
}

// learnFlag describes --learn (cli.flag.learn in the catalogs).
const learnFlag = "record the shape of the route's traffic (never its values) to infer an OpenAPI document: keygate openapi infer"

// findRoute finds a route by prefix or id among ListRoutes' answer.
func findRoute(ctx context.Context, env *Env, ref string) (routes.Route, error) {
	list, err := call[console.RouteList](ctx, env, "ListRoutes", console.NoInput{})
	if err != nil {
		return routes.Route{}, err
	}
	for _, r := range list.Routes {
		if r.ID == ref || r.Prefix == ref {
			return r, nil
		}
	}
	return routes.Route{}, about(ref, routes.ErrNotFound)
}

// printRouteScopes says what a saved route requires and what could not be read.
func printRouteScopes(env *Env, r routes.Route) {
	if len(r.Scopes) > 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.routes.scopes", map[string]any{"Scopes": strings.Join(r.Scopes, ", ")}))
	}
	if all := r.DocumentScopes.All(); len(all) > 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.routes.document_scopes", map[string]any{"Scopes": strings.Join(all, ", ")}))
	}
	if r.Warning != "" {
		fmt.Fprintln(env.Stderr, env.t("routes.warning."+r.Warning, map[string]any{"Detail": r.WarningDetail}))
	}
}

func routesScopes(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("routes scopes")
	org := f.String("org", "", "the organization whose keys the scopes are for (default: the first)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "routes scopes [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	list, err := call[console.ScopeList](ctx, env, "ListScopes", console.ListScopesInput{Org: *org})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	if len(list.Scopes) == 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.routes.scopes_none", nil))
		return nil
	}
	tw := env.Table(env.headers("cli.routes.col.scope", "cli.routes.col.routes")...)
	for _, s := range list.Scopes {
		tw.Row(s.Scope, strings.Join(s.Routes, ", "))
	}
	return tw.Flush()
}
