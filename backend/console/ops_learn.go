package console

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/learn"
	"github.com/keygate/keygate/backend/openapi"
	"github.com/keygate/keygate/backend/routes"
)

// errNoDataDir means the store has no data directory to keep an adopted document in
// (PostgreSQL): export the document and set it as the route's OpenAPI source instead.
var errNoDataDir = errors.New("no data directory for adopted documents")

// LearnedDocument is the OpenAPI document learned from a route's traffic, and what it has
// that the route's current document lacks.
type LearnedDocument struct {
	RouteID string `json:"routeId"`
	Prefix  string `json:"prefix"`
	// Learn says whether the route is learning now.
	Learn bool `json:"learn"`
	// Document is the learned OpenAPI 3.0.3 document as JSON text ("" when nothing was
	// learned yet); its server is the route's upstream, so it can be adopted or exported as is.
	Document   string   `json:"document"`
	Operations int      `json:"operations"`
	Exchanges  int      `json:"exchanges"`
	Unanswered []string `json:"unanswered"`
	// CurrentSource is the route's OpenAPI source ("" when it has none); CurrentError says why
	// it could not be read (everything learned then counts as new).
	CurrentSource string `json:"currentSource"`
	CurrentError  string `json:"currentError"`
	// NewOperations and NewFields are what the learned document has beyond the current one.
	NewOperations []learn.OperationRef `json:"newOperations"`
	NewFields     []learn.FieldRef     `json:"newFields"`
}

func (s *Service) getLearnedDocument(ctx context.Context, _ *Call, in *RouteIDInput) (LearnedDocument, error) {
	r, err := s.Routes.Get(ctx, in.ID)
	if err != nil {
		return LearnedDocument{}, err
	}
	out := LearnedDocument{RouteID: r.ID, Prefix: r.Prefix, Learn: r.Learn, Unanswered: []string{},
		CurrentSource: r.OpenAPISource, NewOperations: []learn.OperationRef{}, NewFields: []learn.FieldRef{}}
	doc, inf, err := learn.Document(ctx, s.Store, r, "")
	out.Operations, out.Exchanges = inf.Operations, inf.Exchanges
	if inf.Unanswered != nil {
		out.Unanswered = inf.Unanswered
	}
	switch {
	case errors.Is(err, learn.ErrNothingLearned):
		return out, nil
	case err != nil:
		return LearnedDocument{}, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return LearnedDocument{}, fmt.Errorf("encode learned document: %w", err)
	}
	out.Document = string(b)
	var current *openapi.Upstream
	if r.OpenAPISource != "" {
		if current, err = openapi.LoadUpstream(ctx, r.OpenAPISource, openapi.LoadOptions{}); err != nil {
			out.CurrentError = err.Error()
		}
	}
	var ch learn.Changes
	if current != nil {
		ch = learn.Diff(doc, current.Doc)
	} else {
		ch = learn.Diff(doc, nil)
	}
	out.NewOperations, out.NewFields = ch.Operations, ch.Fields
	return out, nil
}

// adoptLearnedDocument writes the learned document into the data directory (openapi/,
// 0700, the file 0600) and makes it the route's OpenAPI source, so that the gateway's
// document, the docs and request validation use it.
func (s *Service) adoptLearnedDocument(ctx context.Context, c *Call, in *RouteIDInput) (routes.Route, error) {
	r, err := s.Routes.Get(ctx, in.ID)
	if err != nil {
		return routes.Route{}, err
	}
	doc, _, err := learn.Document(ctx, s.Store, r, "")
	if err != nil {
		return routes.Route{}, err
	}
	if s.Store.Path == "" {
		return routes.Route{}, errNoDataDir
	}
	b, err := openapi.Encode(doc, openapi.JSON)
	if err != nil {
		return routes.Route{}, err
	}
	dir := filepath.Join(filepath.Dir(s.Store.Path), "openapi")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return routes.Route{}, fmt.Errorf("adopt learned document: %w", err)
	}
	name := filepath.Join(dir, r.ID+".learned.json")
	tmp, err := os.CreateTemp(dir, ".learned-*")
	if err != nil {
		return routes.Route{}, fmt.Errorf("adopt learned document: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return routes.Route{}, fmt.Errorf("adopt learned document: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return routes.Route{}, fmt.Errorf("adopt learned document: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return routes.Route{}, fmt.Errorf("adopt learned document: %w", err)
	}
	auth := r.AuthRequired
	updated, err := s.Routes.Recording(func(ctx context.Context, tx *sql.Tx, _ routes.Route) error {
		return s.recordTx(ctx, tx, c, r.OrgID, audit.RouteUpdate, r.ID, r.Prefix+": learned OpenAPI document adopted")
	}).Update(ctx, r.ID, routes.Params{Prefix: r.Prefix, Upstream: r.Upstream, StripPrefix: r.StripPrefix,
		OrgID: r.OrgID, OpenAPISource: name, AuthRequired: &auth, QueryKeyParam: r.QueryKeyParam, MaxBodyBytes: r.MaxBodyBytes,
		ValidateRequests: r.ValidateRequests, ConsoleSession: r.ConsoleSession, Learn: r.Learn})
	if err != nil {
		return routes.Route{}, err
	}
	s.Audit.Committed(ctx)
	return updated, nil
}
