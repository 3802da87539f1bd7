package store_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/keygate/keygate/backend/store"
)

// oddNames are data directory and backup names that change a SQLite URI when written raw.
var oddNames = []string{"my#data", "what?mode=memory", "100% sure", "with space", "naïve-日本", "a;b&c=d", "x%23y", "trailing ", "#?%"}

// TestOddPaths opens, backs up and restores databases in directories whose names hold URI
// syntax: every file lands exactly where its path says, 0600, and nothing appears beside it.
func TestOddPaths(t *testing.T) {
	if os.Getenv("KEYGATE_TEST_STORE") == "postgres" {
		t.Skip("SQLite file names")
	}
	for _, name := range oddNames {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, name)
			st := openDir(t, dir)
			put(t, st, "probe", "odd-"+name)
			st.Close()

			if got := listDir(t, root); !slices.Equal(got, []string{name}) {
				t.Fatalf("files beside the data directory: %q, want only %q", got, name)
			}
			fi, err := os.Stat(filepath.Join(dir, store.FileName))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
				t.Fatalf("%s: mode %v, size %d", store.FileName, fi.Mode().Perm(), fi.Size())
			}
			for _, f := range listDir(t, dir) {
				if fi, _ := os.Stat(filepath.Join(dir, f)); fi.Mode().Perm()&0o077 != 0 {
					t.Errorf("%s has mode %v", f, fi.Mode().Perm())
				}
			}
			// Reopened, it is the same database.
			st = openDir(t, dir)
			if got := setting(t, st.Read, "probe"); got != "odd-"+name {
				t.Fatalf("reopened database reads %q", got)
			}
			st.Close()

			// A backup into another odd directory, and a restore from it into a third.
			bdir := filepath.Join(root, "b "+name)
			os.MkdirAll(bdir, 0o700)
			dest := filepath.Join(bdir, name+".db")
			if err := store.Backup(ctx, dir, dest, store.BackupOptions{}); err != nil {
				t.Fatalf("backup: %v", err)
			}
			if got := listDir(t, bdir); !slices.Equal(got, []string{name + ".db"}) {
				t.Fatalf("backup directory holds %q", got)
			}
			rdir := filepath.Join(root, "r "+name)
			if _, err := store.Restore(ctx, rdir, dest); err != nil {
				t.Fatalf("restore: %v", err)
			}
			st = openDir(t, rdir)
			defer st.Close()
			if got := setting(t, st.Read, "probe"); got != "odd-"+name {
				t.Fatalf("restored database reads %q", got)
			}
			for _, d := range []string{root, bdir} {
				for _, f := range listDir(t, d) {
					if f != name && f != "b "+name && f != "r "+name && f != name+".db" {
						t.Errorf("stray file %q in %s", f, d)
					}
				}
			}
		})
	}
}

func TestURI(t *testing.T) {
	for in, want := range map[string]string{
		"/x/my#data/keygate.db": "file:/x/my%23data/keygate.db",
		"/a?b/c d%e":            "file:/a%3Fb/c%20d%25e",
		"//net/share":           "file:////net/share",
		"rel/é":                 "file:rel/%C3%A9",
	} {
		if got := store.URI(in, nil); got != want {
			t.Errorf("URI(%q) = %q, want %q", in, got, want)
		}
	}
}
