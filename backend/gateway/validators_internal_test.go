package gateway

import (
	"context"
	"net/http"
	"testing"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
)

type passValidators struct{}

func (passValidators) RequestValidator(context.Context, routes.Route) (func(http.Handler) http.Handler, error) {
	return func(next http.Handler) http.Handler { return next }, nil
}

// TestValidatorsOfRemovedRoutesAreDropped: a route's validator holds its whole upstream
// document; removing the route must let it go.
func TestValidatorsOfRemovedRoutesAreDropped(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rs := routes.New(st, nil)
	g, err := New(ctx, Config{Store: st, Keys: keys.New(st), Routes: rs, Validators: passValidators{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/a", "/b", "/c"} {
		r, err := rs.Add(ctx, routes.Params{Prefix: p, Upstream: "http://127.0.0.1:9", ValidateRequests: true, OpenAPISource: "doc.json"})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if err := rs.Remove(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(g.validators); n != 0 {
		t.Fatalf("%d validators kept for removed routes", n)
	}
}
