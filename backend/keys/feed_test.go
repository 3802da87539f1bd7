package keys_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// node is one gateway process's view of a shared PostgreSQL database: its own store (pools and
// change feed) and its own verification cache.
type node struct {
	st  *store.Store
	svc *keys.Service
}

func startNodes(t testing.TB, url string, n int) []node {
	t.Helper()
	var nodes []node
	for range n {
		st, err := store.OpenPostgres(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		svc := keys.New(st)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { svc.Run(runCtx); close(done) }()
		t.Cleanup(func() { cancel(); <-done; st.Close() })
		nodes = append(nodes, node{st, svc})
	}
	for _, nd := range nodes { // each feed is listening before the test acts
		waitFor(t, 5*time.Second, "the change feed to listen", nd.st.Changes().Listening)
	}
	return nodes
}

func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

func (nd node) code(t testing.TB, raw string) keys.Code {
	r, err := nd.svc.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return r.Code
}

// TestRevocationReachesEveryNode: a key revoked on node A is refused on nodes B and C within one
// second (in practice milliseconds: PostgreSQL NOTIFY, no polling), though B and C had it cached
// as valid.
func TestRevocationReachesEveryNode(t *testing.T) {
	nodes := startNodes(t, pgtest.URL(t), 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	org := testutil.DefaultOrg(t, a.st).ID
	for i := range 5 {
		k, err := a.svc.Create(ctx, keys.CreateParams{OrgID: org, Name: "k", CreatedBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, nd := range nodes {
			if got := nd.code(t, k.Key); got != keys.CodeValid {
				t.Fatalf("new key on another node: %s", got)
			}
			// Now cached: the notification of the key's own creation may still be on its way
			// and drop the first entry, so verify until the cache answers.
			before, _ := nd.svc.CacheStats()
			waitFor(t, time.Second, "the key to be cached", func() bool {
				nd.code(t, k.Key)
				hits, _ := nd.svc.CacheStats()
				return hits > before
			})
		}
		if _, err := a.svc.Revoke(ctx, org, k.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if got := a.code(t, k.Key); got != keys.CodeRevoked {
			t.Fatalf("node A after its own revoke: %s", got)
		}
		for name, nd := range map[string]node{"B": b, "C": c} {
			took := waitFor(t, time.Second, "node "+name+" to refuse the revoked key", func() bool {
				return nd.code(t, k.Key) == keys.CodeRevoked
			})
			if i == 0 {
				t.Logf("node %s refused the key %v after the revoke returned", name, took)
			}
		}
	}
}

// TestLostFeedNeverKeepsRevokedKeyAlive: when a node's listening connection is cut, the node
// drops its cache and answers from the database until it listens again, so a revocation made
// while it could not hear is honoured; after the reconnection it caches again.
func TestLostFeedNeverKeepsRevokedKeyAlive(t *testing.T) {
	url := pgtest.URL(t)
	nodes := startNodes(t, url, 2)
	a, b := nodes[0], nodes[1]
	org := testutil.DefaultOrg(t, a.st).ID
	k, err := a.svc.Create(ctx, keys.CreateParams{OrgID: org, Name: "k", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	b.code(t, k.Key)
	b.code(t, k.Key)

	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	lost := b.st.Changes().LostCount()
	// Cut every listener, then revoke as soon as B has noticed: B may not have reconnected yet.
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'keygate-feed'`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "node B to notice the lost feed", func() bool { return b.st.Changes().LostCount() > lost })
	if _, err := a.svc.Revoke(ctx, org, k.ID, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "node B to refuse the key revoked while its feed was down", func() bool {
		return b.code(t, k.Key) == keys.CodeRevoked
	})
	waitFor(t, 5*time.Second, "node B to listen again", b.st.Changes().Listening)
	k2, err := a.svc.Create(ctx, keys.CreateParams{OrgID: org, Name: "k2", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// (k2's own notification may still be on its way and empty B's cache once.)
	waitFor(t, time.Second, "node B to cache again after listening again", func() bool {
		hits, _ := b.svc.CacheStats()
		b.code(t, k2.Key)
		b.code(t, k2.Key)
		h, _ := b.svc.CacheStats()
		return h > hits
	})
}

// BenchmarkRevocationPropagation measures how long after Revoke returns on node A node B refuses
// the key (B had it cached): the figure in docs/performance.md. Run with -benchtime=200x.
func BenchmarkRevocationPropagation(b *testing.B) {
	nodes := startNodes(b, pgtest.URL(b), 2)
	na, nb := nodes[0], nodes[1]
	org := testutil.DefaultOrg(b, na.st).ID
	var took []time.Duration
	for b.Loop() {
		b.StopTimer()
		k, err := na.svc.Create(ctx, keys.CreateParams{OrgID: org, Name: "k", CreatedBy: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		nb.code(b, k.Key)
		b.StartTimer()
		if _, err := na.svc.Revoke(ctx, org, k.ID, "bench"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		waitFor(b, time.Second, "node B to refuse", func() bool { return nb.code(b, k.Key) == keys.CodeRevoked })
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	pct := func(p float64) float64 { return float64(took[int(float64(len(took)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}
