package console_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/keys/keyfile"
	"github.com/keygate/keygate/backend/testutil"
)

// TestImportExportOverHTTP: an admin imports Better Auth's rows (a dry run first, which
// writes nothing), the original secret verifies, one audit entry records the count (no hash);
// a bad row is named and changes nothing; a developer may not import; the export carries no
// secret and moves the keys to a second instance, where the secrets still verify.
func TestImportExportOverHTTP(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewServer(t)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	srv.AddUser(t, "dev@example.com", auth.RoleDeveloper, srv.Org.ID)
	admin := srv.Login(t, "admin@example.com")
	file, err := os.ReadFile("../keys/keyfile/testdata/betterauth.json")
	if err != nil {
		t.Fatal(err)
	}
	secret := "ba_" + strings.Repeat("A", 64)

	var res console.ImportKeysResult
	if st := admin.Call("POST", "/api/v1/import/keys", map[string]any{"file": string(file), "dryRun": true}, &res); st != 200 ||
		res.Count != 3 || !res.DryRun || res.Format != "better-auth" {
		t.Fatalf("dry run: %d %+v", st, res)
	}
	if r, _ := srv.Keys.Verify(ctx, secret); r.Valid {
		t.Fatal("the dry run imported")
	}
	if p := srv.Login(t, "dev@example.com").Problem("POST", "/api/v1/import/keys", map[string]any{"file": string(file)}); p.Status != 403 {
		t.Fatalf("a developer's import: %+v, want 403", p)
	}
	if st := admin.Call("POST", "/api/v1/import/keys", map[string]any{"file": string(file), "format": "better-auth"}, &res); st != 200 ||
		res.Count != 3 || res.Foreign != 3 || res.DryRun {
		t.Fatalf("import: %d %+v", st, res)
	}
	if r, err := srv.Keys.Verify(ctx, secret); err != nil || !r.Valid {
		t.Fatalf("the imported key does not verify: %+v %v", r, err)
	}
	entries, err := srv.Audit.List(ctx, audit.Filter{Action: audit.KeyImport})
	if err != nil || len(entries) != 1 || entries[0].Detail != "3 keys from better-auth, 3 in another format" {
		t.Fatalf("audit: %+v %v", entries, err)
	}

	// The same file again: row 0 is already there; the problem names row and field, localized.
	admin.Lang = "de"
	p := admin.Problem("POST", "/api/v1/import/keys", map[string]any{"file": string(file)})
	if p.Status != 400 || p.Code != "VALIDATION" || len(p.Fields) != 1 || p.Fields[0].Field != "rows[0].key" ||
		!strings.Contains(p.Detail, "Index 0") || !strings.Contains(p.Detail, "key") || !strings.Contains(p.Fields[0].Detail, "Schlüssel") {
		t.Fatalf("duplicate import: %+v", p)
	}
	admin.Lang = ""
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"file": `[{"key": "x"}]`}, "rows[0].key"},
		{map[string]any{"file": `[1]`}, "rows[0]"},
		{map[string]any{"file": `{"a": 1}`}, "format"},
		{map[string]any{"file": `[]`}, "file"},
		{map[string]any{"file": `not json`}, "format"},
		{map[string]any{"file": `[`}, "file"},
		{map[string]any{"file": `[]`, "format": "csv"}, "format"},
	} {
		p := admin.Problem("POST", "/api/v1/import/keys", c.body)
		if p.Status != 400 || len(p.Fields) != 1 || p.Fields[0].Field != c.field {
			t.Errorf("%v: %+v, want 400 naming %s", c.body, p, c.field)
		}
	}
	// Over the file limit: 413 naming it (the body limit is larger, so the handler answers).
	big := "[" + strings.Repeat(" ", keyfile.MaxBytes) + "]"
	if p := admin.Problem("POST", "/api/v1/import/keys", map[string]any{"file": big}); p.Status != 413 || !strings.Contains(p.Detail, "32 MiB") {
		t.Fatalf("a file over the limit: %+v", p)
	}

	var exp keyfile.Export
	if st := admin.Call("GET", "/api/v1/export/keys", nil, &exp); st != 200 || exp.Format != keyfile.FormatName || len(exp.Keys) != 3 {
		t.Fatalf("export: %d %+v", st, exp)
	}
	raw, _ := json.Marshal(exp)
	if strings.Contains(string(raw), secret) {
		t.Fatal("the export holds a secret")
	}
	if entries, _ := srv.Audit.List(ctx, audit.Filter{Action: audit.KeyExport}); len(entries) != 1 {
		t.Fatalf("export audit entries: %d", len(entries))
	}

	other := testutil.NewServer(t)
	other.AddUser(t, "admin@example.com", auth.RoleAdmin, other.Org.ID)
	oc := other.Login(t, "admin@example.com")
	if st := oc.Call("POST", "/api/v1/import/keys", map[string]any{"file": string(raw)}, &res); st != 200 || res.Format != "keygate" || res.Count != 3 {
		t.Fatalf("import of the export: %d %+v", st, res)
	}
	if r, err := other.Keys.Verify(ctx, secret); err != nil || !r.Valid || r.Key.ID != exp.Keys[0].ID && r.Key.ID != exp.Keys[1].ID && r.Key.ID != exp.Keys[2].ID {
		t.Fatalf("on the second instance: %+v %v", r, err)
	}
}

// TestImportCommitsWithItsAuditEntry: an import and its key.import entry are one transaction:
// when the entry cannot be written, the import fails and no key of it exists (the keys used to
// be imported, their entry lost). A key change's entry is held to the same in
// backend/webhooks (TestKeyChangeCommitsWithItsEvent).
func TestImportCommitsWithItsAuditEntry(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewServer(t)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	admin := srv.Login(t, "admin@example.com")
	file, err := os.ReadFile("../keys/keyfile/testdata/betterauth.json")
	if err != nil {
		t.Fatal(err)
	}
	secret := "ba_" + strings.Repeat("A", 64)
	rename := func(from, to string) {
		t.Helper()
		if _, err := srv.Store.Write.Exec(`ALTER TABLE ` + from + ` RENAME TO ` + to); err != nil {
			t.Fatal(err)
		}
	}
	rename("audit_log", "audit_log_away")
	p := admin.Problem("POST", "/api/v1/import/keys", map[string]any{"file": string(file)})
	rename("audit_log_away", "audit_log")
	if p.Status != 500 {
		t.Fatalf("import without its audit entry: %+v, want 500", p)
	}
	if r, _ := srv.Keys.Verify(ctx, secret); r.Valid {
		t.Fatal("the keys were imported while their audit entry was not written")
	}
	var res console.ImportKeysResult
	if st := admin.Call("POST", "/api/v1/import/keys", map[string]any{"file": string(file)}, &res); st != 200 || res.Count != 3 {
		t.Fatalf("import: %d %+v", st, res)
	}
	entries, err := srv.Audit.List(ctx, audit.Filter{Action: audit.KeyImport})
	if err != nil || len(entries) != 1 || entries[0].Detail != "3 keys from better-auth, 3 in another format" ||
		entries[0].OrgID != srv.Org.ID || entries[0].Actor == "" {
		t.Fatalf("audit: %+v %v", entries, err)
	}
	if r, err := srv.Keys.Verify(ctx, secret); err != nil || !r.Valid {
		t.Fatalf("the imported key does not verify: %+v %v", r, err)
	}
}
