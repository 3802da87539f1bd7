package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/console"
)

// TestAppSavesBackup: the desktop's DownloadBackup writes the backup where the save dialog
// says (0600, an SQLite file), answers nothing saved when the dialog is closed, and passes on
// the dialog's failure; each time the temporary copy in the data directory is gone.
func TestAppSavesBackup(t *testing.T) {
	dir := t.TempDir()
	a := testApp(t, dir)
	a.startup(t.Context())
	t.Cleanup(func() { a.shutdown(t.Context()) })
	if _, err := a.CreateKey(console.CreateKeyInput{Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	leftovers := func() {
		t.Helper()
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".backup-") {
				t.Errorf("temporary copy left: %s", e.Name())
			}
		}
	}
	defer func(old func(context.Context, string, string) (string, error)) { chooseSavePath = old }(chooseSavePath)

	dest := filepath.Join(t.TempDir(), "chosen.db")
	var offered string
	chooseSavePath = func(_ context.Context, name, _ string) (string, error) { offered = name; return dest, nil }
	f, err := a.DownloadBackup(console.NoInput{})
	if err != nil || f.Path != dest || f.Size == 0 || !strings.HasPrefix(offered, "keygate-backup-") || f.Name != offered {
		t.Fatalf("saved: %+v, %v (offered %q)", f, err, offered)
	}
	b, err := os.ReadFile(dest)
	if err != nil || int64(len(b)) != f.Size || !bytes.HasPrefix(b, []byte("SQLite format 3\x00")) {
		t.Fatalf("the saved file: %d bytes, %v", len(b), err)
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	leftovers()

	chooseSavePath = func(context.Context, string, string) (string, error) { return "", nil }
	if f, err := a.DownloadBackup(console.NoInput{}); err != nil || f.Path != "" || f.Name == "" {
		t.Fatalf("cancelled: %+v, %v", f, err)
	}
	leftovers()

	chooseSavePath = saveFileDialog // the headless build has no window
	if _, err := a.DownloadBackup(console.NoInput{}); err == nil {
		t.Fatal("no error without a window")
	}
	leftovers()
}
