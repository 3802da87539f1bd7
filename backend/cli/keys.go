package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/keys"
)

const keysUsage = `keys create --name NAME [--expires never|7d|30d|60d|90d|1y|YYYY-MM-DD] [--rate-limit N/DURATION]
                   [--scope S]… [--meta K=V]… [--allow-ip CIDR]… [--quota N] [--refill N/DURATION]
                   [--org ORG_ID] [--json]
       keygate keys update ID [--name NAME] [--expires …|never] [--scope S]… [--meta K=V]… [--allow-ip CIDR]…
                   [--rate-limit N/DURATION|0] [--quota N|none] [--refill N/DURATION|none] [--json]
                   (a repeated flag replaces that whole list; --scope '' empties it)
       keygate keys list [--status active|disabled|expired|revoked|all] [--search TEXT]
                   [--sort created|name|expires|lastUsed] [--asc] [--expiring-within 7d] [--org ORG_ID] [--json]
       keygate keys get ID [--json]
       keygate keys rename ID NAME [--json]
       keygate keys disable ID [--json]
       keygate keys enable ID [--json]
       keygate keys roll ID [--grace 24h] [--json]      (refused for an expired key)
       keygate keys revoke ID [--reason TEXT] [--json]
       keygate keys verify    (reads the key from stdin; exit 0 when valid, 1 when not)
       keygate keys import FILE|- [--format better-auth|keygate] [--plain-keys] [--dry-run] [--org ORG_ID] [--json]
                   (all or none; a refused file names its row and field)
       keygate keys export [--org ORG_ID] [--out FILE]   (secrets as hashes only)`

func runKeys(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: keygate %s", keysUsage)
	}
	switch args[0] {
	case "create":
		return keysCreate(ctx, env, args[1:])
	case "list":
		return keysList(ctx, env, args[1:])
	case "get":
		return keysGet(ctx, env, args[1:])
	case "rename":
		return keysRename(ctx, env, args[1:])
	case "update":
		return keysUpdate(ctx, env, args[1:])
	case "disable":
		return keysSetDisabled(ctx, env, args[1:], true)
	case "enable":
		return keysSetDisabled(ctx, env, args[1:], false)
	case "roll":
		return keysRoll(ctx, env, args[1:])
	case "revoke":
		return keysRevoke(ctx, env, args[1:])
	case "verify":
		return keysVerify(ctx, env, args[1:])
	case "import":
		return keysImport(ctx, env, args[1:])
	case "export":
		return keysExport(ctx, env, args[1:])
	}
	return usagef("unknown keys command %q; usage: keygate %s", args[0], keysUsage)
}

func keysCreate(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("keys create")
	name := f.String("name", "", "key name, 1 to 64 characters (required)")
	expires := f.String("expires", "never", "never, 7d, 30d, 60d, 90d, 1y or a date YYYY-MM-DD (end of that day, UTC)")
	rateLimit := f.String("rate-limit", "", "requests per window, N/DURATION such as 100/1m (0: no limit)")
	rateWindow := f.Int("rate-window", 0, "the rate window in seconds (default 60)")
	v2 := keyV2Flags(f)
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "keys create --name NAME [--expires 30d] [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	in := console.CreateKeyInput{Org: *org, Name: *name, Expires: *expires, RateWindowSeconds: *rateWindow,
		Scopes: v2.scopes.list(), AllowIPs: v2.allowIPs.list()}
	if *rateLimit != "" {
		n, window, err := parseRate("rate-limit", *rateLimit, true)
		if err != nil {
			return err
		}
		in.RateLimit = int(n)
		if window > 0 {
			in.RateWindowSeconds = window
		}
	}
	if in.Metadata, err = v2.metadata(); err != nil {
		return err
	}
	if v2.quota != "" {
		n, err := parseCount("quota", v2.quota)
		if err != nil {
			return err
		}
		in.Quota = &n
	}
	if v2.refill != "" {
		n, every, err := parseRate("refill", v2.refill, false)
		if err != nil {
			return err
		}
		in.RefillAmount, in.RefillIntervalSeconds = n, int64(every)
	}
	c, err := call[keys.Created](ctx, env, "CreateKey", in)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, c)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.keys.created", map[string]any{"Name": strconv.Quote(c.Name), "ID": c.ID, "Org": c.OrgID}))
	printSecret(env, c)
	return nil
}

// printSecret shows a new secret once, with its expiry.
func printSecret(env *Env, c keys.Created) {
	if c.ExpiresAt == nil {
		fmt.Fprintln(env.Stdout, env.t("cli.keys.expires_never", nil))
	} else {
		fmt.Fprintln(env.Stdout, env.t("cli.keys.expires_at", map[string]any{"Time": rfc3339(*c.ExpiresAt)}))
	}
	fmt.Fprintf(env.Stdout, "\n    %s\n\n", c.Key)
	fmt.Fprintln(env.Stdout, env.t("cli.keys.copy_now", nil))
}

