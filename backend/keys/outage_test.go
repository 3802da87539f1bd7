package keys_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// TestStoreOutage: with PostgreSQL stopped, a key verified within the outage grace keeps
// working, a key this node has not verified gets an "unavailable" error (the gateway's 503
// STORE_UNAVAILABLE, never NOT_FOUND), the grace runs out, and when PostgreSQL is back
// everything works again without a restart.
func TestStoreOutage(t *testing.T) {
	srv, err := pgtest.Start() // a server of its own: this test stops it
	if err != nil {
		if err == pgtest.ErrNotInstalled {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	defer srv.Stop()
	if err := srv.CreateDatabase(ctx, "outage"); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenPostgres(ctx, srv.DatabaseURL("outage"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := testutil.NewClock()
	svc := keys.New(st, keys.WithClock(clk))
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { svc.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 5*time.Second, "the change feed to listen", st.Changes().Listening)

	org := testutil.DefaultOrg(t, st).ID
	seen, err := svc.Create(ctx, keys.CreateParams{OrgID: org, Name: "seen", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	unseen, err := svc.Create(ctx, keys.CreateParams{OrgID: org, Name: "unseen", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	unknown, _ := keys.Generate("kg")
	if r, err := svc.Verify(ctx, seen.Key); err != nil || !r.Valid {
		t.Fatalf("before the outage: %+v %v", r, err)
	}
	// An imported key in another format (no Keygate checksum), verified before the outage.
	foreign := "ba_" + strings.Repeat("F", 64)
	if _, err := svc.Import(ctx, org, "test", []keys.Record{{Name: "imported", Foreign: true,
		Secrets: []keys.Secret{{Hash: sha256.Sum256([]byte(foreign))}}}}, false); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.Verify(ctx, foreign); err != nil || !r.Valid {
		t.Fatalf("the imported key before the outage: %+v %v", r, err)
	}

	lost := st.Changes().LostCount()
	if err := srv.Halt(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the feed to notice", func() bool { return st.Changes().LostCount() > lost })
	clk.Advance(30 * time.Second)
	if r, err := svc.Verify(ctx, seen.Key); err != nil || !r.Valid {
		t.Fatalf("a key verified 30 s ago, store down: %+v %v", r, err)
	}
	if svc.OutageAnswers() == 0 {
		t.Fatal("not counted as an outage answer")
	}
	// The store cannot say whether imported keys exist: the one verified here keeps its
	// answer for the grace; any other string that is not a Keygate key is refused offline.
	if r, err := svc.Verify(ctx, foreign); err != nil || !r.Valid {
		t.Fatalf("an imported key verified 30 s ago, store down: %+v %v", r, err)
	}
	if r, err := svc.Verify(ctx, "ba_"+strings.Repeat("G", 64)); err != nil || r.Code != keys.CodeMalformed {
		t.Fatalf("an unknown foreign string, store down: %+v %v; want MALFORMED without the store", r, err)
	}
	for name, raw := range map[string]string{"not verified here": unseen.Key, "unknown": unknown.Raw} {
		r, err := svc.Verify(ctx, raw)
		if err == nil || !store.IsUnavailable(err) {
			t.Fatalf("%s key, store down: %+v %v; want an unavailable error", name, r, err)
		}
	}
	if r, err := svc.Verify(ctx, "kg_garbage"); err != nil || r.Code != keys.CodeMalformed {
		t.Fatalf("a malformed key needs no store: %+v %v", r, err)
	}
	// The grace runs from the last verification by the store (61 s ago), not from the last
	// answer from memory (31 s ago): using the key during the outage does not extend it.
	clk.Advance(31 * time.Second)
	if _, err := svc.Verify(ctx, seen.Key); err == nil {
		t.Fatal("the outage grace was extended by answers from memory")
	}
	clk.Advance(30 * time.Second)
	if _, err := svc.Verify(ctx, seen.Key); err == nil {
		t.Fatal("the outage grace never ends")
	}

	if err := srv.StartAgain(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "verification to work again after PostgreSQL came back", func() bool {
		r, err := svc.Verify(ctx, unseen.Key)
		return err == nil && r.Valid
	})
	waitFor(t, 10*time.Second, "the feed to listen again", st.Changes().Listening)
	if _, err := svc.Revoke(ctx, org, seen.ID, "after"); err != nil {
		t.Fatalf("writes after recovery: %v", err)
	}
	if r, _ := svc.Verify(ctx, seen.Key); r.Code != keys.CodeRevoked {
		t.Fatalf("after recovery and revoke: %s", r.Code)
	}
}
