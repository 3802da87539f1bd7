package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/keygate/keygate/backend/console"
)

const identityUsage = `identity list [--json]
       keygate identity rotate [--json]`

// runIdentity lists and rotates the keys that sign the gateway's X-Keygate-Jwt; a running
// server picks a rotation up at once (the change feed), upstreams through /.well-known/jwks.json.
func runIdentity(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		return usagef("usage: keygate %s", identityUsage)
	}
	f := env.newFlags("identity " + args[0])
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "identity "+args[0]+" [--json]"); err != nil {
		return err
	}
	var list console.IdentityKeyList
	if args[0] == "rotate" {
		list, err = call[console.IdentityKeyList](ctx, env, "RotateIdentityKey", console.NoInput{})
	} else {
		list, err = call[console.IdentityKeyList](ctx, env, "ListIdentityKeys", console.NoInput{})
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	if args[0] == "rotate" && len(list.Keys) > 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.identity.rotated", map[string]any{"ID": list.Keys[0].ID}))
	}
	if len(list.Keys) == 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.identity.none", nil))
		return nil
	}
	tw := env.Table(env.headers("cli.identity.col.id", "cli.identity.col.created", "cli.identity.col.state")...)
	for _, k := range list.Keys {
		state := env.t("cli.identity.active", nil)
		if k.RetiresAt != nil {
			state = env.t("cli.identity.retires", map[string]any{"At": k.RetiresAt.Format(time.RFC3339)})
		}
		tw.Row(k.ID, k.CreatedAt.Format(time.RFC3339), state)
	}
	return tw.Flush()
}
