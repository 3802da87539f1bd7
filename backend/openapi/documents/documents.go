// Package documents produces Keygate's two OpenAPI documents from the live sources — the
// console's operation table and the gateway's routes in the store — for the CLI, the console's
// /openapi/ endpoints and the desktop app. It sits apart from package openapi so that openapi
// stays free of the console and routes packages.
package documents

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/openapi"
	"github.com/keygate/keygate/backend/routes"
)

// The two documents.
const (
	Console = "console"
	Gateway = "gateway"
)

// ErrUnknownAPI is returned for an api other than console or gateway.
var ErrUnknownAPI = errors.New("unknown api")

// RouteLister is what the gateway document needs of the route store.
type RouteLister interface {
	List(ctx context.Context) ([]routes.Route, error)
}

var _ RouteLister = (*routes.Service)(nil)

// Source builds the documents.
type Source struct {
	// Routes lists the gateway's routes; nil gives a gateway document without routes.
	Routes RouteLister
	// GatewayURL and ConsoleURL are where callers reach the gateway and the console; a
	// function lets the desktop app report the gateway's current address.
	GatewayURL func() string
	ConsoleURL func() string
	Version    string
	Load       openapi.LoadOptions

	// cache holds the upstream documents loaded for the current set of routes; any change of
	// a route (added, removed, edited: its id or updated time) drops it, so documents are
	// loaded once per route change, not once per request.
	mu       sync.Mutex
	cacheFor string
	cache    map[string]*cachedUpstream
}

type cachedUpstream struct {
	once sync.Once
	up   *openapi.Upstream
	err  error
}

// loader returns the Loader for a document built from rs: cached while rs is unchanged.
func (s *Source) loader(rs []routes.Route) func(context.Context, string) (*openapi.Upstream, error) {
	var key strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&key, "%s %d %s\n", r.ID, r.UpdatedAt.UnixNano(), r.OpenAPISource)
	}
	s.mu.Lock()
	if s.cacheFor != key.String() || s.cache == nil {
		s.cacheFor, s.cache = key.String(), map[string]*cachedUpstream{}
	}
	cache := s.cache
	s.mu.Unlock()
	return func(ctx context.Context, source string) (*openapi.Upstream, error) {
		s.mu.Lock()
		c := cache[source]
		if c == nil {
			c = &cachedUpstream{}
			cache[source] = c
		}
		s.mu.Unlock()
		// Loaded without the request's context: a caller that goes away must not leave a
		// cancelled load in the cache.
		c.once.Do(func() { c.up, c.err = openapi.LoadUpstream(context.WithoutCancel(ctx), source, s.Load) })
		return c.up, c.err
	}
}

func call(f func() string) string {
	if f == nil {
		return ""
	}
	return f()
}

// Console builds the console document with Keygate's own texts in lang ("" is English).
func (s *Source) Console(ctx context.Context, lang string) (*openapi3.T, error) {
	return openapi.Console(ctx, ConsoleOperations(), openapi.ConsoleOptions{
		ServerURL:       call(s.ConsoleURL),
		Version:         s.Version,
		TagDescriptions: tagDescriptions,
		Lang:            lang,
	})
}

// Gateway builds the gateway document with Keygate's own texts in lang ("" is English; the
// upstream documents keep their own text); issues say what could not be used and why.
func (s *Source) Gateway(ctx context.Context, lang string) (*openapi3.T, []openapi.Issue, error) {
	var rs []routes.Route
	if s.Routes != nil {
		var err error
		if rs, err = s.Routes.List(ctx); err != nil {
			return nil, nil, fmt.Errorf("list routes: %w", err)
		}
	}
	in := make([]openapi.Route, 0, len(rs))
	for _, r := range rs {
		if console.RouteVisible(ctx, r) {
			in = append(in, Route(r))
		}
	}
	gw := call(s.GatewayURL)
	if gw == "" {
		gw = "http://127.0.0.1:8787"
	}
	return openapi.Gateway(ctx, in, openapi.GatewayOptions{
		ServerURL: gw, ConsoleURL: call(s.ConsoleURL), Version: s.Version, Load: s.Load,
		Loader: s.loader(rs), Lang: lang,
	})
}

// Generate builds one document ("console" or "gateway") with Keygate's own texts in lang (""
// is English) and encodes it.
func (s *Source) Generate(ctx context.Context, api string, format openapi.Format, lang string) ([]byte, []openapi.Issue, error) {
	var (
		doc    *openapi3.T
		issues []openapi.Issue
		err    error
	)
	switch api {
	case Console:
		doc, err = s.Console(ctx, lang)
	case Gateway:
		doc, issues, err = s.Gateway(ctx, lang)
	default:
		return nil, nil, fmt.Errorf("%w %q: use console or gateway", ErrUnknownAPI, api)
	}
	if err != nil {
		return nil, issues, err
	}
	b, err := openapi.Encode(doc, format)
	return b, issues, err
}

