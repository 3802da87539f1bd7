package cli_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/store"
)

// TestAuditAndRequestsExport: audit list and requests list filter by time (and the audit log
// by action and actor) and print CSV that parses, with formula-like cells defused, or NDJSON,
// one entry a line; a bad --format or time is refused and prints nothing.
func TestAuditAndRequestsExport(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"=cmd|calc", "plain"} {
		if r := run(t, dir, "", "keys", "create", "--name", name, "--json"); r.code != 0 {
			t.Fatalf("create: %s", r.stderr)
		}
	}
	r := run(t, dir, "", "audit", "list", "--action", "key.create", "--actor", "cli", "--since", "1h", "--format", "csv")
	if r.code != 0 {
		t.Fatalf("audit csv: %d %s", r.code, r.stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != "id,at,actor,actorEmail,orgId,action,target,detail,clientAddr" {
		t.Fatalf("audit csv (%v): %q", err, r.stdout)
	}
	for _, row := range rows[1:] {
		if row[2] != "cli" || row[5] != "key.create" {
			t.Fatalf("row %v", row)
		}
	}
	if rows[2][7] != `"=cmd|calc"` {
		t.Fatalf("detail %q", rows[2][7])
	}
	if r = run(t, dir, "", "audit", "list", "--action", "key.revoke", "--format", "csv"); r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("no key.revoke entries: %d %q", r.code, r.stdout)
	}
	if r = run(t, dir, "", "audit", "list", "--until", "1h", "--format", "ndjson"); r.code != 0 || r.stdout != "" {
		t.Fatalf("nothing before an hour ago: %d %q", r.code, r.stdout)
	}
	r = run(t, dir, "", "audit", "list", "--format", "ndjson")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	for _, l := range lines {
		var e struct {
			ID     int64
			Action string
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.ID == 0 || e.Action == "" {
			t.Fatalf("ndjson line %q: %v", l, err)
		}
	}
	if r.code != 0 || len(lines) != 2 {
		t.Fatalf("audit ndjson: %d %q", r.code, r.stdout)
	}

	// Requests, as the gateway of a running server would have persisted them.
	st, err := store.OpenURL(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, p := range []string{"/old", "/new"} {
		if _, err := st.Write.Exec(`INSERT INTO request_log (at, request_id, method, path, status, latency_us, key_name, headers)
			VALUES (?, 'r', 'GET', ?, 200, 1500, '@risky', '{"X-Api-Key":["[redacted]"]}')`, now.Add(time.Duration(i-1)*2*time.Hour).UnixMilli(), p); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	r = run(t, dir, "", "requests", "list", "--since", "1h", "--format", "csv")
	rows, err = csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if r.code != 0 || err != nil || len(rows) != 2 || rows[1][4] != "/new" || rows[1][6] != "1.5" || rows[1][9] != "'@risky" ||
		rows[1][14] != `{"X-Api-Key":["[redacted]"]}` {
		t.Fatalf("requests csv (%v): %d %q %s", err, r.code, r.stdout, r.stderr)
	}
	r = run(t, dir, "", "requests", "list", "--format", "ndjson")
	if lines = strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 2 || !strings.Contains(lines[0], `"path":"/new"`) {
		t.Fatalf("requests ndjson: %d %q", r.code, r.stdout)
	}

	for _, args := range [][]string{
		{"audit", "list", "--format", "xml"},
		{"requests", "list", "--format", "json"},
		{"audit", "list", "--since", "yesterday"},
		{"requests", "list", "--since", "2026-01-02T00:00:00Z", "--until", "2026-01-01T00:00:00Z"},
	} {
		if r = run(t, dir, "", args...); r.code == 0 || r.stdout != "" || r.stderr == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}
