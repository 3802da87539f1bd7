// Package testutil holds helpers shared by Keygate's tests: fresh stores in temporary
// directories, fixtures and a fake clock.
package testutil

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// EnvStore selects the engine of NewStore: "postgres" runs a package's store-backed tests
// against a throwaway PostgreSQL (the package's TestMain must call pgtest.Main); anything else,
// SQLite in t.TempDir().
const EnvStore = "KEYGATE_TEST_STORE"

// Postgres reports whether NewStore opens PostgreSQL stores in this run.
func Postgres() bool { return os.Getenv(EnvStore) == string(store.Postgres) }

// Epoch is the fake clock's default starting instant.
var Epoch = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// NewStore opens a fresh store (SQLite in t.TempDir(), or a new PostgreSQL database when
// KEYGATE_TEST_STORE=postgres) and closes it when the test ends.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	if Postgres() {
		return NewStoreOf(t, store.Postgres)
	}
	return NewStoreOf(t, store.SQLite)
}

// NewStoreOf opens a fresh store of dialect d, whatever KEYGATE_TEST_STORE says.
func NewStoreOf(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	url := ""
	if d == store.Postgres {
		url = pgtest.URL(t)
	}
	st, err := store.OpenURL(context.Background(), t.TempDir(), url)
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
