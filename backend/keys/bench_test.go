package keys

import (
	"context"
	"testing"

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
