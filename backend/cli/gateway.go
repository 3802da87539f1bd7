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
       keygate gateway settings set [--allowed-origins ORIGIN,ORIGIN…] [--upstream-timeout 30s] [--usage-retention-days N] [--json]
       keygate gateway ports get [--json]
       keygate gateway ports set [--gateway-port N] [--console-port N] [--json]`

// runGateway shows and changes the gateway-wide settings; a running server applies them within
// a second.
func runGateway(ctx context.Context, env *Env, args []string) error {
	if len(args) >= 2 && args[0] == "ports" && (args[1] == "get" || args[1] == "set") {
		return runPorts(ctx, env, args[1], args[2:])
	}
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

// runPorts shows and changes the gateway's and the console's ports. A command runs no
// listener: the new ports are stored (after checking they are free); a running desktop app or
// `keygate serve` whose gateway port is not fixed by a flag follows the gateway's on its change
// feed within a second, and takes the console's at its next start.
func runPorts(ctx context.Context, env *Env, verb string, args []string) error {
	f := env.newFlags("gateway ports " + verb)
	asJSON := f.Bool("json", false, "print JSON")
	var gw, con *int
	if verb == "set" {
		gw = f.Int("gateway-port", 0, "the gateway's port (1 to 65535)")
		con = f.Int("console-port", 0, "keygate serve's console port (1 to 65535)")
	}
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "gateway ports "+verb); err != nil {
		return err
	}
	var p console.Ports
	if verb == "set" {
		set := map[string]bool{}
		f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
		if !set["gateway-port"] && !set["console-port"] {
			return usagef("gateway ports set needs --gateway-port or --console-port")
		}
		for name, v := range map[string]int{"gateway-port": *gw, "console-port": *con} {
			if set[name] && (v < 1 || v > 65535) {
				return usagef("--%s must be 1 to 65535", name)
			}
		}
		p, err = call[console.Ports](ctx, env, "UpdatePorts", console.PortsInput{GatewayPort: *gw, ConsolePort: *con})
	} else {
		p, err = call[console.Ports](ctx, env, "GetPorts", console.NoInput{})
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, p)
	}
	tw := env.Table()
	tw.Row(env.t("cli.ports.field.gateway", nil), fmt.Sprint(p.Gateway.Port))
	tw.Row(env.t("cli.ports.field.console", nil), fmt.Sprint(p.Console.Port))
	return tw.Flush()
}