// ServeHTTP answers GET /openapi/{console,gateway}.{json,yaml}[?lang=TAG]. Keygate's own texts
// are English unless ?lang= names a console language (the docs viewer asks in its own); a
// language Keygate does not ship is 400, so a typo is not silently English. It does not check
// who asks: the console decides who may reach it.
func (s *Source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/openapi/")
	api, ext, ok := strings.Cut(name, ".")
	format, ferr := openapi.ParseFormat(ext)
	if !ok || ferr != nil || (api != Console && api != Gateway) {
		http.NotFound(w, r)
		return
	}
	lang := "en"
	if q := r.URL.Query()["lang"]; len(q) > 0 {
		if len(q) > 1 || !i18n.Supported(q[0]) {
			http.Error(w, "unknown lang: use one of "+languageList(), http.StatusBadRequest)
			return
		}
		lang = q[0]
	}
	b, issues, err := s.Generate(r.Context(), api, format, lang)
	if err != nil {
		// The error can name files and quote documents: it goes to no one but the log.
		http.Error(w, "could not build the "+api+" document", http.StatusInternalServerError)
		return
	}
	if format == openapi.JSON {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Language", lang)
	w.Header().Set("X-Keygate-OpenAPI-Issues", fmt.Sprint(len(issues)))
	_, _ = w.Write(b)
}

func languageList() string {
	var tags []string
	for _, l := range i18n.Languages() {
		tags = append(tags, l.Tag)
	}
	return strings.Join(tags, ", ")
}

// Route describes a stored route for the gateway document.
func Route(r routes.Route) openapi.Route {
	return openapi.Route{
		ID: r.ID, Prefix: r.Prefix, Upstream: r.Upstream, StripPrefix: r.StripPrefix,
		OpenAPISource: r.OpenAPISource, AuthRequired: r.AuthRequired, OrgBound: r.OrgID != "",
		MaxBodyBytes: r.MaxBodyBytes, ValidateRequests: r.ValidateRequests,
		Scopes: r.Scopes, DocumentScopes: documentScopes(r.DocumentScopes), IdentityJWT: r.IdentityJWT,
	}
}

func documentScopes(d *routes.DocumentScopes) *openapi.DocumentScopes {
	if d == nil {
		return nil
	}
	out := &openapi.DocumentScopes{Default: d.Default}
	for _, o := range d.Operations {
		out.Operations = append(out.Operations, openapi.OperationScopes{Method: o.Method, Path: o.Path, Scopes: o.Scopes})
	}
	return out
}

// ConsoleOperations describes the console's operation table for the console document.
func ConsoleOperations() []openapi.Operation {
	var out []openapi.Operation
	for _, o := range console.Operations() {
		if o.Mode == console.ModeCLI {
			continue // no HTTP route
		}
		out = append(out, openapi.Operation{
			Name: o.Name, Method: o.Method, Path: o.Path, Summary: o.Summary, Tag: o.Tag,
			In: o.In, Out: o.Out, Status: o.Status, Access: string(o.Need), Mode: string(o.Mode),
			Errors: o.Errors, Produces: o.Produces,
		})
	}
	return out
}

// tagDescriptions describe, in English, tags that have no openapi.console.tag.<tag> message in
// the catalogs yet (those are described in every language).
var tagDescriptions = map[string]string{}

// ReadScopes reads the x-keygate-scopes of a route's OpenAPI document for backend/routes, which
// stores them with the route (routes.Service.ReadScopesWith): the gateway enforces what was
// read when the route was saved, on every node alike, and never reads documents on its own.
func ReadScopes(ctx context.Context, r routes.Route) (*routes.DocumentScopes, error) {
	up, err := openapi.LoadUpstream(ctx, r.OpenAPISource, openapi.LoadOptions{})
	if err != nil {
		return nil, err
	}
	def, ops, err := openapi.DeclaredScopes(Route(r), up)
	if err != nil {
		return nil, routes.DocumentScopesError(r.OpenAPISource, err.Error())
	}
	if len(def) == 0 && len(ops) == 0 {
		return nil, nil
	}
	out := &routes.DocumentScopes{Default: def, Operations: make([]routes.OperationScopes, len(ops))}
	for i, o := range ops {
		out.Operations[i] = routes.OperationScopes{Method: o.Method, Path: o.Path, Scopes: o.Scopes}
	}
	return out, nil
}

var _ routes.ScopeReader = ReadScopes

// RequestValidators loads a route's upstream document for the gateway's optional request
// validation (routes with ValidateRequests); serve and the desktop app both hand it to the
// gateway.
type RequestValidators struct{}

var _ gateway.RequestValidators = RequestValidators{}

// RequestValidator returns middleware that refuses requests the route's document rejects.
func (RequestValidators) RequestValidator(ctx context.Context, r routes.Route) (func(http.Handler) http.Handler, error) {
	v, err := openapi.LoadRequestValidator(ctx, Route(r), openapi.LoadOptions{})
	if err != nil {
		return nil, err
	}
	return v.Middleware, nil
}
