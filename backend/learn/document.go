package learn

import (
	"context"
	"errors"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
)

// ErrNothingLearned means no exchange of the route has been learned from (yet).
var ErrNothingLearned = errors.New("nothing learned for this route yet")

// Document infers the learned document of route r from the store. serverURL is the
// document's server; "" means the route's upstream, which makes a document that describes the
// upstream and can be adopted as the route's own.
func Document(ctx context.Context, st *store.Store, r routes.Route, serverURL string) (*openapi3.T, Inference, error) {
	ops, err := Operations(ctx, st, r.ID)
	if err != nil {
		return nil, Inference{}, err
	}
	if serverURL == "" {
		serverURL = r.Upstream
	}
	doc, inf, err := Infer(ops, DocOptions{Prefix: r.Prefix, ServerURL: serverURL})
	if err != nil {
		return nil, inf, fmt.Errorf("infer route %s: %w", r.Prefix, err)
	}
	if inf.Operations == 0 {
		return nil, inf, fmt.Errorf("route %s: %w", r.Prefix, ErrNothingLearned)
	}
	return doc, inf, nil
}
