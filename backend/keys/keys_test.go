package keys_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
)

var ctx = context.Background()

type fixture struct {
	st    *store.Store
	svc   *keys.Service
	clock interface {
		Now() time.Time
		Advance(time.Duration)
	}
	org string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	st := testutil.NewStore(t)
	c := testutil.NewClock()
	return fixture{st: st, svc: keys.New(st, keys.WithClock(c)), clock: c, org: testutil.DefaultOrg(t, st).ID}
}

func (f fixture) create(t *testing.T, name, expires string) keys.Created {
	t.Helper()
	c, err := f.svc.Create(ctx, keys.CreateParams{OrgID: f.org, Name: name, Expires: expires, CreatedBy: "test"})
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	return c
}

func (f fixture) verify(t *testing.T, raw string) keys.Result {
	t.Helper()
	r, err := f.svc.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return r
}

func TestCreateReturnsCompleteKey(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "  billing service  ", "never")
	if c.Name != "billing service" {
		t.Errorf("name not trimmed: %q", c.Name)
	}
	if c.ID == "" || !strings.HasPrefix(c.ID, "key_") || c.Key == "" || c.Prefix != "kg" || !strings.HasPrefix(c.Key, c.Start) {
		t.Errorf("incomplete created key: %+v", c)
	}
	if c.ExpiresAt != nil {
		t.Errorf("never expires, got %v", c.ExpiresAt)
	}
	if r := f.verify(t, c.Key); !r.Valid || r.Code != keys.CodeValid || r.Key.ID != c.ID || r.Key.OrgID != f.org {
		t.Errorf("fresh key does not verify: %+v", r)
	}
}

func TestCreateFailsLoudly(t *testing.T) {
	f := newFixture(t)
	cases := []keys.CreateParams{
		{OrgID: "", Name: "x", CreatedBy: "t"},
		{OrgID: "org_missing", Name: "x", CreatedBy: "t"},
		{OrgID: f.org, Name: "x", CreatedBy: ""},
	}
	for _, p := range cases {
		if c, err := f.svc.Create(ctx, p); err == nil {
			t.Errorf("Create(%+v) = %+v, want error", p, c)
		}
	}
	if p, _ := f.svc.List(ctx, keys.ListParams{}); len(p.Keys) != 0 {
		t.Errorf("failed creates left %d keys", len(p.Keys))
	}
}

func TestNameValidation(t *testing.T) {
	f := newFixture(t)
	ok := []string{"a", strings.Repeat("x", 64), "  padded  ", strings.Repeat("é", 64), "日本語のキー"}
	bad := []string{"", " ", "\t\n ", strings.Repeat("x", 65), strings.Repeat("é", 65), "tab\tinside", "nl\ninside"}
	for _, n := range ok {
		if _, err := f.svc.Create(ctx, keys.CreateParams{OrgID: f.org, Name: n, CreatedBy: "t"}); err != nil {
			t.Errorf("name %q refused: %v", n, err)
		}
	}
	for _, n := range bad {
		if _, err := f.svc.Create(ctx, keys.CreateParams{OrgID: f.org, Name: n, CreatedBy: "t"}); !errors.Is(err, keys.ErrInvalidName) {
			t.Errorf("name %q: got %v, want ErrInvalidName", n, err)
		}
	}
}

