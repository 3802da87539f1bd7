package cli

import (
	"context"
	"fmt"

	"github.com/keygate/keygate/backend/console"
)

const nodesUsage = "nodes list [--json]"

// runNodes shows the gateway nodes that share this database (the nodes registry), through the
// console operation ListNodes (the same answer as GET /api/v1/nodes).
func runNodes(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "list" {
		return usagef("usage: keygate %s", nodesUsage)
	}
	f := env.newFlags("nodes list")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, nodesUsage); err != nil {
		return err
	}
	list, err := call[console.NodeList](ctx, env, "ListNodes", console.NoInput{})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	ns := list.Nodes
	if len(ns) == 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.nodes.none", nil))
		return nil
	}
	tw := env.Table(env.t("cli.nodes.col.name", nil), env.t("cli.nodes.col.address", nil), env.t("cli.nodes.col.version", nil),
		env.t("cli.nodes.col.started", nil), env.t("cli.nodes.col.last_seen", nil), env.t("cli.nodes.col.rps", nil), env.t("cli.nodes.col.state", nil))
	for _, n := range ns {
		state := env.t("cli.nodes.live", nil)
		if !n.Live {
			state = env.t("cli.nodes.gone", nil)
		}
		tw.Row(n.Name, n.Address, n.Version, n.StartedAt.Format("2006-01-02 15:04:05Z"), n.LastSeenAt.Format("2006-01-02 15:04:05Z"),
			fmt.Sprint(n.RequestsPerSecond), state)
	}
	tw.Flush()
	return nil
}
