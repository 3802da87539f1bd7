package security_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/tests/harness"
)

func init() {
	attacks = append(attacks, attack{"class 6: URI syntax in a data directory or backup path", oddDataDirs})
}

// oddDataDirs runs the real binary with data directories and backup files whose names hold
// URI syntax ('#', '?', '%', spaces, non-ASCII): the database must be written where the path
// says, 0600, with nothing beside it, and backups and restores must use the named files.
func oddDataDirs(t *testing.T, s *suite) {
	ctx := context.Background()
	for _, name := range []string{"my#data", "q?mode=memory&cache=shared", "100% data", "naïve 日本", "#?%"} {
		root := t.TempDir()
		dir := filepath.Join(root, name)
		run := func(stdin string, args ...string) string {
			r, err := harness.CLI(ctx, s.bin, dir, stdin, args...)
			if err != nil || r.Code != 0 {
				t.Fatalf("%q: keygate %s: exit %d %v %s", name, strings.Join(args, " "), r.Code, err, r.Stderr)
			}
			return r.Stdout
		}
		out := run("", "keys", "create", "--name", "odd", "--json")
		if !strings.Contains(out, `"key"`) {
			t.Fatalf("%q: keys create printed %q", name, out)
		}
		if es, _ := os.ReadDir(root); len(es) != 1 || es[0].Name() != name {
			t.Errorf("%q: files beside the data directory: %v", name, es)
		}
		fi, err := os.Stat(filepath.Join(dir, "keygate.db"))
		if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
			t.Fatalf("%q: keygate.db: %v %v", name, fi, err)
		}
		backup := filepath.Join(root, "backup "+name+".db")
		run("", "backup", backup)
		if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%q: backup: %v %v", name, fi, err)
		}
		if !strings.Contains(run("", "keys", "list", "--json"), "odd") {
			t.Errorf("%q: the key is not listed", name)
		}
		run("", "restore", backup)
		if !strings.Contains(run("", "keys", "list", "--json"), "odd") {
			t.Errorf("%q: the key is not listed after restore", name)
		}
		for _, e := range mustReadDir(t, root) {
			if e != name && e != "backup "+name+".db" {
				t.Errorf("%q: stray file %q", name, e)
			}
		}
	}
}

func mustReadDir(t *testing.T, dir string) []string {
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
