package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/identity"
)

const identityUsage = `identity list [--json]
       keygate identity rotate [--now] [--json]`

// runIdentity lists and rotates the keys that sign the gateway's X-Keygate-Jwt; a running
// server picks a rotation up at once (the change feed), upstreams through /.well-known/jwks.json.
// A rotated key signs once the key set's max-age has passed (--now: at once, for a compromised
// key), so that upstreams caching the set never meet a kid they lack.
func runIdentity(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		return usagef("usage: keygate %s", identityUsage)
	}
	rotate := args[0] == "rotate"
	f := env.newFlags("identity " + args[0])
	asJSON := f.Bool("json", false, "print JSON")
	var now *bool
	if rotate {
		now = f.Bool("now", false, "sign with the new key at once (a compromised key): upstreams that cached the key set refuse its tokens until they fetch it again")
	}
	pos, err := parse(f, args[1:])
	if err != nil {
		return err
	}
	usage := "identity list [--json]"
	if rotate {
		usage = "identity rotate [--now] [--json]"
	}
	if err := wantArgs(pos, 0, usage); err != nil {
		return err
	}
	var list console.IdentityKeyList
	if rotate {
		list, err = call[console.IdentityKeyList](ctx, env, "RotateIdentityKey", console.RotateIdentityKeyInput{Now: *now})
	} else {
		list, err = call[console.IdentityKeyList](ctx, env, "ListIdentityKeys", console.NoInput{})
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	if rotate && len(list.Keys) > 0 {
		// The answer lists the new key first: next, or current after --now.
		k := list.Keys[0]
		data := map[string]any{"ID": k.ID, "At": k.SignsFrom.Format(time.RFC3339), "MaxAge": list.MaxAge}
		if *now {
			fmt.Fprintln(env.Stdout, env.t("cli.identity.rotated_now", data))
		} else {
			fmt.Fprintln(env.Stdout, env.t("cli.identity.scheduled", data))
		}
	}
	if len(list.Keys) == 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.identity.none", nil))
		return nil
	}
	tw := env.Table(env.headers("cli.identity.col.id", "cli.identity.col.created", "cli.identity.col.state")...)
	for _, k := range list.Keys {
		var state string
		switch k.State {
		case identity.StateNext:
			state = env.t("cli.identity.state.next", map[string]any{"At": k.SignsFrom.Format(time.RFC3339)})
		case identity.StateCurrent:
			state = env.t("cli.identity.state.current", nil)
			if k.SignsUntil != nil {
				state = env.t("cli.identity.state.current_until", map[string]any{"At": k.SignsUntil.Format(time.RFC3339)})
			}
		default:
			state = env.t("cli.identity.state.retiring", map[string]any{"At": k.RetiresAt.Format(time.RFC3339)})
		}
		tw.Row(k.ID, k.CreatedAt.Format(time.RFC3339), state)
	}
	return tw.Flush()
}
