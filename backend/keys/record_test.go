package keys_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/keys"
)

// TestRecordedChanges: a change made through Recording runs its Recorder in the change's own
// transaction, once, and only when it changed the key, with the key before and as changed.
// When the Recorder fails, the change and what the Recorder wrote roll back together (an
// in-memory quota count included) and the change returns the Recorder's error.
func TestRecordedChanges(t *testing.T) {
	f := newFixture(t)
	broken := errors.New("recorder broke")
	var seen []string
	fail := true
	ch := f.svc.Recording(func(ctx context.Context, tx *sql.Tx, before, after keys.Key) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)`,
			"recorded."+strconv.Itoa(len(seen)), after.ID); err != nil {
			return err
		}
		q := "-"
		if after.QuotaRemaining != nil {
			q = strconv.FormatInt(*after.QuotaRemaining, 10)
		}
		seen = append(seen, before.Name+">"+after.Name+" "+string(after.Status)+" "+q)
		if fail {
			return broken
		}
		return nil
	})
	quota, less := int64(9), int64(3)
	k, err := f.svc.Create(ctx, keys.CreateParams{OrgID: f.org, Name: "ci", CreatedBy: "test", Quota: &quota})
	if err != nil {
		t.Fatal(err)
	}
	rename := "ci-2"
	unchanged := func(what string) {
		t.Helper()
		got, err := f.svc.Get(ctx, f.org, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "ci" || got.Status != keys.StatusActive || got.Start != k.Start || got.QuotaRemaining == nil ||
			*got.QuotaRemaining != quota {
			t.Fatalf("a failed %s left the key %+v (quota %d)", what, got, *got.QuotaRemaining)
		}
		if p, _ := f.svc.List(ctx, keys.ListParams{OrgID: f.org}); p.Total != 1 {
			t.Fatalf("a failed %s left %d keys", what, p.Total)
		}
		var n int
		f.st.Read.QueryRow(`SELECT count(*) FROM settings WHERE name LIKE 'recorded.%'`).Scan(&n)
		if n != 0 {
			t.Fatalf("a failed %s left %d of the recorder's rows", what, n)
		}
	}
	for what, change := range map[string]func() error{
		"create": func() error {
			_, err := ch.Create(ctx, keys.CreateParams{OrgID: f.org, Name: "lost", CreatedBy: "test"})
			return err
		},
		"rename":     func() error { _, err := ch.Update(ctx, f.org, k.ID, keys.UpdateParams{Name: &rename}); return err },
		"quota edit": func() error { _, err := ch.Update(ctx, f.org, k.ID, keys.UpdateParams{Quota: &less}); return err },
		"disable":    func() error { _, _, err := ch.Disable(ctx, f.org, k.ID, "test"); return err },
		"revoke":     func() error { _, err := ch.Revoke(ctx, f.org, k.ID, "leaked"); return err },
		"roll":       func() error { _, err := ch.Roll(ctx, f.org, k.ID, 0); return err },
	} {
		if err := change(); !errors.Is(err, broken) {
			t.Fatalf("%s: %v, want the recorder's error", what, err)
		}
		unchanged(what)
	}
	if r := f.verify(t, k.Key); !r.Valid {
		t.Fatalf("the secret after a failed roll and revoke: %+v", r)
	}
	if !slices.Contains(seen, ">lost active -") {
		t.Fatalf("the recorders saw %v: a create's saw no zero key before and the new key after", seen)
	}

	seen, fail = nil, false
	if _, err := ch.Update(ctx, f.org, k.ID, keys.UpdateParams{Name: &rename, Quota: &less}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ch.Disable(ctx, f.org, k.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, changed, err := ch.Disable(ctx, f.org, k.ID, "test"); err != nil || changed {
		t.Fatalf("second disable: %v %v", changed, err)
	}
	fail = true
	if _, _, err := ch.Enable(ctx, f.org, k.ID); !errors.Is(err, broken) {
		t.Fatalf("enable: %v", err)
	}
	if got, _ := f.svc.Get(ctx, f.org, k.ID); got.Status != keys.StatusDisabled {
		t.Fatalf("a failed enable left the key %s", got.Status)
	}
	fail = false
	if _, _, err := ch.Enable(ctx, f.org, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Revoke(ctx, f.org, k.ID, "leaked"); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Revoke(ctx, f.org, k.ID, "again"); err != nil {
		t.Fatal(err)
	}
	want := "ci>ci-2 active 3|ci-2>ci-2 disabled 3|ci-2>ci-2 active 3|ci-2>ci-2 active 3|ci-2>ci-2 revoked 3"
	if got := strings.Join(seen, "|"); got != want {
		t.Fatalf("the recorder saw %s, want %s", got, want)
	}
	var n int
	f.st.Read.QueryRow(`SELECT count(*) FROM settings WHERE name LIKE 'recorded.%'`).Scan(&n)
	if n != 4 {
		t.Fatalf("%d recorder rows committed, want 4 (the failed enable's rolled back)", n)
	}
	if got, _ := f.svc.Get(ctx, f.org, k.ID); got.QuotaRemaining == nil || *got.QuotaRemaining != less {
		t.Fatalf("quota after the recorded edit: %v", got.QuotaRemaining)
	}
}

// TestRecordedImport: an import made through ImportRecording runs its recorder in the import's
// transaction with the result; a dry run records nothing; the recorder's failure leaves no key
// of the import.
func TestRecordedImport(t *testing.T) {
	f := newFixture(t)
	secret := "ba_" + strings.Repeat("Qx", 31)
	recs := func() []keys.Record {
		return []keys.Record{{Name: "imported", Foreign: true, Secrets: []keys.Secret{{Hash: sha256.Sum256([]byte(secret))}}}}
	}
	var seen []keys.ImportResult
	fail := true
	imp := f.svc.ImportRecording(func(ctx context.Context, tx *sql.Tx, res keys.ImportResult) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)`, "recorded."+strconv.Itoa(len(seen)), "x"); err != nil {
			return err
		}
		seen = append(seen, res)
		if fail {
			return errors.New("recorder broke")
		}
		return nil
	})
	if _, err := imp.Import(ctx, f.org, "test", recs(), true); err != nil || len(seen) != 0 {
		t.Fatalf("dry run: %v, recorded %v", err, seen)
	}
	if _, err := imp.Import(ctx, f.org, "test", recs(), false); err == nil || len(seen) != 1 {
		t.Fatalf("failing recorder: %v, recorded %v", err, seen)
	}
	if r := f.verify(t, secret); r.Valid {
		t.Fatal("the import outlived its failed record")
	}
	fail = false
	if res, err := imp.Import(ctx, f.org, "test", recs(), false); err != nil || res.Count != 1 || seen[1] != res {
		t.Fatalf("import: %+v %v, recorded %v", res, err, seen)
	}
	if r := f.verify(t, secret); !r.Valid {
		t.Fatalf("the imported key: %+v", r)
	}
	var n int
	f.st.Read.QueryRow(`SELECT count(*) FROM settings WHERE name LIKE 'recorded.%'`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d recorder rows, want 1", n)
	}
}
