package keyfile_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/keys/keyfile"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// TestMain stops the PostgreSQL server that KEYGATE_TEST_STORE=postgres runs start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var ctx = context.Background()

// baKey is the plain key of row c of testdata/betterauth.json (see betterauth-gen.mjs).
func baKey(c string) string { return "ba_" + strings.Repeat(c, 64) }

func readFixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/betterauth.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type fixture struct {
	svc *keys.Service
	org string
}

func newFixture(t *testing.T) fixture {
	st := testutil.NewStore(t)
	return fixture{svc: keys.New(st, keys.WithClock(testutil.NewClock())), org: testutil.DefaultOrg(t, st).ID}
}

func (f fixture) importFile(t *testing.T, data []byte, format keyfile.Format, o keyfile.Options) (keys.ImportResult, error) {
	t.Helper()
	_, res, err := keyfile.Import(ctx, f.svc, f.org, "usr_importer", data, format, o, false)
	return res, err
}

func TestBetterAuthRowsMapToKeys(t *testing.T) {
	f := newFixture(t)
	data := readFixture(t)
	if got, err := keyfile.Detect(data); err != nil || got != keyfile.BetterAuth {
		t.Fatalf("Detect = %q, %v; want better-auth", got, err)
	}
	res, err := f.importFile(t, data, "", keyfile.Options{Now: testutil.Epoch})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != 3 || res.Foreign != 3 || res.DryRun {
		t.Fatalf("result = %+v, want 3 foreign keys imported", res)
	}

	// Row 0: the original secret verifies, with its permissions as scopes, its metadata (a
	// number as its JSON text), the owner, its quota and refill, its rate limit.
	r, err := f.svc.Verify(ctx, baKey("A"))
	if err != nil || !r.Valid {
		t.Fatalf("verify row 0's secret = %+v, %v; want valid", r, err)
	}
	k := r.Key
	if strings.Join(k.Scopes, " ") != "files:read files:write users:read" {
		t.Errorf("scopes = %v", k.Scopes)
	}
	if k.Metadata["plan"] != "pro" || k.Metadata["seats"] != "5" || k.Metadata["referenceId"] != "user_1" || len(k.Metadata) != 3 {
		t.Errorf("metadata = %v", k.Metadata)
	}
	if k.Name != "billing service" || k.Prefix != "ba_" || k.Start != "ba_AAA" || k.CreatedBy != "usr_importer" {
		t.Errorf("name, prefix, start, creator = %q %q %q %q", k.Name, k.Prefix, k.Start, k.CreatedBy)
	}
	if !k.CreatedAt.Equal(time.Date(2025, 1, 2, 3, 4, 5, 678e6, time.UTC)) {
		t.Errorf("created = %v", k.CreatedAt)
	}
	if k.QuotaRemaining == nil || *k.QuotaRemaining != 3 || k.RefillAmount != 100 || k.RefillIntervalSeconds != 3600 {
		t.Errorf("quota = %v, refill %d every %ds", k.QuotaRemaining, k.RefillAmount, k.RefillIntervalSeconds)
	}
	if k.RateLimit != 1000 || k.RateWindow != time.Minute {
		t.Errorf("rate limit = %d per %v", k.RateLimit, k.RateWindow)
	}

	// Row 1 (better-auth 1.3.x): disabled, userId kept, double-encoded metadata read, no rate
	// limit (rateLimitEnabled false), no quota, no name (the start stands in), epoch-ms dates.
	r, err = f.svc.Verify(ctx, baKey("B"))
	if err != nil || r.Valid || r.Code != keys.CodeDisabled {
		t.Fatalf("verify row 1 = %+v, %v; want DISABLED", r, err)
	}
	k = r.Key
	if k.Metadata["team"] != "ops" || k.Metadata["userId"] != "user_2" || k.RateLimit != 0 || k.QuotaRemaining != nil || k.Name != "ba_BBB" {
		t.Errorf("row 1 = metadata %v, rate %d, quota %v, name %q", k.Metadata, k.RateLimit, k.QuotaRemaining, k.Name)
	}
	if k.LastUsedAt == nil || k.LastUsedAt.UnixMilli() != 1735786800000 || k.CreatedAt.UnixMilli() != 1735700000000 {
		t.Errorf("row 1 times = used %v, created %v", k.LastUsedAt, k.CreatedAt)
	}

	// Row 2 expired before the clock's now.
	if r, _ := f.svc.Verify(ctx, baKey("C")); r.Code != keys.CodeExpired {
		t.Errorf("row 2 = %v, want EXPIRED", r.Code)
	}
	// Other strings still answer: NOT_FOUND for one that is looked up, MALFORMED for one too long.
	if r, _ := f.svc.Verify(ctx, baKey("D")); r.Code != keys.CodeNotFound {
		t.Errorf("unknown foreign key = %v, want NOT_FOUND", r.Code)
	}
	if r, _ := f.svc.Verify(ctx, strings.Repeat("x", 513)); r.Code != keys.CodeMalformed {
		t.Errorf("513-byte string = %v, want MALFORMED", r.Code)
	}
}

