package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/console"
)

const gatewayUsage = `gateway settings get [--json]
       keygate gateway settings set [--allowed-origins ORIGIN,ORIGIN…] [--upstream-timeout 30s] [--usage-retention-days N] [--json]`

// runGateway shows and changes the gateway-wide settings; a running server applies them within
// a second.
func runGateway(ctx context.Context, env *Env, args []string) error {
	if len(args) < 2 || args[0] != "settings" || args[1] != "get" && args[1] != "set" {
		return usagef("usage: keygate %s", gatewayUsage)
	}
	f := env.newFlags("gateway settings " + args[1])
	asJSON := f.Bool("json", false, "print JSON")
	var origins *string
	var timeout *time.Duration
	var usageDays *int
	if args[1] == "set" {
		usageDays = f.Int("usage-retention-days", 0, "days the per-minute usage rollups are kept (1 to 3650)")
		origins = f.String("allowed-origins", "", "the browser origins CORS admits, comma-separated (\"\" for none)")
		timeout = f.Duration("upstream-timeout", 0, "how long to wait for the upstream's response headers")
	}
	pos, err := parse(f, args[2:])
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "gateway settings "+args[1]); err != nil {
		return err
	}
	s, err := call[console.GatewaySettings](ctx, env, "GetGatewaySettings", console.NoInput{})
	if err != nil {
		return err
	}
	if args[1] == "set" {
		set := map[string]bool{}
		f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
		if !set["allowed-origins"] && !set["upstream-timeout"] && !set["usage-retention-days"] {
			return usagef("gateway settings set needs --allowed-origins, --upstream-timeout or --usage-retention-days")
		}
		if set["usage-retention-days"] {
			if *usageDays == 0 {
				return usagef("--usage-retention-days must be 1 to 3650")
			}
			s.UsageRetentionDays = *usageDays
		}
		if set["allowed-origins"] {
			s.AllowedOrigins = []string{}
			for _, o := range strings.Split(*origins, ",") {
				if o = strings.TrimSpace(o); o != "" {
					s.AllowedOrigins = append(s.AllowedOrigins, o)
				}
			}
		}
		if set["upstream-timeout"] {
			if *timeout%time.Second != 0 {
				return usagef("--upstream-timeout must be a whole number of seconds")
			}
			s.UpstreamTimeoutSeconds = int(timeout.Seconds())
		}
		if s, err = call[console.GatewaySettings](ctx, env, "UpdateGatewaySettings", s); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSON(env.Stdout, s)
	}
	tw := env.Table()
	none := env.t("cli.gateway.origins.none", nil)
	if len(s.AllowedOrigins) == 0 {
		tw.Row(env.t("cli.gateway.field.origins", nil), none)
	}
	for i, o := range s.AllowedOrigins {
		label := ""
		if i == 0 {
			label = env.t("cli.gateway.field.origins", nil)
		}
		tw.Row(label, o)
	}
	tw.Row(env.t("cli.gateway.field.timeout", nil), fmt.Sprint(time.Duration(s.UpstreamTimeoutSeconds)*time.Second))
	tw.Row(env.t("cli.gateway.field.usage_retention", nil), env.t("cli.gateway.days", map[string]any{"Count": s.UsageRetentionDays}))
	return tw.Flush()
}