func TestExpiryVocabulary(t *testing.T) {
	now := testutil.Epoch
	day := 24 * time.Hour
	cases := []struct {
		in   string
		want time.Time
		err  error
	}{
		{in: "never"},
		{in: ""},
		{in: "7d", want: now.Add(7 * day)},
		{in: "30d", want: now.Add(30 * day)},
		{in: "60d", want: now.Add(60 * day)},
		{in: "90d", want: now.Add(90 * day)},
		{in: "1y", want: now.AddDate(1, 0, 0)},
		{in: "2026-01-15", want: time.Date(2026, 1, 15, 23, 59, 59, 0, time.UTC)}, // today: end of today
		{in: "2027-02-28", want: time.Date(2027, 2, 28, 23, 59, 59, 0, time.UTC)},
		{in: "2026-01-14", err: keys.ErrExpiryInPast},
		{in: "2026-02-30", err: keys.ErrInvalidExpiry},
		{in: "3d", err: keys.ErrInvalidExpiry},
		{in: "forever", err: keys.ErrInvalidExpiry},
		{in: "2026-1-20", err: keys.ErrInvalidExpiry},
	}
	for _, c := range cases {
		got, err := keys.ParseExpiry(c.in, now)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("ParseExpiry(%q) error = %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseExpiry(%q): %v", c.in, err)
			continue
		}
		if c.want.IsZero() != (got == nil) || got != nil && !got.Equal(c.want) {
			t.Errorf("ParseExpiry(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestExpiryBoundary(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "short-lived", "7d")
	f.clock.Advance(7*24*time.Hour - time.Millisecond)
	if r := f.verify(t, c.Key); r.Code != keys.CodeValid {
		t.Fatalf("1 ms before expiry: %s", r.Code)
	}
	f.clock.Advance(time.Millisecond)
	if r := f.verify(t, c.Key); r.Code != keys.CodeExpired || r.Valid {
		t.Fatalf("at expiry: %+v", r)
	}
	p, _ := f.svc.List(ctx, keys.ListParams{OrgID: f.org, Status: keys.StatusExpired})
	if len(p.Keys) != 1 || p.Keys[0].Status != keys.StatusExpired {
		t.Fatalf("expired filter: %+v", p.Keys)
	}
}

func TestVerifyCodes(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "k", "never")
	other, _ := keys.Generate("kg")
	last := "x" // a different last character breaks the checksum
	if strings.HasSuffix(c.Key, last) {
		last = "y"
	}
	cases := map[string]keys.Code{
		c.Key:                       keys.CodeValid,
		other.Raw:                   keys.CodeNotFound,
		c.Key[:len(c.Key)-1] + last: keys.CodeMalformed,
		"not a key":                 keys.CodeMalformed,
	}
	for raw, want := range cases {
		if r := f.verify(t, raw); r.Code != want || r.Valid != (want == keys.CodeValid) {
			t.Errorf("Verify(%q) = %+v, want %s", raw, r, want)
		}
	}
	// A second look is answered from the cache with the same result.
	hits0, _ := f.svc.CacheStats()
	f.verify(t, other.Raw)
	if hits, _ := f.svc.CacheStats(); hits != hits0+1 {
		t.Errorf("negative answer not cached: hits %d -> %d", hits0, hits)
	}
}

func TestMalformedKeyMakesNoLookup(t *testing.T) {
	f := newFixture(t)
	_, misses0 := f.svc.CacheStats()
	f.verify(t, "kg_definitelynotavalidkeyatallnotatall000000")
	if _, misses := f.svc.CacheStats(); misses != misses0 {
		t.Errorf("malformed key caused a lookup")
	}
}

func TestRevokeIsImmediateAndIdempotent(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "k", "never")
	f.verify(t, c.Key) // now cached as valid
	k, err := f.svc.Revoke(ctx, f.org, c.ID, "  leaked in a log  ")
	if err != nil {
		t.Fatal(err)
	}
	if k.Status != keys.StatusRevoked || k.RevokedAt == nil || k.RevokeReason != "leaked in a log" {
		t.Fatalf("revoked key: %+v", k)
	}
	if r := f.verify(t, c.Key); r.Code != keys.CodeRevoked {
		t.Fatalf("after revoke: %s", r.Code)
	}
	f.clock.Advance(time.Hour)
	k2, err := f.svc.Revoke(ctx, f.org, c.ID, "again")
	if err != nil || !k2.RevokedAt.Equal(*k.RevokedAt) || k2.RevokeReason != k.RevokeReason {
		t.Fatalf("second revoke changed the tombstone: %+v, %v", k2, err)
	}
	if _, err := f.svc.Revoke(ctx, f.org, "key_nope", ""); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	if _, err := f.svc.Revoke(ctx, "org_other", c.ID, ""); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("revoke in another org: %v", err)
	}
}