// Before any import, a string that is not a Keygate key is refused without a lookup; after one
// it is looked up; an instance with only Keygate-format keys never looks such strings up.
func TestForeignLookupOnlyOnceImported(t *testing.T) {
	st := testutil.NewStore(t)
	svc := keys.New(st, keys.WithClock(testutil.NewClock()))
	org := testutil.DefaultOrg(t, st).ID
	if _, err := svc.Create(ctx, keys.CreateParams{OrgID: org, Name: "native", CreatedBy: "t"}); err != nil {
		t.Fatal(err)
	}
	_, misses0 := svc.CacheStats()
	if r, _ := svc.Verify(ctx, baKey("A")); r.Code != keys.CodeMalformed {
		t.Fatalf("before the import: %v, want MALFORMED", r.Code)
	}
	if _, misses := svc.CacheStats(); misses != misses0 {
		t.Fatalf("a malformed key was looked up before any import (misses %d → %d)", misses0, misses)
	}
	if on, _ := svc.ForeignKeys(ctx); on {
		t.Fatal("ForeignKeys before the import = true")
	}
	_, recs, err := keyfile.Parse(readFixture(t), keyfile.BetterAuth, keyfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Import(ctx, org, "t", recs, false); err != nil {
		t.Fatal(err)
	}
	if r, _ := svc.Verify(ctx, baKey("A")); !r.Valid {
		t.Fatalf("after the import: %v, want VALID", r.Code)
	}
	if on, _ := svc.ForeignKeys(ctx); !on {
		t.Fatal("ForeignKeys after the import = false")
	}

	// An import by another Service over the same store reaches a running one through the
	// change feed (Run), which forgets the "no foreign keys" answer.
	st2 := testutil.NewStore(t)
	a := keys.New(st2)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	org2 := testutil.DefaultOrg(t, st2).ID
	if r, _ := a.Verify(ctx, baKey("A")); r.Code != keys.CodeMalformed {
		t.Fatalf("second store before its import: %v", r.Code)
	}
	b := keys.New(st2)
	if _, err := b.Import(ctx, org2, "t", recs[:1], false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, _ := a.Verify(ctx, baKey("A"))
		if r.Valid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other service's import not seen after 3 s: %v", r.Code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestPlainKeysAreHashed(t *testing.T) {
	f := newFixture(t)
	data := []byte(`[{"key": "` + baKey("P") + `", "name": "plain", "createdAt": "2025-03-01 10:00:00"}]`)
	// Without the option, a plain key is not a hash: the row and field are named.
	_, _, err := keyfile.Parse(data, keyfile.BetterAuth, keyfile.Options{})
	wantRow(t, err, 0, "key", "validation.import.hash")
	if _, err := f.importFile(t, data, keyfile.BetterAuth, keyfile.Options{PlainKeys: true}); err != nil {
		t.Fatal(err)
	}
	// A plain key too short for the logs to mask is refused, the row and field named; nothing
	// of the file is imported.
	short := []byte(`[{"key": "` + baKey("Q") + `"}, {"key": "abc:1234"}, {"key": "abc:123", "name": "short"}]`)
	_, _, err = keyfile.Parse(short, keyfile.BetterAuth, keyfile.Options{PlainKeys: true})
	wantRow(t, err, 2, "key", "validation.import.plain_key_short")
	r, err := f.svc.Verify(ctx, baKey("P"))
	if err != nil || !r.Valid || !r.Key.CreatedAt.Equal(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("plain key = %+v, %v", r, err)
	}
	// The store holds its hash, not the key: the export shows the hash.
	recs, err := f.svc.Export(ctx, f.org)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(keyfile.NewExport(recs, time.Now()))
	if strings.Contains(string(b), baKey("P")) || strings.Contains(string(b), "PPPP") {
		t.Fatal("the export holds the plain key")
	}
}

func wantRow(t *testing.T, err error, row int, field, msg string) {
	t.Helper()
	var re *keys.RowError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want a row error", err)
	}
	if re.Row != row || re.Field != field || re.Err.MessageID() != msg {
		t.Fatalf("row error = row %d field %q message %s (%v), want row %d field %q message %s", re.Row, re.Field, re.Err.MessageID(), re, row, field, msg)
	}
	if !problem.IsInvalid(err) {
		t.Fatal("a row error is not a problem.Invalid")
	}
}

// A bad row anywhere refuses the whole file, names the row and the field, and imports nothing.
func TestBadRowsNameRowAndFieldAndChangeNothing(t *testing.T) {
	f := newFixture(t)
	good := `{"key": "BeUrBrkM3BzLm5jFDRoZIslC5n9vbA1uJ5GAmkZpRzk", "name": "good"}`
	cases := []struct {
		name, row, field, msg string
	}{
		{"hash", `{"key": "not-a-hash"}`, "key", "validation.import.hash"},
		{"no key", `{"name": "x"}`, "key", "validation.import.no_secret"},
		{"permissions", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "permissions": "{\"files\": \"read\"}"}`, "permissions", "validation.import.permissions"},
		{"scope chars", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "permissions": {"my files": ["read"]}}`, "permissions", "validation.key.scope.invalid"},
		{"metadata", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "metadata": "[1,2]"}`, "metadata", "validation.import.metadata"},
		{"metadata name", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "metadata": {"a b": "c"}}`, "metadata", "validation.key.metadata.invalid"},
		{"date", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "expires_at": "next week"}`, "expires_at", "validation.import.date"},
		{"enabled", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "enabled": "maybe"}`, "enabled", "validation.json.type"},
		{"remaining", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "remaining": -1}`, "remaining", "validation.import.whole"},
		{"rate zero", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "rateLimitMax": 0, "rateLimitTimeWindow": 1000}`, "rateLimitMax", "validation.import.rate_zero"},
		{"rate window", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "rateLimitMax": 5, "rateLimitTimeWindow": 604800000}`, "rateLimitTimeWindow", "validation.key.rate_limit.range"},
		{"refill", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "remaining": 5, "refillAmount": 5, "refillInterval": 1000}`, "refillInterval", "validation.key.refill.invalid"},
		{"name", `{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "name": "` + strings.Repeat("n", 65) + `"}`, "name", "validation.key.name.too_long"},
		{"twice", good, "key", "validation.import.duplicate_secret"},
		{"not an object", `42`, "", "validation.json.type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.importFile(t, []byte("["+good+", "+c.row+"]"), "", keyfile.Options{})
			wantRow(t, err, 1, c.field, c.msg)
			page, err := f.svc.List(ctx, keys.ListParams{OrgID: f.org})
			if err != nil || page.Total != 0 {
				t.Fatalf("after a refused import: %d keys, %v", page.Total, err)
			}
		})
	}
	// Already present: row 0 of a second file clashes with the first import.
	if _, err := f.importFile(t, []byte("["+good+"]"), "", keyfile.Options{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.importFile(t, []byte(`[{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI"}, `+good+`]`), "", keyfile.Options{})
	wantRow(t, err, 1, "key", "validation.import.duplicate_secret")
	if page, _ := f.svc.List(ctx, keys.ListParams{OrgID: f.org}); page.Total != 1 {
		t.Fatalf("after a refused second import: %d keys, want 1", page.Total)
	}
	// Files that are not what they claim.
	for _, c := range []struct {
		data string
		want error
	}{{`{"x": 1}`, keyfile.ErrFormat}, {`[`, keyfile.ErrNotJSON}, {`[]`, keys.ErrImportEmpty}, {``, keyfile.ErrNotJSON},
		{`{"format": "keygate-keys", "version": 2, "keys": []}`, keyfile.ErrVersion}} {
		if _, _, err := keyfile.Parse([]byte(c.data), "", keyfile.Options{}); !errors.Is(err, c.want) {
			t.Errorf("Parse(%q) = %v, want %v", c.data, err, c.want)
		}
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t)
	_, recs, err := keyfile.Parse(readFixture(t), "", keyfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Import(ctx, f.org, "t", recs, true)
	if err != nil || res.Count != 3 || !res.DryRun {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
	if r, _ := f.svc.Verify(ctx, baKey("A")); r.Valid {
		t.Fatal("a dry run imported a key")
	}
	if page, _ := f.svc.List(ctx, keys.ListParams{}); page.Total != 0 {
		t.Fatalf("a dry run left %d keys", page.Total)
	}
}

// Keygate's own format moves keys between instances: every field, the ids, the secrets as
// hashes (a native key keeps verifying with its secret, a rolled one with both until its
// grace ends), and the Better Auth keys imported before.
func TestKeygateExportRoundTrip(t *testing.T) {
	src := newFixture(t)
	if _, err := src.importFile(t, readFixture(t), keyfile.BetterAuth, keyfile.Options{Now: testutil.Epoch}); err != nil {
		t.Fatal(err)
	}
	q := int64(40)
	native, err := src.svc.Create(ctx, keys.CreateParams{OrgID: src.org, Name: "native", CreatedBy: "t", Expires: "90d",
		Scopes: []string{"orders:read"}, Metadata: map[string]string{"tier": "gold"}, AllowIPs: []string{"10.0.0.0/8"},
		RateLimit: 7, RateWindow: time.Hour, Quota: &q, RefillAmount: 50, RefillInterval: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rolled, err := src.svc.Create(ctx, keys.CreateParams{OrgID: src.org, Name: "rolled", CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	newer, err := src.svc.Roll(ctx, src.org, rolled.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	revoked, _ := src.svc.Create(ctx, keys.CreateParams{OrgID: src.org, Name: "gone", CreatedBy: "t"})
	if _, err := src.svc.Revoke(ctx, src.org, revoked.ID, "leaked"); err != nil {
		t.Fatal(err)
	}
	recs, err := src.svc.Export(ctx, src.org)
	if err != nil {
		t.Fatal(err)
	}
	file, err := json.Marshal(keyfile.NewExport(recs, testutil.Epoch))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{native.Key, rolled.Key, newer.Key, baKey("A")} {
		if strings.Contains(string(file), secret) {
			t.Fatal("the export holds a secret")
		}
	}

	dst := newFixture(t)
	if got, err := keyfile.Detect(file); err != nil || got != keyfile.Keygate {
		t.Fatalf("Detect = %q, %v", got, err)
	}
	res, err := dst.importFile(t, file, "", keyfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != 6 || res.Foreign != 3 {
		t.Fatalf("result = %+v, want 6 keys, 3 foreign", res)
	}
	for _, c := range []struct {
		secret string
		want   keys.Code
	}{{native.Key, keys.CodeValid}, {rolled.Key, keys.CodeValid}, {newer.Key, keys.CodeValid}, {revoked.Key, keys.CodeRevoked},
		{baKey("A"), keys.CodeValid}, {baKey("B"), keys.CodeDisabled}, {baKey("C"), keys.CodeExpired}} {
		if r, err := dst.svc.Verify(ctx, c.secret); err != nil || r.Code != c.want {
			t.Errorf("on the second instance %s… = %v, %v; want %v", c.secret[:8], r.Code, err, c.want)
		}
	}
	got, err := dst.svc.Get(ctx, dst.org, native.ID)
	if err != nil {
		t.Fatalf("the native key's id was not kept: %v", err)
	}
	want, _ := src.svc.Get(ctx, src.org, native.ID)
	if got.Name != want.Name || got.Start != want.Start || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(*want.ExpiresAt) ||
		strings.Join(got.Scopes, ",") != "orders:read" || got.Metadata["tier"] != "gold" || strings.Join(got.AllowIPs, ",") != "10.0.0.0/8" ||
		got.RateLimit != 7 || got.RateWindow != time.Hour || *got.QuotaRemaining != 40 || got.RefillAmount != 50 || got.RefillIntervalSeconds != 86400 {
		t.Errorf("moved key = %+v\nwant %+v", got, want)
	}
	if g, _ := dst.svc.Get(ctx, dst.org, revoked.ID); g.RevokeReason != "leaked" || g.Status != keys.StatusRevoked {
		t.Errorf("revoked key moved as %+v", g)
	}
	// The same file again: every key is already there; the first row is named.
	_, err = dst.importFile(t, file, "", keyfile.Options{})
	wantRow(t, err, 0, "secrets", "validation.import.duplicate_secret")
	// A rolled imported key gets a secret of Keygate's format with the organization's prefix.
	var billing string
	for _, r := range recs {
		if r.Name == "billing service" {
			billing = r.ID
		}
	}
	c, err := dst.svc.Roll(ctx, dst.org, billing, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := keys.Parse(c.Key); err != nil || p.Prefix != "kg" {
		t.Fatalf("rolled imported key = %q, %v", c.Key, err)
	}
}

func TestKeygateFileRowErrors(t *testing.T) {
	cases := []struct{ key, field, msg string }{
		{`{"id": "key_a", "name": "x", "secrets": [{"hash": "short", "createdAt": "2025-01-01T00:00:00Z"}]}`, "secrets", "validation.import.secret_hash"},
		{`{"id": "key_a", "name": "x", "colour": "red"}`, "colour", "validation.field.unknown"},
		{`{"id": "key_a", "name": 5}`, "name", "validation.json.type"},
	}
	for _, c := range cases {
		file := `{"format": "keygate-keys", "version": 1, "keys": [` + c.key + `]}`
		_, _, err := keyfile.Parse([]byte(file), keyfile.Keygate, keyfile.Options{})
		wantRow(t, err, 0, c.field, c.msg)
	}
	f := newFixture(t)
	file := `{"format": "keygate-keys", "version": 1, "keys": [{"id": "nope", "name": "x", "secrets": [{"hash": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "createdAt": "2025-01-01T00:00:00Z"}]}]}`
	_, err := f.importFile(t, []byte(file), "", keyfile.Options{})
	wantRow(t, err, 0, "id", "validation.import.id")
}

// TestImportReportsProgress: a context with a progress function sees the keys written, up to
// the total; a dry run writes nothing and reports nothing.
func TestImportReportsProgress(t *testing.T) {
	f := newFixture(t)
	var calls [][2]int64
	pctx := keys.WithProgress(ctx, func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	if _, _, err := keyfile.Import(pctx, f.svc, f.org, "t", readFixture(t), "", keyfile.Options{}, true); err != nil || len(calls) != 0 {
		t.Fatalf("dry run: %v, progress %v", err, calls)
	}
	if _, _, err := keyfile.Import(pctx, f.svc, f.org, "t", readFixture(t), "", keyfile.Options{}, false); err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 || calls[len(calls)-1] != [2]int64{3, 3} {
		t.Fatalf("progress = %v, want it to end at 3 of 3", calls)
	}
}