func keysList(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("keys list")
	status := f.String("status", "all", "active, disabled, expired, revoked or all")
	search := f.String("search", "", "only keys whose name contains this (case-insensitive)")
	sortBy := f.String("sort", "created", "created, name, expires or lastUsed")
	asc := f.Bool("asc", false, "ascending order (default: descending)")
	expiring := f.String("expiring-within", "", "only keys that expire within this many days, such as 7d")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "keys list [--status active|disabled|expired|revoked|all] [--search TEXT] [--sort name] [--asc] [--expiring-within 7d] [--json]"); err != nil {
		return err
	}
	// Every page, so the list is complete; --json prints ListKeys' answer with all of them.
	all := keys.Page{Keys: []keys.Key{}}
	in := console.ListKeysInput{Org: *org, Status: *status, Limit: 500, Search: *search, Sort: *sortBy}
	if *asc {
		in.Order = "asc"
	}
	if *expiring != "" {
		days, err := strconv.Atoi(strings.TrimSuffix(*expiring, "d"))
		if err != nil || days < 1 {
			return usagef("--expiring-within must be a number of days such as 7d")
		}
		in.ExpiringWithinDays = days
	}
	for {
		p, err := call[keys.Page](ctx, env, "ListKeys", in)
		if err != nil {
			return err
		}
		all.Keys = append(all.Keys, p.Keys...)
		all.Total = p.Total
		if p.NextCursor == "" {
			break
		}
		in.Cursor = p.NextCursor
	}
	if *asJSON {
		return writeJSON(env.Stdout, all)
	}
	if len(all.Keys) == 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.keys.none", nil))
		return nil
	}
	tw := env.Table(env.t("cli.keys.col.id", nil), env.t("cli.keys.col.name", nil), env.t("cli.keys.col.start", nil),
		env.t("cli.keys.col.status", nil), env.t("cli.keys.col.created", nil), env.t("cli.keys.col.expires", nil),
		env.t("cli.keys.col.last_used", nil))
	for _, k := range all.Keys {
		tw.Row(k.ID, k.Name, k.Start+"…", string(k.Status), k.CreatedAt.Format(time.DateOnly),
			orDash(k.ExpiresAt, env.t("cli.never", nil)), orDash(k.LastUsedAt, "-"))
	}
	return tw.Flush()
}

// keyFlags are the flags of the commands about one key. A key id names one key in the whole
// instance, so --org is only needed to insist on an organization.
func keyFlags(env *Env, name string) (*flag.FlagSet, *string, *bool) {
	f := env.newFlags(name)
	org := f.String("org", "", "organization id (default: the key's own)")
	asJSON := f.Bool("json", false, "print JSON")
	return f, org, asJSON
}

// keyOrg is the organization to name in a key operation: the one given, else the key's own
// (looked up, so that `keys get ID` works for a key of any organization, as the desktop user
// may). An unknown key leaves it empty and the operation answers NOT_FOUND.
func keyOrg(ctx context.Context, env *Env, id, org string) string {
	if org != "" {
		return org
	}
	if _, err := env.operations(ctx); err != nil {
		return ""
	}
	if k, err := env.inst.Keys.Get(ctx, "", id); err == nil {
		return k.OrgID
	}
	return ""
}

func keysGet(ctx context.Context, env *Env, args []string) error {
	f, org, asJSON := keyFlags(env, "keys get")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "keys get ID [--json]"); err != nil {
		return err
	}
	k, err := call[keys.Key](ctx, env, "GetKey", console.KeyInput{ID: pos[0], Org: keyOrg(ctx, env, pos[0], *org)})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, k)
	}
	never := env.t("cli.never", nil)
	tw := env.Table()
	tw.Row(env.t("cli.keys.col.id", nil), k.ID)
	tw.Row(env.t("cli.keys.field.name", nil), k.Name)
	tw.Row(env.t("cli.keys.field.start", nil), k.Start+"…")
	tw.Row(env.t("cli.keys.field.status", nil), string(k.Status))
	tw.Row(env.t("cli.keys.field.org", nil), k.OrgID)
	tw.Row(env.t("cli.keys.field.created", nil), env.t("cli.keys.field.created_by", map[string]any{"Time": rfc3339(k.CreatedAt), "Actor": k.CreatedBy}))
	tw.Row(env.t("cli.keys.field.expires", nil), orDash(k.ExpiresAt, never))
	tw.Row(env.t("cli.keys.field.last_used", nil), orDash(k.LastUsedAt, never))
	tw.Row(env.t("cli.keys.field.requests", nil), strconv.FormatInt(k.UsageCount, 10))
	if k.RateLimit > 0 {
		tw.Row(env.t("cli.keys.field.rate_limit", nil), strconv.Itoa(k.RateLimit)+"/"+(time.Duration(k.RateWindowSeconds)*time.Second).String())
	}
	if len(k.Scopes) > 0 {
		tw.Row(env.t("cli.keys.field.scopes", nil), strings.Join(k.Scopes, " "))
	}
	for _, name := range sortedNames(k.Metadata) {
		tw.Row(env.t("cli.keys.field.meta", map[string]any{"Name": name}), k.Metadata[name])
	}
	if len(k.AllowIPs) > 0 {
		tw.Row(env.t("cli.keys.field.allow_ips", nil), strings.Join(k.AllowIPs, " "))
	}
	if k.QuotaRemaining != nil {
		q := strconv.FormatInt(*k.QuotaRemaining, 10)
		if k.RefillIntervalSeconds > 0 {
			q = env.t("cli.keys.field.quota_refill", map[string]any{"Remaining": q, "Amount": k.RefillAmount,
				"Interval": (time.Duration(k.RefillIntervalSeconds) * time.Second).String()})
		}
		tw.Row(env.t("cli.keys.field.quota", nil), q)
	}
	if k.DisabledAt != nil {
		tw.Row(env.t("cli.keys.field.disabled", nil), strings.TrimSpace(rfc3339(*k.DisabledAt)+" "+k.DisabledBy))
	}
	if k.RevokedAt != nil {
		tw.Row(env.t("cli.keys.field.revoked", nil), strings.TrimSpace(rfc3339(*k.RevokedAt)+" "+k.RevokeReason))
	}
	return tw.Flush()
}

