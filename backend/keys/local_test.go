package keys_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/testutil"
)

// verifiedFromMemory checks that VerifyCached, on the service and on a Local (cold, then
// warm), gives Verify's answer for raw once Verify has looked it up: the same code, validity
// and key.
func verifiedFromMemory(t *testing.T, f fixture, l *keys.Local, raw string) {
	t.Helper()
	want := f.verify(t, raw)
	name := raw
	if len(name) > 40 {
		name = name[:40] + "…"
	}
	for i, verify := range []func(string, time.Time) (keys.Result, bool){f.svc.VerifyCached, l.VerifyCached, l.VerifyCached} {
		got, ok := verify(raw, f.clock.Now())
		if !ok {
			t.Errorf("%q (way %d): not answered from memory after Verify", name, i)
			continue
		}
		if got.Code != want.Code || got.Valid != want.Valid || (got.Key == nil) != (want.Key == nil) ||
			got.Key != nil && got.Key.ID != want.Key.ID {
			t.Errorf("%q (way %d): %s valid=%v, Verify said %s valid=%v", name, i, got.Code, got.Valid, want.Code, want.Valid)
		}
	}
}

// TestVerifyCachedAgreesWithVerify: what the event loops answer from memory is what Verify
// answers, for every kind of key and string, with and without imported keys in another
// format; a key that is not cached is left to Verify.
func TestVerifyCachedAgreesWithVerify(t *testing.T) {
	f := newFixture(t)
	l := f.svc.Local()
	valid := f.create(t, "valid", "never")
	revoked := f.create(t, "revoked", "never")
	if _, err := f.svc.Revoke(ctx, f.org, revoked.ID, ""); err != nil {
		t.Fatal(err)
	}
	disabled := f.create(t, "disabled", "never")
	if _, _, err := f.svc.Disable(ctx, f.org, disabled.ID, "test"); err != nil {
		t.Fatal(err)
	}
	expiring := f.create(t, "expiring", "7d")
	f.clock.Advance(8 * 24 * time.Hour)
	unknown, _ := keys.Generate("kg")
	last := "x" // a different last character breaks the checksum
	if strings.HasSuffix(valid.Key, last) {
		last = "y"
	}
	badSum := valid.Key[:len(valid.Key)-1] + last

	// Not looked up yet: the loops must ask the store.
	for _, raw := range []string{valid.Key, unknown.Raw} {
		if _, ok := l.VerifyCached(raw, f.clock.Now()); ok {
			t.Errorf("%q answered from memory before any lookup", raw)
		}
	}
	strs := []string{valid.Key, revoked.Key, disabled.Key, expiring.Key, unknown.Raw, badSum,
		"not a key", "", strings.Repeat("k", 600), "kg_" + strings.Repeat("A", 300)}
	for _, raw := range strs {
		verifiedFromMemory(t, f, l, raw)
	}

	// Imported keys in another format: strings that fail Keygate's format check are looked up
	// too, and a cached one (found or not) is answered from memory.
	foreign := "ba_" + strings.Repeat("Qx", 32)
	if _, err := f.svc.Import(ctx, f.org, "test", []keys.Record{
		{Name: "imported", Foreign: true, Secrets: []keys.Secret{{Hash: sha256.Sum256([]byte(foreign))}}},
	}, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.VerifyCached(foreign, f.clock.Now()); ok {
		t.Error("an imported key answered from memory before any lookup")
	}
	for _, raw := range append(strs, foreign, "ba_"+strings.Repeat("Qx", 31)) {
		verifiedFromMemory(t, f, l, raw)
	}
}

// TestLocalSeesEveryChange: a key a Local has answered for is answered anew after a change
// here (revoke) and after one the change feed reports (another process's).
func TestLocalSeesEveryChange(t *testing.T) {
	f := newFixture(t)
	l := f.svc.Local()
	c := f.create(t, "k", "never")
	f.verify(t, c.Key)
	if r, ok := l.VerifyCached(c.Key, f.clock.Now()); !ok || !r.Valid {
		t.Fatalf("cached key: %+v %v", r, ok)
	}
	if _, err := f.svc.Revoke(ctx, f.org, c.ID, ""); err != nil {
		t.Fatal(err)
	}
	if r, ok := l.VerifyCached(c.Key, f.clock.Now()); ok && r.Code != keys.CodeRevoked {
		t.Fatalf("after revoke the Local answered %s", r.Code)
	}

	// Another process revokes a key: the feed (polling the database) drops the caches.
	d := f.create(t, "d", "never")
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.svc.Run(runCtx)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		f.verify(t, d.Key) // (again, should the feed's start have dropped the cache meanwhile)
		if r, ok := l.VerifyCached(d.Key, f.clock.Now()); ok && r.Valid {
			break
		} else if ok || time.Now().After(deadline) {
			t.Fatalf("cached key: %+v %v", r, ok)
		}
	}
	st2, err := f.st.OpenAgain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if _, err := keys.New(st2).Revoke(ctx, "", d.ID, ""); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r, ok := l.VerifyCached(d.Key, f.clock.Now())
		if !ok || r.Code == keys.CodeRevoked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Local still answered VALID 10 s after another process revoked the key")
		}
	}
}

// TestLocalCountsHitsAndUses: a Local's cache hits are counted in CacheStats and
// its RecordUse counts are written by FlushUsage with the service's own.
func TestLocalCountsHitsAndUses(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "k", "never")
	f.verify(t, c.Key)
	a, b := f.svc.Local(), f.svc.Local()
	hits0, _ := f.svc.CacheStats()
	for range 1000 {
		if r, ok := a.VerifyCached(c.Key, f.clock.Now()); !ok || !r.Valid {
			t.Fatalf("%+v %v", r, ok)
		}
	}
	if hits, _ := f.svc.CacheStats(); hits-hits0 != 1000 {
		t.Fatalf("1,000 hits on a Local counted %d", hits-hits0)
	}
	at := testutil.Epoch.Add(time.Minute)
	a.RecordUse(c.ID, at)
	b.RecordUse(c.ID, at.Add(time.Second))
	f.svc.RecordUse(c.ID, at)
	if err := f.svc.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	k, err := f.svc.Get(ctx, f.org, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k.UsageCount != 3 || k.LastUsedAt == nil || !k.LastUsedAt.Equal(at.Add(time.Second)) {
		t.Fatalf("after flush: count %d, last used %v", k.UsageCount, k.LastUsedAt)
	}
}
