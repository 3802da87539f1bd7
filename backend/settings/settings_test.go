package settings_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/keygate/keygate/backend/settings"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
)

func TestGetAndSet(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	s := settings.New(st)
	got, err := s.Get(ctx, settings.DesktopTheme, settings.DesktopLanguage)
	if err != nil || len(got) != 0 {
		t.Fatalf("fresh store: %v %v", got, err)
	}
	if err := s.Set(ctx, map[string]string{settings.DesktopTheme: "dark", settings.DesktopLanguage: ""}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, settings.DesktopTheme, settings.DesktopLanguage, settings.GatewayUpstreamTimeout)
	if err != nil || len(got) != 2 || got[settings.DesktopTheme] != "dark" || got[settings.DesktopLanguage] != "" {
		t.Fatalf("after set: %v %v", got, err)
	}
	// Writing the same values again is no change for the processes watching the store.
	before, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, map[string]string{settings.DesktopTheme: "dark"}); err != nil {
		t.Fatal(err)
	}
	if after, _ := st.Revision(ctx); after != before {
		t.Fatalf("an unchanged value moved the revision from %d to %d", before, after)
	}
	if err := s.Set(ctx, map[string]string{settings.DesktopTheme: "light"}); err != nil {
		t.Fatal(err)
	}
	if after, _ := st.Revision(ctx); after == before {
		t.Fatal("a changed setting did not move the revision")
	}
}

// TestSetPublishesChanges: a stored change reaches this process's subscribers before Set
// returns (the gateway applies it at once, not at the next poll); an unchanged value does not.
func TestSetPublishesChanges(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	s := settings.New(st)
	var mu sync.Mutex
	var got []string
	defer st.Changes().Subscribe(func(c store.Change) {
		mu.Lock()
		defer mu.Unlock()
		if c.Table != "" {
			got = append(got, c.Table)
		}
	})()
	seen := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }
	if err := s.Set(ctx, map[string]string{settings.DesktopTheme: "dark"}); err != nil {
		t.Fatal(err)
	}
	if g := seen(); !slices.Equal(g, []string{"settings"}) {
		t.Fatalf("after a change: %v, want [settings]", g)
	}
	if err := s.Set(ctx, map[string]string{settings.DesktopTheme: "dark"}); err != nil {
		t.Fatal(err)
	}
	if g := seen(); len(g) != 1 {
		t.Fatalf("an unchanged value was announced: %v", g)
	}
}
