// Package testutil holds helpers shared by Keygate's tests: fresh stores in temporary
// directories, fixtures and a fake clock.
package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/store"
)

// Epoch is the fake clock's default starting instant.
var Epoch = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// NewStore opens a fresh store in t.TempDir() and closes it when the test ends.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// NewClock returns a fake clock at Epoch.
func NewClock() *clock.Fake { return clock.NewFake(Epoch) }

// DefaultOrg creates (or finds) the Default organization in st.
func DefaultOrg(t testing.TB, st *store.Store) orgs.Org {
	t.Helper()
	o, err := orgs.New(st, nil).EnsureDefault(context.Background())
	if err != nil {
		t.Fatalf("default org: %v", err)
	}
	return o
}
