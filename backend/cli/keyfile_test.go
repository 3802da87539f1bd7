package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeysImportExportCommands runs the real commands: a dry run, an import (its message), a
// refused file (row and field named, exit 1, nothing imported), keys verify with an imported
// secret, then keys export --out and keys import of that file into another data directory.
func TestKeysImportExportCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join("..", "keys", "keyfile", "testdata", "betterauth.json")
	secret := "ba_" + strings.Repeat("A", 64)

	r := ok(t, dir, "", nil, "keys", "import", file, "--dry-run")
	if !strings.Contains(r.stdout, "holds 3 keys that can be imported; nothing was imported (--dry-run)") {
		t.Fatalf("dry run printed %q", r.stdout)
	}
	if r := run(t, dir, secret, "keys", "verify"); r.code == 0 {
		t.Fatal("the dry run imported")
	}
	r = ok(t, dir, "", nil, "keys", "import", file, "--format", "better-auth")
	if strings.TrimSpace(r.stdout) != "Imported 3 keys (3 in another product's format; their secrets keep working)." {
		t.Fatalf("import printed %q", r.stdout)
	}
	if r := run(t, dir, secret, "keys", "verify"); r.code != 0 {
		t.Fatalf("keys verify of an imported secret: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`[{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI"}, {"key": "x", "name": "broken"}]`), 0o600)
	r = run(t, dir, "", "keys", "import", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "the row at index 1 of the file, the field key is not valid") ||
		!strings.Contains(r.stderr, "rows[1].key: Must be a Better Auth key hash") {
		t.Fatalf("bad file: exit %d\n%s", r.code, r.stderr)
	}
	var list struct{ Total int }
	ok(t, dir, "", &list, "keys", "list", "--json")
	if list.Total != 3 {
		t.Fatalf("after the refused file: %d keys, want 3", list.Total)
	}
	if got := auditActions(t, dir, "--action", "key.import"); got["key.import"] != 1 {
		t.Fatalf("audit: %v", got)
	}

	out := filepath.Join(t.TempDir(), "keys.json")
	r = ok(t, dir, "", nil, "keys", "export", "--out", out)
	if !strings.Contains(r.stderr, "Exported 3 keys to "+out) {
		t.Fatalf("export printed %q", r.stderr)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", st, err)
	}
	b, _ := os.ReadFile(out)
	if strings.Contains(string(b), secret) || !strings.Contains(string(b), `"format": "keygate-keys"`) {
		t.Fatal("the export holds a secret or is not Keygate's format")
	}
	other := t.TempDir()
	var res struct {
		Format string
		Count  int
	}
	ok(t, other, "", &res, "keys", "import", out, "--json")
	if res.Format != "keygate" || res.Count != 3 {
		t.Fatalf("import of the export: %+v", res)
	}
	if r := run(t, other, secret, "keys", "verify"); r.code != 0 {
		t.Fatalf("the moved key does not verify: %d %s", r.code, r.stderr)
	}
}
