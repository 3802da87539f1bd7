package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/orgs"
)

const keysUsage = `keys create --name NAME [--expires never|7d|30d|60d|90d|1y|YYYY-MM-DD] [--org ORG_ID] [--json]
       keygate keys list [--status active|expired|revoked|all] [--org ORG_ID] [--json]
       keygate keys get ID [--json]
       keygate keys revoke ID [--reason TEXT]
       keygate keys verify    (reads the key from stdin; exit 0 when valid, 1 when not)`

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
	case "revoke":
		return keysRevoke(ctx, env, args[1:])
	case "verify":
		return keysVerify(ctx, env, args[1:])
	}
	return usagef("unknown keys command %q; usage: keygate %s", args[0], keysUsage)
}

// createdJSON is the shape `keys create --json` prints (and the console API returns).
type createdJSON struct {
	ID        string  `json:"id"`
	Key       string  `json:"key"`
	Name      string  `json:"name"`
	Start     string  `json:"start"`
	Prefix    string  `json:"prefix"`
	CreatedAt string  `json:"createdAt"`
	ExpiresAt *string `json:"expiresAt"`
}

// keyJSON is the shape `keys list --json` prints per key: never a hash or a secret.
type keyJSON struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Start      string  `json:"start"`
	Prefix     string  `json:"prefix"`
	Status     string  `json:"status"`
	CreatedAt  string  `json:"createdAt"`
	ExpiresAt  *string `json:"expiresAt"`
	LastUsedAt *string `json:"lastUsedAt"`
	RevokedAt  *string `json:"revokedAt"`
}

func toKeyJSON(k keys.Key) keyJSON {
	return keyJSON{ID: k.ID, Name: k.Name, Start: k.Start, Prefix: k.Prefix, Status: string(k.Status),
		CreatedAt: rfc3339(k.CreatedAt), ExpiresAt: rfc3339p(k.ExpiresAt), LastUsedAt: rfc3339p(k.LastUsedAt),
		RevokedAt: rfc3339p(k.RevokedAt)}
}

func keysCreate(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("keys create")
	name := f.String("name", "", "key name, 1 to 64 characters (required)")
	expires := f.String("expires", "never", "never, 7d, 30d, 60d, 90d, 1y or a date YYYY-MM-DD (end of that day, UTC)")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "keys create --name NAME [--expires 30d] [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	svc, orgID, err := env.keysAndOrg(ctx, *org)
	if err != nil {
		return err
	}
	c, err := svc.Create(ctx, keys.CreateParams{OrgID: orgID, Name: *name, Expires: *expires, CreatedBy: "cli"})
	if err != nil {
		return err // keys.Create says "create key: …" itself
	}
	env.record(ctx, audit.Entry{OrgID: orgID, Action: audit.KeyCreate, Target: c.ID, Detail: c.Name})
	if *asJSON {
		return writeJSON(env.Stdout, createdJSON{ID: c.ID, Key: c.Key, Name: c.Name, Start: c.Start, Prefix: c.Prefix,
			CreatedAt: rfc3339(c.CreatedAt), ExpiresAt: rfc3339p(c.ExpiresAt)})
	}
	fmt.Fprintln(env.Stdout, env.t("cli.keys.created", map[string]any{"Name": strconv.Quote(c.Name), "ID": c.ID, "Org": orgID}))
	if c.ExpiresAt == nil {
		fmt.Fprintln(env.Stdout, env.t("cli.keys.expires_never", nil))
	} else {
		fmt.Fprintln(env.Stdout, env.t("cli.keys.expires_at", map[string]any{"Time": rfc3339(*c.ExpiresAt)}))
	}
	fmt.Fprintf(env.Stdout, "\n    %s\n\n", c.Key)
	fmt.Fprintln(env.Stdout, env.t("cli.keys.copy_now", nil))
	return nil
}

func keysList(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("keys list")
	status := f.String("status", "all", "active, expired, revoked or all")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "keys list [--status active|expired|revoked|all] [--json]"); err != nil {
		return err
	}
	svc, orgID, err := env.keysAndOrg(ctx, *org)
	if err != nil {
		return err
	}
	var all []keys.Key
	cursor := ""
	for {
		p, err := svc.List(ctx, keys.ListParams{OrgID: orgID, Status: keys.Status(*status), Limit: 500, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		all = append(all, p.Keys...)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if *asJSON {
		out := make([]keyJSON, 0, len(all))
		for _, k := range all {
			out = append(out, toKeyJSON(k))
		}
		return writeJSON(env.Stdout, out)
	}
	if len(all) == 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.keys.none", nil))
		return nil
	}
	tw := env.Table(env.t("cli.keys.col.id", nil), env.t("cli.keys.col.name", nil), env.t("cli.keys.col.start", nil),
		env.t("cli.keys.col.status", nil), env.t("cli.keys.col.created", nil), env.t("cli.keys.col.expires", nil),
		env.t("cli.keys.col.last_used", nil))
	for _, k := range all {
		tw.Row(k.ID, k.Name, k.Start+"…", string(k.Status), k.CreatedAt.Format(time.DateOnly),
			orDash(k.ExpiresAt, env.t("cli.never", nil)), orDash(k.LastUsedAt, "-"))
	}
	return tw.Flush()
}

func keysGet(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("keys get")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "keys get ID [--json]"); err != nil {
		return err
	}
	svc, err := env.keys(ctx)
	if err != nil {
		return err
	}
	k, err := svc.Get(ctx, "", pos[0])
	if err != nil {
		return about(pos[0], err)
	}
	if *asJSON {
		return writeJSON(env.Stdout, toKeyJSON(k))
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
	if k.RevokedAt != nil {
		tw.Row(env.t("cli.keys.field.revoked", nil), strings.TrimSpace(rfc3339(*k.RevokedAt)+" "+k.RevokeReason))
	}
	return tw.Flush()
}

func keysRevoke(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("keys revoke")
	reason := f.String("reason", "", "why the key is revoked (kept in the audit trail)")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "keys revoke ID [--reason TEXT]"); err != nil {
		return err
	}
	svc, err := env.keys(ctx)
	if err != nil {
		return err
	}
	before, err := svc.Get(ctx, "", pos[0])
	if err != nil {
		return about(pos[0], err)
	}
	k, err := svc.Revoke(ctx, "", pos[0], *reason)
	if err != nil {
		return about(pos[0], err)
	}
	if before.RevokedAt == nil {
		env.record(ctx, audit.Entry{OrgID: k.OrgID, Action: audit.KeyRevoke, Target: k.ID, Detail: k.RevokeReason})
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

// keysAndOrg returns the key service and the organization to act in: the given one (checked)
// or the first, created on first run.
func (e *Env) keysAndOrg(ctx context.Context, orgID string) (*keys.Service, string, error) {
	st, err := e.Store(ctx)
	if err != nil {
		return nil, "", err
	}
	os := orgs.New(st, nil)
	if orgID == "" {
		o, err := os.EnsureDefault(ctx)
		if err != nil {
			return nil, "", err
		}
		orgID = o.ID
	} else if _, err := os.Get(ctx, orgID); err != nil {
		return nil, "", about(orgID, err)
	}
	return keys.New(st), orgID, nil
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
