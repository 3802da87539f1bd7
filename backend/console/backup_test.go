package console_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
)

// TestDownloadBackup: an admin downloads the whole SQLite database as a file (named, sized,
// the SQLite magic first) that opens as a Keygate store holding the key created before; the
// temporary copy is gone afterwards and the download is audited. A member is refused and gets
// no file. On PostgreSQL the answer is a 409 that says to use pg_dump.
func TestDownloadBackup(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewServer(t)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	srv.AddUser(t, "member@example.com", auth.RoleMember, srv.Org.ID)
	admin := srv.Login(t, "admin@example.com")
	member := srv.Login(t, "member@example.com")
	k, err := admin.CreateKey(ctx, "before the backup")
	if err != nil {
		t.Fatal(err)
	}

	if p := member.Problem("GET", "/api/v1/backup", nil); p.Status != 403 || p.Code != "FORBIDDEN" {
		t.Errorf("member: %+v, want 403 FORBIDDEN", p)
	}

	if testutil.Postgres() {
		p := admin.Problem("GET", "/api/v1/backup", nil)
		if p.Status != 409 || p.Code != "CONFLICT" || !strings.Contains(p.Detail, "pg_dump") {
			t.Fatalf("on PostgreSQL: %+v, want 409 CONFLICT saying pg_dump", p)
		}
		return
	}

	resp, body := admin.Do("GET", "/api/v1/backup", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("admin: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.sqlite3" {
		t.Errorf("Content-Type %q", ct)
	}
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
		t.Errorf("Content-Length %q for %d bytes", cl, len(body))
	}
	cd := resp.Header.Get("Content-Disposition")
	if !regexp.MustCompile(`^attachment; filename="keygate-backup-\d{8}-\d{6}\.db"$`).MatchString(cd) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if !bytes.HasPrefix(body, []byte("SQLite format 3\x00")) {
		t.Fatalf("the body does not start with the SQLite magic: %q", body[:min(len(body), 32)])
	}

	// The file is a Keygate database with the key in it.
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenFile(ctx, path)
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer st.Close()
	var n int
	if err := st.Read.QueryRowContext(ctx, `SELECT count(*) FROM keys WHERE id = ?`, k.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("key %s in the backup: %d, %v", k.ID, n, err)
	}

	// The temporary copy is gone: nothing but the live database's own files is left.
	entries, err := os.ReadDir(filepath.Dir(srv.Store.Path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), store.FileName) {
			t.Errorf("left in the data directory: %s", e.Name())
		}
	}

	es, err := srv.Audit.List(ctx, audit.Filter{Action: audit.StoreBackup})
	if err != nil || len(es) != 1 || es[0].Actor == "" || es[0].Detail != strconv.Itoa(len(body))+" bytes" {
		t.Fatalf("audit: %+v, %v", es, err)
	}
}