func keysRename(ctx context.Context, env *Env, args []string) error {
	f, org, asJSON := keyFlags(env, "keys rename")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, "keys rename ID NAME [--json]"); err != nil {
		return err
	}
	k, err := call[keys.Key](ctx, env, "UpdateKey", console.UpdateKeyInput{ID: pos[0], Name: &pos[1], Org: keyOrg(ctx, env, pos[0], *org)})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, k)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.keys.renamed", map[string]any{"Name": strconv.Quote(k.Name), "ID": k.ID}))
	return nil
}

func keysRoll(ctx context.Context, env *Env, args []string) error {
	f, org, asJSON := keyFlags(env, "keys roll")
	grace := f.Duration("grace", 24*time.Hour, "how long the old secret keeps working (0 to 720h)")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "keys roll ID [--grace 24h] [--json]"); err != nil {
		return err
	}
	if *grace%time.Second != 0 {
		return usagef("--grace must be a whole number of seconds")
	}
	secs := int(grace.Seconds())
	c, err := call[keys.Created](ctx, env, "RollKey", console.RollKeyInput{ID: pos[0], GraceSeconds: &secs, Org: keyOrg(ctx, env, pos[0], *org)})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, c)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.keys.rolled", map[string]any{"Name": strconv.Quote(c.Name), "ID": c.ID, "Grace": grace.String()}))
	printSecret(env, c)
	return nil
}

func keysRevoke(ctx context.Context, env *Env, args []string) error {
	f, org, asJSON := keyFlags(env, "keys revoke")
	reason := f.String("reason", "", "why the key is revoked (kept in the audit trail)")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "keys revoke ID [--reason TEXT] [--json]"); err != nil {
		return err
	}
	k, err := call[keys.Key](ctx, env, "RevokeKey", console.RevokeKeyInput{ID: pos[0], Reason: *reason, Org: keyOrg(ctx, env, pos[0], *org)})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, k)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.keys.revoked", map[string]any{"Name": strconv.Quote(k.Name), "ID": k.ID, "Time": rfc3339(*k.RevokedAt)}))
	return nil
}

// verifyJSON is what `keys verify` prints.
type verifyJSON struct {
	Valid     bool    `json:"valid"`
	Code      string  `json:"code"`
	KeyID     string  `json:"keyId,omitempty"`
	Name      string  `json:"name,omitempty"`
	OrgID     string  `json:"orgId,omitempty"`
	ExpiresAt *string `json:"expiresAt,omitempty"`
}

func keysVerify(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("keys verify")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("keys verify reads the key from stdin, not from the command line (it would stay in your shell history)")
	}
	line, err := bufio.NewReader(io.LimitReader(env.Stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read key from stdin: %w", err)
	}
	raw := strings.TrimSpace(line)
	if raw == "" {
		return usagef("no key on stdin; usage: echo \"$KEY\" | keygate keys verify")
	}
	svc, err := env.keys(ctx)
	if err != nil {
		return err
	}
	r, err := svc.Verify(ctx, raw)
	if err != nil {
		return err
	}
	out := verifyJSON{Valid: r.Valid, Code: string(r.Code)}
	if r.Key != nil {
		out.KeyID, out.Name, out.OrgID, out.ExpiresAt = r.Key.ID, r.Key.Name, r.Key.OrgID, rfc3339p(r.Key.ExpiresAt)
	}
	if err := writeJSON(env.Stdout, out); err != nil {
		return err
	}
	if !r.Valid {
		return errSilentFail
	}
	return nil
}

func (e *Env) keys(ctx context.Context) (*keys.Service, error) {
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	return keys.New(st), nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func rfc3339p(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := rfc3339(*t)
	return &s
}

func orDash(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04")
}