// TestRevokeByAnotherProcess stands a second Service on the same database file in for the CLI
// running beside a server: the server must answer REVOKED within a second.
func TestRevokeByAnotherProcess(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "k", "never")
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.svc.Run(runCtx)
	f.verify(t, c.Key)

	st2, err := f.st.OpenAgain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if _, err := keys.New(st2).Revoke(ctx, "", c.ID, ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.verify(t, c.Key).Code != keys.CodeRevoked {
		if time.Now().After(deadline) {
			t.Fatal("revoke by another process not honoured within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNegativeEntryNeverHidesNewKey puts a key's secret into the store behind the cache's back
// (as another process would) after the cache learnt it did not exist.
func TestNegativeEntryNeverHidesNewKey(t *testing.T) {
	f := newFixture(t)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.svc.Run(runCtx)
	c := f.create(t, "k", "never")
	future, _ := keys.Generate("kg")
	if r := f.verify(t, future.Raw); r.Code != keys.CodeNotFound {
		t.Fatalf("want NOT_FOUND first, got %s", r.Code)
	}
	h := future.Hash()
	if _, err := f.st.Write.Exec(`INSERT INTO key_secrets (hash, key_id, created_at) VALUES (?, ?, 0)`, h[:], c.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.verify(t, future.Raw).Code != keys.CodeValid {
		if time.Now().After(deadline) {
			t.Fatal("a new key stayed hidden by a negative cache entry")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRollKeepsIDAndHonoursGrace(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "k", "never")
	r, err := f.svc.Roll(ctx, f.org, c.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != c.ID || r.Key == c.Key || r.Key == "" {
		t.Fatalf("roll: %+v", r)
	}
	if got := f.verify(t, c.Key); got.Code != keys.CodeValid {
		t.Fatalf("old secret inside grace: %s", got.Code)
	}
	if got := f.verify(t, r.Key); got.Code != keys.CodeValid || got.Key.ID != c.ID {
		t.Fatalf("new secret: %+v", got)
	}
	f.clock.Advance(time.Hour)
	if got := f.verify(t, c.Key); got.Code != keys.CodeRevoked {
		t.Fatalf("old secret after grace: %s", got.Code)
	}
	if got := f.verify(t, r.Key); got.Code != keys.CodeValid {
		t.Fatalf("new secret after grace: %s", got.Code)
	}
	k, _ := f.svc.Get(ctx, f.org, c.ID)
	if k.Start != r.Start {
		t.Errorf("start not updated: %q vs %q", k.Start, r.Start)
	}
	if _, err := f.svc.Roll(ctx, f.org, c.ID, -time.Second); !errors.Is(err, keys.ErrInvalidGrace) {
		t.Errorf("negative grace: %v", err)
	}
	f.svc.Revoke(ctx, f.org, c.ID, "")
	if _, err := f.svc.Roll(ctx, f.org, c.ID, 0); !errors.Is(err, keys.ErrRevoked) {
		t.Errorf("roll of revoked key: %v", err)
	}
}

func TestListPaginatesNewestFirstAndFilters(t *testing.T) {
	f := newFixture(t)
	var made []keys.Created
	for i := 0; i < 7; i++ {
		made = append(made, f.create(t, "k"+string(rune('a'+i)), "never"))
		f.clock.Advance(time.Second)
	}
	f.svc.Revoke(ctx, f.org, made[2].ID, "")
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := f.svc.List(ctx, keys.ListParams{OrgID: f.org, Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range p.Keys {
			got = append(got, k.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(got) != 7 || got[0] != made[6].ID || got[6] != made[0].ID {
		t.Fatalf("order: %v", got)
	}
	for status, want := range map[keys.Status]int{keys.StatusActive: 6, keys.StatusRevoked: 1, keys.StatusExpired: 0, keys.StatusAll: 7} {
		p, err := f.svc.List(ctx, keys.ListParams{OrgID: f.org, Status: status})
		if err != nil || len(p.Keys) != want {
			t.Errorf("status %s: %d keys, %v; want %d", status, len(p.Keys), err, want)
		}
	}
	if _, err := f.svc.List(ctx, keys.ListParams{Status: "bogus"}); !errors.Is(err, keys.ErrInvalidStatus) {
		t.Errorf("bogus status: %v", err)
	}
	if _, err := f.svc.List(ctx, keys.ListParams{Cursor: "!!"}); !errors.Is(err, keys.ErrInvalidCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestListNeverExposesHashOrSecret(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "k", "never")
	p, _ := f.svc.List(ctx, keys.ListParams{})
	b, _ := json.Marshal(p)
	k, _ := keys.Parse(c.Key)
	h := k.Hash()
	for _, leak := range []string{c.Key, k.Secret, "hash", string(h[:])} {
		if bytes.Contains(b, []byte(leak)) {
			t.Errorf("list JSON contains %q: %s", leak, b)
		}
	}
}

func TestRename(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "old", "never")
	k, err := f.svc.Rename(ctx, f.org, c.ID, " new name ")
	if err != nil || k.Name != "new name" {
		t.Fatalf("rename: %+v %v", k, err)
	}
	if r := f.verify(t, c.Key); r.Key.Name != "new name" {
		t.Errorf("verification still shows old name %q", r.Key.Name)
	}
	if _, err := f.svc.Rename(ctx, f.org, c.ID, "   "); !errors.Is(err, keys.ErrInvalidName) {
		t.Errorf("blank rename: %v", err)
	}
}

func TestUsageIsBatched(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "k", "never")
	at := testutil.Epoch.Add(time.Minute)
	for i := 0; i < 5; i++ {
		f.svc.RecordUse(c.ID, at)
	}
	k, _ := f.svc.Get(ctx, f.org, c.ID)
	if k.UsageCount != 0 || k.LastUsedAt != nil {
		t.Fatalf("usage written before flush: %+v", k)
	}
	if err := f.svc.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	k, _ = f.svc.Get(ctx, f.org, c.ID)
	if k.UsageCount != 5 || k.LastUsedAt == nil || !k.LastUsedAt.Equal(at) {
		t.Fatalf("after flush: count %d last %v", k.UsageCount, k.LastUsedAt)
	}
}

// TestDatabaseNeverHoldsSecret reads the database files' raw bytes, WAL included.
func TestDatabaseNeverHoldsSecret(t *testing.T) {
	f := newFixture(t)
	var secrets []string
	for i := 0; i < 20; i++ {
		c := f.create(t, "k", "30d")
		p, _ := keys.Parse(c.Key)
		secrets = append(secrets, p.Secret)
		r, _ := f.svc.Roll(ctx, f.org, c.ID, time.Hour)
		p, _ = keys.Parse(r.Key)
		secrets = append(secrets, p.Secret)
	}
	if f.st.Dialect == store.Postgres {
		neverInTables(t, f.st, secrets)
		return
	}
	files, _ := filepath.Glob(f.st.Path + "*")
	if len(files) < 2 {
		t.Fatalf("expected the database and its WAL, found %v", files)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) || bytes.Contains(b, []byte(s[8:24])) {
				t.Fatalf("%s contains a key secret", filepath.Base(file))
			}
		}
	}
}

// neverInTables looks for the secrets (as text and as hex bytes) in every row of every table.
func neverInTables(t *testing.T, st *store.Store, secrets []string) {
	t.Helper()
	rows, err := st.Read.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("found only tables %v", tables)
	}
	for _, table := range tables {
		rows, err := st.Read.QueryContext(ctx, `SELECT CAST(t AS text) FROM "`+table+`" t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var row string
			rows.Scan(&row)
			for _, s := range secrets {
				if strings.Contains(row, s[8:24]) || strings.Contains(row, hex.EncodeToString([]byte(s[8:24]))) {
					t.Fatalf("table %s holds a key secret", table)
				}
			}
		}
		rows.Close()
	}
}
