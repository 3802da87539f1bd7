package cli

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/keys"
)

// repeatFlag is a repeatable flag: each use adds a value; set says it was given at all (on
// `keys update` that replaces the whole list; a single empty value empties it).
type repeatFlag struct {
	values []string
	set    bool
}

func (l *repeatFlag) String() string { return strings.Join(l.values, ",") }

func (l *repeatFlag) Set(s string) error {
	l.set = true
	if s != "" {
		l.values = append(l.values, s)
	}
	return nil
}

// list is the values, never nil.
func (l *repeatFlag) list() []string {
	if l.values == nil {
		return []string{}
	}
	return l.values
}

// v2Flags are the flags create and update share.
type v2Flags struct {
	scopes, meta, allowIPs repeatFlag
	quota, refill          string
}

func keyV2Flags(f *flag.FlagSet) *v2Flags {
	v := &v2Flags{}
	f.Var(&v.scopes, "scope", "a scope the key holds: *, resource, resource:action or resource:* (repeatable)")
	f.Var(&v.meta, "meta", "a metadata pair NAME=VALUE (repeatable, at most 16)")
	f.Var(&v.allowIPs, "allow-ip", "an IP address or CIDR range the key may be used from (repeatable)")
	f.StringVar(&v.quota, "quota", "", "how many requests the key may make")
	f.StringVar(&v.refill, "refill", "", "set the quota back to N every DURATION, such as 1000/24h")
	return v
}

// metadata parses the --meta pairs.
func (v *v2Flags) metadata() (map[string]string, error) {
	m := make(map[string]string, len(v.meta.values))
	for _, kv := range v.meta.values {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, usagef("--meta needs NAME=VALUE, got %q", kv)
		}
		if _, dup := m[name]; dup {
			return nil, usagef("--meta %s is given twice", name)
		}
		m[name] = value
	}
	return m, nil
}

// parseCount parses a non-negative count.
func parseCount(flagName, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, usagef("--%s must be a whole number of 0 or more, got %q", flagName, s)
	}
	return n, nil
}

// parseRate parses N/DURATION (100/1m, 1000/24h) into a count and whole seconds. When bare is
// true a plain N is accepted too (window 0: the default).
func parseRate(flagName, s string, bare bool) (int64, int, error) {
	ns, ds, ok := strings.Cut(s, "/")
	if !ok && !bare {
		return 0, 0, usagef("--%s must be N/DURATION such as 1000/24h, got %q", flagName, s)
	}
	n, err := parseCount(flagName, ns)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return n, 0, nil
	}
	d, err := time.ParseDuration(ds)
	if err != nil || d <= 0 || d%time.Second != 0 {
		return 0, 0, usagef("--%s must be N/DURATION with a whole number of seconds such as 100/1m, got %q", flagName, s)
	}
	if d > 400*24*time.Hour {
		return 0, 0, usagef("--%s: %s is too long", flagName, ds)
	}
	return n, int(d / time.Second), nil
}

func keysUpdate(ctx context.Context, env *Env, args []string) error {
	f, org, asJSON := keyFlags(env, "keys update")
	name := f.String("name", "", "the new name")
	expires := f.String("expires", "", "never (clears it), 7d, 30d, 60d, 90d, 1y or a date YYYY-MM-DD")
	rateLimit := f.String("rate-limit", "", "requests per window, N/DURATION such as 100/1m (0: no limit)")
	v2 := keyV2Flags(f)
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "keys update ID [--name NAME] [--expires 90d|never] [--scope S]… [--meta K=V]… [--allow-ip CIDR]… [--rate-limit 100/1m] [--quota N|none] [--refill N/DURATION|none] [--json]"); err != nil {
		return err
	}
	in := console.UpdateKeyInput{ID: pos[0], Org: keyOrg(ctx, env, pos[0], *org)}
	given := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	if given["name"] {
		in.Name = name
	}
	if given["expires"] {
		in.Expires = expires
	}
	if v2.scopes.set {
		l := v2.scopes.list()
		in.Scopes = &l
	}
	if v2.allowIPs.set {
		l := v2.allowIPs.list()
		in.AllowIPs = &l
	}
	if v2.meta.set {
		m, err := v2.metadata()
		if err != nil {
			return err
		}
		in.Metadata = &m
	}
	if given["rate-limit"] {
		n, window, err := parseRate("rate-limit", *rateLimit, true)
		if err != nil {
			return err
		}
		limit := int(n)
		in.RateLimit = &limit
		if window > 0 {
			in.RateWindowSeconds = &window
		}
	}
	if given["quota"] {
		if v2.quota == "none" {
			in.RemoveQuota = true
		} else {
			n, err := parseCount("quota", v2.quota)
			if err != nil {
				return err
			}
			in.Quota = &n
		}
	}
	if given["refill"] {
		var n, every int64
		if v2.refill != "none" {
			c, secs, err := parseRate("refill", v2.refill, false)
			if err != nil {
				return err
			}
			n, every = c, int64(secs)
		}
		in.RefillAmount, in.RefillIntervalSeconds = &n, &every
	}
	if len(given) == 0 || len(given) == 1 && (given["json"] || given["org"]) || len(given) == 2 && given["json"] && given["org"] {
		return usagef("keys update: nothing to change; give at least one of --name, --expires, --scope, --meta, --allow-ip, --rate-limit, --quota, --refill")
	}
	k, err := call[keys.Key](ctx, env, "UpdateKey", in)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, k)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.keys.updated", map[string]any{"Name": strconv.Quote(k.Name), "ID": k.ID}))
	return nil
}

func keysSetDisabled(ctx context.Context, env *Env, args []string, off bool) error {
	cmd, msg := "keys enable", "cli.keys.enabled"
	if off {
		cmd, msg = "keys disable", "cli.keys.disabled"
	}
	f, org, asJSON := keyFlags(env, cmd)
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, cmd+" ID [--json]"); err != nil {
		return err
	}
	in := console.KeyInput{ID: pos[0], Org: keyOrg(ctx, env, pos[0], *org)}
	var k keys.Key
	if off {
		k, err = call[keys.Key](ctx, env, "DisableKey", in)
	} else {
		k, err = call[keys.Key](ctx, env, "EnableKey", in)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, k)
	}
	fmt.Fprintln(env.Stdout, env.t(msg, map[string]any{"Name": strconv.Quote(k.Name), "ID": k.ID}))
	return nil
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
