package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/mailaddr"
	"github.com/keygate/keygate/backend/testutil"
)

func TestRecordAndList(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	l := audit.New(st, clk)
	ctx := context.Background()
	for _, e := range []audit.Entry{
		{Actor: "usr_1", OrgID: "org_a", Action: audit.KeyCreate, Target: "key_1", Detail: "\"ci\"\nforged line", ClientAddr: "127.0.0.1"},
		{Actor: "usr_1", Action: audit.Login, Target: "a@example.com"},
		{Actor: "usr_2", OrgID: "org_b", Action: audit.KeyRevoke, Target: "key_2", Detail: strings.Repeat("é", 2000)},
	} {
		clk.Advance(1)
		if err := l.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(ctx, audit.Entry{Action: audit.Login}); err == nil {
		t.Fatal("entry without actor recorded")
	}
	all, _ := l.List(ctx, audit.Filter{})
	if len(all) != 3 || all[0].Action != audit.KeyRevoke || all[2].Action != audit.KeyCreate {
		t.Fatalf("newest first: %+v", all)
	}
	if strings.ContainsAny(all[2].Detail, "\n\r") {
		t.Fatal("control characters kept: log injection")
	}
	if len(all[0].Detail) > 1024 || !strings.HasPrefix(all[0].Detail, "é") || strings.ContainsRune(all[0].Detail, '\uFFFD') {
		t.Fatal("detail not bounded on a character boundary")
	}
	a, _ := l.List(ctx, audit.Filter{OrgID: "org_a"})
	ag, _ := l.List(ctx, audit.Filter{OrgID: "org_a", Global: true})
	if len(a) != 1 || len(ag) != 2 {
		t.Fatalf("org filter %d, with global %d", len(a), len(ag))
	}
	page, _ := l.List(ctx, audit.Filter{Limit: 1, Before: all[0].ID})
	if len(page) != 1 || page[0].ID != all[1].ID {
		t.Fatalf("paging: %+v", page)
	}
	if _, err := l.List(ctx, audit.Filter{Limit: 501}); err == nil {
		t.Fatal("limit 501 accepted")
	}
}

// TestRecordHooks: a hook writes in the entry's transaction; when it fails, what it wrote is
// rolled back, the entry is still recorded and the error says so.
func TestRecordHooks(t *testing.T) {
	st := testutil.NewStore(t)
	l := audit.New(st, testutil.NewClock())
	ctx := context.Background()
	var seen []audit.Entry
	fail := false
	l.OnRecord(func(ctx context.Context, tx *sql.Tx, e audit.Entry, _ any) error {
		seen = append(seen, e)
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)`, "hook."+e.Target, "x"); err != nil {
			return err
		}
		if fail {
			return errors.New("hook broke")
		}
		return nil
	})
	if err := l.Record(ctx, audit.Entry{Actor: "cli", OrgID: "org_a", Action: audit.KeyCreate, Target: "key_1\n"}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].Target != "key_1 " || seen[0].At.IsZero() {
		t.Fatalf("the hook saw %+v", seen)
	}
	fail = true
	err := l.Record(ctx, audit.Entry{Actor: "cli", OrgID: "org_a", Action: audit.KeyRevoke, Target: "key_2"})
	if !errors.Is(err, audit.ErrHook) {
		t.Fatalf("failing hook: %v", err)
	}
	all, _ := l.List(ctx, audit.Filter{})
	if len(all) != 2 || all[0].Action != audit.KeyRevoke {
		t.Fatalf("the entry of a failed hook was not recorded: %+v", all)
	}
	var n int
	st.Read.QueryRow(`SELECT count(*) FROM settings WHERE name LIKE 'hook.%'`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d hook rows, want 1: the failed hook's write must roll back", n)
	}
}

// TestListFilters: action, actor (id, a pseudo-actor, or a user's address in any case of all of
// Unicode, on both engines alike) and time (from inclusive, to exclusive) narrow the list; a
// backwards range is refused.
func TestListFilters(t *testing.T) {
	st := testutil.NewStore(t)
	clk := testutil.NewClock()
	l := audit.New(st, clk)
	ctx := context.Background()
	if _, err := st.Write.Exec(`INSERT INTO users (id, email, email_key, name, password_hash, created_at) VALUES ('usr_1', ?, ?, 'Ünal', 'x', 0)`,
		"Ünal@Example.com", mailaddr.Key("Ünal@Example.com")); err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	for _, e := range []audit.Entry{
		{Actor: "usr_1", Action: audit.KeyCreate, Target: "key_1"},
		{Actor: audit.ActorCLI, Action: audit.KeyCreate, Target: "key_2"},
		{Actor: "usr_1", Action: audit.KeyRevoke, Target: "key_1"},
	} {
		clk.Advance(time.Second)
		if err := l.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	targets := func(f audit.Filter) string {
		t.Helper()
		es, err := l.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Action+":"+e.Target)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		f    audit.Filter
		want string
	}{
		{audit.Filter{Action: audit.KeyCreate}, "key.create:key_2 key.create:key_1"},
		{audit.Filter{Actor: "usr_1"}, "key.revoke:key_1 key.create:key_1"},
		{audit.Filter{Actor: "üNAL@example.COM"}, "key.revoke:key_1 key.create:key_1"},
		{audit.Filter{Actor: "unal@example.com"}, ""},
		{audit.Filter{Actor: audit.ActorCLI, Action: audit.KeyCreate}, "key.create:key_2"},
		{audit.Filter{Action: "key.nothing"}, ""},
		{audit.Filter{From: start.Add(2 * time.Second)}, "key.revoke:key_1 key.create:key_2"},
		{audit.Filter{From: start.Add(2 * time.Second), To: start.Add(3 * time.Second)}, "key.create:key_2"},
		{audit.Filter{To: start.Add(time.Second)}, ""},
	} {
		if got := targets(tc.f); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.f, got, tc.want)
		}
	}
	if _, err := l.List(ctx, audit.Filter{From: start, To: start}); !errors.Is(err, audit.ErrInvalidTimeRange) {
		t.Fatalf("empty range: %v", err)
	}
}

// TestRecordTx: an entry recorded in the caller's transaction runs the hooks there with the
// subject passed; a hook's failure is returned (not swallowed as Record does), so the caller's
// rollback leaves neither its change, nor the entry, nor what the hook wrote.
func TestRecordTx(t *testing.T) {
	st := testutil.NewStore(t)
	l := audit.New(st, testutil.NewClock())
	ctx := context.Background()
	broken := errors.New("hook broke")
	var subjects []any
	l.OnRecord(func(ctx context.Context, tx *sql.Tx, e audit.Entry, subject any) error {
		subjects = append(subjects, subject)
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)`, "hook."+e.Target, "x"); err != nil {
			return err
		}
		if e.Target == "key_2" {
			return broken
		}
		return nil
	})
	change := func(target string) error {
		return st.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)`, "change."+target, "x"); err != nil {
				return err
			}
			return l.RecordTx(ctx, tx, audit.Entry{Actor: "cli", OrgID: "org_a", Action: audit.KeyRevoke, Target: target}, "subject of "+target)
		})
	}
	if err := change("key_1"); err != nil {
		t.Fatal(err)
	}
	l.Committed(ctx)
	if err := change("key_2"); !errors.Is(err, broken) || errors.Is(err, audit.ErrHook) {
		t.Fatalf("failing hook in the caller's transaction: %v", err)
	}
	if err := st.Tx(ctx, func(tx *sql.Tx) error { return l.RecordTx(ctx, tx, audit.Entry{Action: audit.KeyRevoke}, nil) }); !errors.Is(err, audit.ErrInvalidEntry) {
		t.Fatalf("entry without actor: %v", err)
	}
	if len(subjects) != 2 || subjects[0] != "subject of key_1" || subjects[1] != "subject of key_2" {
		t.Fatalf("the hook saw subjects %v", subjects)
	}
	all, _ := l.List(ctx, audit.Filter{})
	if len(all) != 1 || all[0].Target != "key_1" {
		t.Fatalf("entries %+v, want only key_1's", all)
	}
	var names []string
	rows, err := st.Read.Query(`SELECT name FROM settings WHERE name LIKE 'hook.%' OR name LIKE 'change.%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	if strings.Join(names, " ") != "change.key_1 hook.key_1" {
		t.Fatalf("committed rows %v: the failed change must leave nothing", names)
	}
}
