package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/keys/keyfile"
)

const keysImportUsage = "keys import FILE|- [--format better-auth|keygate] [--plain-keys] [--dry-run] [--org ORG_ID] [--json]"

// keysImport reads a file and hands it to the ImportKeys operation: the same checks, errors and
// audit entry as the console's. A file is at most keyfile.MaxBytes, which one call holds well.
func keysImport(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("keys import")
	format := f.String("format", "", "better-auth (a JSON array of rows of Better Auth's apikey table) or keygate (a Keygate export); default: detected")
	plain := f.Bool("plain-keys", false, "Better Auth's key column holds the keys themselves (the plugin ran with disableKeyHashing); they are hashed, never stored")
	dryRun := f.Bool("dry-run", false, "check the file and import nothing")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, keysImportUsage); err != nil {
		return err
	}
	var r io.Reader = env.Stdin
	if pos[0] != "-" {
		file, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer file.Close()
		r = file
	}
	// One byte over the limit is enough for the operation to refuse the file by its size.
	data, err := io.ReadAll(io.LimitReader(r, keyfile.MaxBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", pos[0], err)
	}
	// On a terminal a bar shows the keys being written (nothing when piped or with --json).
	progress, done := env.Progress(env.t("keys.import.importing", nil), false, *asJSON)
	res, err := call[console.ImportKeysResult](keys.WithProgress(ctx, progress), env, "ImportKeys", console.ImportKeysInput{Org: *org, Format: *format,
		File: string(data), PlainKeys: *plain, DryRun: *dryRun})
	done()
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, res)
	}
	data2 := map[string]any{"Count": res.Count, "Foreign": res.Foreign, "Format": res.Format}
	if res.DryRun {
		fmt.Fprintln(env.Stdout, env.t("cli.keys.import_checked", data2))
		return nil
	}
	fmt.Fprintln(env.Stdout, env.t("cli.keys.imported", data2))
	return nil
}

// keysExport writes the ExportKeys operation's file to --out (created 0600) or standard output.
func keysExport(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("keys export")
	out := f.String("out", "", "write the file here (created with mode 0600) instead of standard output")
	org := f.String("org", "", "organization id (default: the first organization)")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "keys export [--org ORG_ID] [--out FILE]"); err != nil {
		return err
	}
	e, err := call[keyfile.Export](ctx, env, "ExportKeys", console.ExportKeysInput{Org: *org})
	if err != nil {
		return err
	}
	if *out == "" {
		return writeJSON(env.Stdout, e)
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Fprintln(env.Stderr, env.t("cli.keys.exported", map[string]any{"Count": len(e.Keys), "Path": *out}))
	return nil
}
