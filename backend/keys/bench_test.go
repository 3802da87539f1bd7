package keys

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/store"
)

func benchService(b *testing.B) (*Service, string) {
	st, err := store.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	o, err := orgs.New(st, nil).EnsureDefault(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	svc := New(st)
	c, err := svc.Create(context.Background(), CreateParams{OrgID: o.ID, Name: "bench", CreatedBy: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return svc, c.Key
}

// BenchmarkVerifyCacheHit is the gateway's hot path: checksum, hash, cache lookup.
func BenchmarkVerifyCacheHit(b *testing.B) {
	svc, key := benchService(b)
	ctx := context.Background()
	svc.Verify(ctx, key)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r, _ := svc.Verify(ctx, key); !r.Valid {
				b.Fatal("invalid")
			}
		}
	})
}

// BenchmarkVerifyCacheMiss measures a lookup in SQLite (the cache is emptied each time).
func BenchmarkVerifyCacheMiss(b *testing.B) {
	svc, key := benchService(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		svc.cache.invalidate()
		if r, _ := svc.Verify(ctx, key); !r.Valid {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkVerifyCacheHitV2 is BenchmarkVerifyCacheHit for a key with scopes, metadata, an IP
// allowlist and a quota, plus what the gateway then checks: the allowlist, a scope, the quota.
func BenchmarkVerifyCacheHitV2(b *testing.B) {
	svc, _ := benchService(b)
	ctx := context.Background()
	var org string
	svc.st.Read.QueryRow(`SELECT id FROM orgs LIMIT 1`).Scan(&org)
	q := int64(MaxQuota)
	c, err := svc.Create(ctx, CreateParams{OrgID: org, Name: "v2", CreatedBy: "bench",
		Scopes: []string{"orders:read", "invoices:*"}, Metadata: map[string]string{"plan": "pro"},
		AllowIPs: []string{"10.0.0.0/8", "127.0.0.0/8", "::1"}, Quota: &q})
	if err != nil {
		b.Fatal(err)
	}
	client := netip.MustParseAddr("127.0.0.1")
	svc.Verify(ctx, c.Key)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := svc.Verify(ctx, c.Key)
			if !r.Valid || !r.Key.AllowsIP(client) || !ScopesAllow(r.Key.Scopes, "invoices:read") {
				b.Fatal("refused")
			}
			if t, err := svc.TakeQuota(ctx, r.Key, time.Now()); err != nil || !t.Allowed {
				b.Fatal("quota")
			}
		}
	})
}

// BenchmarkVerifyMalformed is a flood of strings that are not Keygate keys while no imported
// key exists: refused by the format check and one atomic load, with no lookup.
func BenchmarkVerifyMalformed(b *testing.B) {
	svc, _ := benchService(b)
	ctx := context.Background()
	const junk = "ba_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
	svc.Verify(ctx, junk)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r, _ := svc.Verify(ctx, junk); r.Code != CodeMalformed {
				b.Fatal(r.Code)
			}
		}
	})
}

// BenchmarkVerifyCached is an event loop's check of a cached key through the shared cache (its
// lock and hit count are written by every core); BenchmarkVerifyCachedLocal is the same through
// a Local per goroutine, as each loop has. Compare them at -cpu 2 or more.
func BenchmarkVerifyCached(b *testing.B) {
	svc, key := benchService(b)
	svc.Verify(context.Background(), key)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		now := time.Now()
		for pb.Next() {
			if r, ok := svc.VerifyCached(key, now); !ok || !r.Valid {
				b.Fatal("invalid")
			}
		}
	})
}

func BenchmarkVerifyCachedLocal(b *testing.B) {
	svc, key := benchService(b)
	svc.Verify(context.Background(), key)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		l, now := svc.Local(), time.Now()
		for pb.Next() {
			if r, ok := l.VerifyCached(key, now); !ok || !r.Valid {
				b.Fatal("invalid")
			}
		}
	})
}

// BenchmarkVerifyCachedUnknown is an event loop's check of a well-formed key no one has, cached
// as unknown: the 401 a scanner or a revoked client gets on every request.
func BenchmarkVerifyCachedUnknown(b *testing.B) {
	svc, _ := benchService(b)
	unknown, err := Generate("kg")
	if err != nil {
		b.Fatal(err)
	}
	if r, _ := svc.Verify(context.Background(), unknown.Raw); r.Code != CodeNotFound {
		b.Fatal(r.Code)
	}
	l, now := svc.Local(), time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if r, ok := l.VerifyCached(unknown.Raw, now); !ok || r.Code != CodeNotFound {
			b.Fatal("not answered NOT_FOUND from memory")
		}
	}
}
