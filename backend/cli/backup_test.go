package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupAndRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := run(t, dir, "", "keys", "create", "--name", "kept", "--json")
	if r.code != 0 {
		t.Fatalf("create: %s", r.stderr)
	}
	var c struct{ ID, Key string }
	json.Unmarshal([]byte(r.stdout), &c)

	file := filepath.Join(t.TempDir(), "keygate-backup.db")
	r = run(t, dir, "", "backup", file)
	if r.code != 0 || !strings.Contains(r.stdout, "Backed up") {
		t.Fatalf("backup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, c.Key) {
		t.Fatal("backup printed a secret")
	}
	if r = run(t, dir, "", "backup", file); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("second backup to the same file: exit %d %s", r.code, r.stderr)
	}
	if r = run(t, dir, "", "backup", file, "--force"); r.code != 0 {
		t.Fatalf("backup --force: exit %d %s", r.code, r.stderr)
	}

	// Revoke after the backup, then restore: the key is back as it was in the backup.
	if r = run(t, dir, "", "keys", "revoke", c.ID); r.code != 0 {
		t.Fatalf("revoke: %s", r.stderr)
	}
	if r = run(t, dir, c.Key+"\n", "keys", "verify"); r.code != 1 {
		t.Fatalf("verify after revoke: exit %d", r.code)
	}
	r = run(t, dir, "", "restore", file)
	if r.code != 0 || !strings.Contains(r.stdout, "previous database is kept as") {
		t.Fatalf("restore: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = run(t, dir, c.Key+"\n", "keys", "verify"); r.code != 0 {
		t.Fatalf("verify after restore: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	baks, _ := filepath.Glob(filepath.Join(dir, "keygate.db.bak-*"))
	if len(baks) != 1 {
		t.Fatalf("previous databases kept: %v", baks)
	}
}

func TestRestoreRefusesForeignFileWithOneSentence(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, dir, "", "keys", "create", "--name", "live"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("definitely not sqlite, just some words in a file\n"), 0o600)
	r := run(t, dir, "", "restore", junk)
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	if !strings.Contains(r.stderr, "not a Keygate database") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("stderr %q", r.stderr)
	}
	if r := run(t, dir, "", "keys", "list", "--json"); !strings.Contains(r.stdout, `"live"`) {
		t.Fatalf("live database changed: %s", r.stdout)
	}
}

func TestBackupUsage(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, dir, "", "backup"); r.code != 2 || !strings.Contains(r.stderr, "usage: keygate backup FILE") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	if r := run(t, dir, "", "restore", "a", "b"); r.code != 2 {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	if r := run(t, dir, "", "backup", filepath.Join(t.TempDir(), "x.db")); r.code != 1 || !strings.Contains(r.stderr, "no database") {
		t.Fatalf("backup of an empty data dir: exit %d %q", r.code, r.stderr)
	}
}
