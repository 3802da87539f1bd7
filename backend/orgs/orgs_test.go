package orgs_test

import (
	"context"
	"testing"

	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/testutil"
)

// TestInstanceIsStored: the instance organization is decided once and stored; organizations
// created later — even with an older creation time, as a restored or back-dated one may have —
// never take its place, and every list starts with it.
func TestInstanceIsStored(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	s := orgs.New(st, testutil.NewClock())
	inst, err := s.Instance(ctx)
	if err != nil || inst.Name != orgs.DefaultName {
		t.Fatalf("first Instance: %+v %v", inst, err)
	}
	tenant, err := s.Create(ctx, "Tenant")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write.Exec(`UPDATE orgs SET created_at = 0 WHERE id = ?`, tenant.ID); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*orgs.Service{s, orgs.New(st, nil)} { // also a fresh service, as another process
		got, err := s.Instance(ctx)
		if err != nil || got.ID != inst.ID {
			t.Fatalf("Instance after a back-dated tenant: %+v %v, want %s", got, err, inst.ID)
		}
		all, err := s.List(ctx)
		if err != nil || len(all) != 2 || all[0].ID != inst.ID || all[1].ID != tenant.ID {
			t.Fatalf("List: %+v %v", all, err)
		}
		if d, _ := s.EnsureDefault(ctx); d.ID != inst.ID {
			t.Fatalf("EnsureDefault: %+v", d)
		}
	}
}

// TestInstanceOfAnOlderDatabase: a database from before the instance organization was stored
// gets its oldest organization stored once.
func TestInstanceOfAnOlderDatabase(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	for i, id := range []string{"org_b", "org_a"} {
		if _, err := st.Write.Exec(`INSERT INTO orgs (id, name, key_prefix, created_at) VALUES (?, ?, 'kg', ?)`, id, id, 1000+i*0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := orgs.New(st, nil).Instance(ctx)
	if err != nil || got.ID != "org_b" {
		t.Fatalf("Instance of an older database: %+v %v, want org_b (same time, inserted first)", got, err)
	}
}
