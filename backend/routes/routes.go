// Package routes holds the gateway's routes (path prefix → upstream base URL) and its
// gateway-wide settings, both kept in the store so that the CLI, the console and a running
// gateway share them; a running gateway notices changes through the store's revision.
package routes

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/store"
)

// MaxPrefixLen bounds a route prefix.
const MaxPrefixLen = 256

var (
	// ErrNotFound means no route has that id or prefix.
	ErrNotFound = errors.New("route not found")
	// ErrDuplicatePrefix means another route already has that prefix.
	ErrDuplicatePrefix = errors.New("a route with that prefix already exists")
	// ErrInvalidPrefix means the prefix is not a clean absolute path.
	ErrInvalidPrefix error = &problem.Invalid{Field: "prefix", Code: "invalid", Msg: "validation.route.prefix.invalid",
		Text: "route prefix must be an absolute path such as /api: " +
			"letters, digits and -._~!$&'()*+,;=:@ between slashes, no . or .. segments, no empty segments, at most 256 characters"}
	// ErrInvalidUpstream means the upstream is not an http(s) URL with a host and without
	// credentials, query or fragment.
	ErrInvalidUpstream error = &problem.Invalid{Field: "upstream", Code: "invalid", Msg: "validation.route.upstream.invalid",
		Text: "upstream must be an http:// or https:// URL with a host, and without user info, query or fragment"}
	// ErrInvalidQueryParam means the query parameter name for keys is not a plain token.
	ErrInvalidQueryParam error = &problem.Invalid{Field: "queryKeyParam", Code: "invalid", Msg: "validation.route.query_param.invalid",
		Text: "query key parameter must be 1 to 64 letters, digits, '-' or '_'"}
	// ErrInvalidBodyLimit means a negative body limit.
	ErrInvalidBodyLimit error = &problem.Invalid{Field: "maxBodyBytes", Code: "range", Msg: "validation.route.body_limit.invalid",
		Text: "body limit must be 0 (none) or a positive number of bytes"}
	// ErrInvalidOpenAPISource means the OpenAPI source is too long or has control characters.
	ErrInvalidOpenAPISource error = &problem.Invalid{Field: "openapiSource", Code: "invalid", Msg: "validation.route.openapi_source.invalid",
		Text: "openapi source must be a file path or URL of at most 2048 characters"}
	// ErrUnknownOrg means the route is bound to an organization that does not exist.
	ErrUnknownOrg error = &problem.Invalid{Field: "orgId", Code: "unknown", Msg: "validation.route.org.unknown",
		Text: "organization not found"}
)

// Route sends requests whose path is under Prefix to Upstream.
type Route struct {
	ID       string `json:"id"`
	Prefix   string `json:"prefix"`
	Upstream string `json:"upstream"`
	// StripPrefix removes Prefix from the path before forwarding (/api/x → /x).
	StripPrefix bool `json:"stripPrefix"`
	// OrgID binds the route to one organization; "" admits keys of any organization.
	OrgID         string `json:"orgId"`
	OpenAPISource string `json:"openapiSource"`
	// AuthRequired is true unless the route is deliberately public.
	AuthRequired bool `json:"authRequired"`
	// QueryKeyParam names a query parameter that may carry the key; "" refuses keys in the query.
	QueryKeyParam string `json:"queryKeyParam"`
	// MaxBodyBytes limits request bodies; 0 means no limit.
	MaxBodyBytes     int64 `json:"maxBodyBytes"`
	ValidateRequests bool  `json:"validateRequests"`
	// ConsoleSession lets pages served through the gateway itself (same origin) call the route
	// with the signed-in console session. Off by default: any upstream's page could otherwise
	// act as the signed-in user on every route. The console's docs viewer needs no opt-in.
	ConsoleSession bool `json:"consoleSession"`
	// Learn records the shape of the route's exchanges (never their values) to infer an
	// OpenAPI document from them (backend/learn).
	Learn bool `json:"learn"`
	// Scopes are needed by every request on the route (the key must hold each).
	Scopes []string `json:"scopes"`
	// DocumentScopes are what the route's OpenAPI document declared (x-keygate-scopes) when
	// the route was last saved; nil when it declared nothing.
	DocumentScopes *DocumentScopes `json:"documentScopes,omitempty"`
	// IdentityJWT sends the upstream a signed X-Keygate-Jwt with each request.
	IdentityJWT bool `json:"identityJwt"`
	// Warning, only in the answer to a save, says what the save could not do: the document
	// could not be read to find its scopes (WarningDocumentUnreadable, or
	// WarningDocumentUnreadableKept when the scopes read before from the same source are
	// kept); WarningDetail is the loader's reason.
	Warning       string    `json:"warning,omitempty" enum:"document_unreadable,document_unreadable_kept"`
	WarningDetail string    `json:"warningDetail,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Params are the editable fields of a route, for Add and Update. AuthRequired is a pointer so
// that leaving it out keeps the secure default (true).
type Params struct {
	Prefix           string `json:"prefix"`
	Upstream         string `json:"upstream"`
	StripPrefix      bool   `json:"stripPrefix"`
	OrgID            string `json:"orgId"`
	OpenAPISource    string `json:"openapiSource"`
	AuthRequired     *bool  `json:"authRequired"`
	QueryKeyParam    string `json:"queryKeyParam"`
	MaxBodyBytes     int64  `json:"maxBodyBytes"`
	ValidateRequests bool   `json:"validateRequests"`
	ConsoleSession   bool   `json:"consoleSession"`
	Learn            bool   `json:"learn"`
	// Scopes are required on every request of the route; nil means none.
	Scopes      []string `json:"scopes"`
	IdentityJWT bool     `json:"identityJwt"`
}

// Service reads and changes routes and settings.
type Service struct {
	st         *store.Store
	clock      clock.Clock
	readScopes ScopeReader
}

// New returns a Service over st; a nil clock means the real one.
func New(st *store.Store, c clock.Clock) *Service {
	if c == nil {
		c = clock.Real{}
	}
	return &Service{st: st, clock: c}
}

const columns = `id, prefix, upstream, strip_prefix, coalesce(org_id, ''), openapi_source, auth_required,
	query_key_param, max_body_bytes, validate_requests, console_session, learn, scopes, document_scopes, identity_jwt,
	created_at, updated_at`

// List returns every route, longest prefix first (the order in which they match).
func (s *Service) List(ctx context.Context) ([]Route, error) {
	rows, err := s.st.Read.QueryContext(ctx, `SELECT `+columns+` FROM routes ORDER BY length(prefix) DESC, prefix`)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	defer rows.Close()
	out := []Route{}
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list routes: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	return out, nil
}

// Get returns the route with that id.
func (s *Service) Get(ctx context.Context, id string) (Route, error) {
	return s.getWhere(ctx, "id = ?", id)
}

// GetByPrefix returns the route with that prefix (normalized first).
func (s *Service) GetByPrefix(ctx context.Context, prefix string) (Route, error) {
	p, err := NormalizePrefix(prefix)
	if err != nil {
		return Route{}, err
	}
	return s.getWhere(ctx, "prefix = ?", p)
}

func (s *Service) getWhere(ctx context.Context, where string, arg any) (Route, error) {
	r, err := scan(s.st.Read.QueryRowContext(ctx, `SELECT `+columns+` FROM routes WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return Route{}, ErrNotFound
	}
	if err != nil {
		return Route{}, fmt.Errorf("get route: %w", err)
	}
	return r, nil
}

// Add creates a route.
func (s *Service) Add(ctx context.Context, p Params) (Route, error) { return s.add(ctx, p, nil) }

func (s *Service) add(ctx context.Context, p Params, rec Recorder) (Route, error) {
	r, err := validate(p)
	if err != nil {
		return Route{}, err
	}
	id, err := ids.New("rt")
	if err != nil {
		return Route{}, fmt.Errorf("add route: %w", err)
	}
	docScopes, warning, err := s.documentScopes(ctx, r, nil)
	if err != nil {
		return Route{}, err
	}
	scopes, _ := json.Marshal(r.Scopes)
	now := s.clock.Now().UnixMilli()
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := checkRefs(ctx, tx, r, ""); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO routes (id, prefix, upstream, strip_prefix, org_id, openapi_source,
			auth_required, query_key_param, max_body_bytes, validate_requests, console_session, learn, scopes, document_scopes,
			identity_jwt, created_at, updated_at)
			VALUES (?, ?, ?, ?, nullif(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, r.Prefix, r.Upstream, r.StripPrefix, r.OrgID, r.OpenAPISource, r.AuthRequired,
			r.QueryKeyParam, r.MaxBodyBytes, r.ValidateRequests, r.ConsoleSession, r.Learn, string(scopes), docScopes,
			r.IdentityJWT, now, now)
		if err != nil || rec == nil {
			return err
		}
		added := r
		added.ID = id
		return rec(ctx, tx, added)
	})
	if err != nil {
		return Route{}, wrap("add route", err)
	}
	s.st.Changes().Publish("routes")
	out, err := s.Get(ctx, id)
	out.Warning, out.WarningDetail = warning.code, warning.detail
	return out, err
}

// Update replaces the editable fields of the route with that id.
func (s *Service) Update(ctx context.Context, id string, p Params) (Route, error) {
	return s.update(ctx, id, p, nil)
}

func (s *Service) update(ctx context.Context, id string, p Params, rec Recorder) (Route, error) {
	r, err := validate(p)
	if err != nil {
		return Route{}, err
	}
	prev, err := s.Get(ctx, id)
	if err != nil {
		return Route{}, err
	}
	r.ID = id
	docScopes, warning, err := s.documentScopes(ctx, r, &prev)
	if err != nil {
		return Route{}, err
	}
	scopes, _ := json.Marshal(r.Scopes)
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := checkRefs(ctx, tx, r, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE routes SET prefix = ?, upstream = ?, strip_prefix = ?, org_id = nullif(?, ''),
			openapi_source = ?, auth_required = ?, query_key_param = ?, max_body_bytes = ?, validate_requests = ?,
			console_session = ?, learn = ?, scopes = ?, document_scopes = ?, identity_jwt = ?, updated_at = ? WHERE id = ?`,
			r.Prefix, r.Upstream, r.StripPrefix, r.OrgID, r.OpenAPISource, r.AuthRequired, r.QueryKeyParam,
			r.MaxBodyBytes, r.ValidateRequests, r.ConsoleSession, r.Learn, string(scopes), docScopes, r.IdentityJWT,
			s.clock.Now().UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if rec == nil {
			return nil
		}
		return rec(ctx, tx, r)
	})
	if err != nil {
		return Route{}, wrap("update route", err)
	}
	s.st.Changes().Publish("routes")
	out, err := s.Get(ctx, id)
	out.Warning, out.WarningDetail = warning.code, warning.detail
	return out, err
}

// Remove deletes the route with that id.
func (s *Service) Remove(ctx context.Context, id string) error { return s.remove(ctx, id, nil) }

func (s *Service) remove(ctx context.Context, id string, rec Recorder) error {
	var prev Route
	if rec != nil {
		var err error
		if prev, err = s.Get(ctx, id); err != nil {
			return err
		}
	}
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM routes WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if rec == nil {
			return nil
		}
		return rec(ctx, tx, prev)
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("remove route %s: %w", id, err)
	}
	s.st.Changes().Publish("routes")
	return nil
}

// RemoveByPrefix deletes the route with that prefix.
func (s *Service) RemoveByPrefix(ctx context.Context, prefix string) error {
	r, err := s.GetByPrefix(ctx, prefix)
	if err != nil {
		return err
	}
	return s.Remove(ctx, r.ID)
}

// Put adds the route with p's prefix, or, when one exists, points it at p's upstream (and at
// p's OpenAPI source when p names one) and keeps everything else as configured: what `serve
// --upstream` and `serve --demo` run on every start, which must not undo an organization
// binding, a body limit or public access set since.
func (s *Service) Put(ctx context.Context, p Params) (Route, error) {
	cur, err := s.GetByPrefix(ctx, p.Prefix)
	switch {
	case errors.Is(err, ErrNotFound):
		return s.Add(ctx, p)
	case err != nil:
		return Route{}, err
	}
	src := cur.OpenAPISource
	if strings.TrimSpace(p.OpenAPISource) != "" {
		src = p.OpenAPISource
	}
	auth := cur.AuthRequired
	return s.Update(ctx, cur.ID, Params{Prefix: cur.Prefix, Upstream: p.Upstream, StripPrefix: cur.StripPrefix,
		OrgID: cur.OrgID, OpenAPISource: src, AuthRequired: &auth, QueryKeyParam: cur.QueryKeyParam,
		MaxBodyBytes: cur.MaxBodyBytes, ValidateRequests: cur.ValidateRequests, ConsoleSession: cur.ConsoleSession,
		Learn: cur.Learn, Scopes: cur.Scopes, IdentityJWT: cur.IdentityJWT})
}

func checkRefs(ctx context.Context, tx *sql.Tx, r Route, selfID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM routes WHERE prefix = ? AND id != ?`, r.Prefix, selfID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return ErrDuplicatePrefix
	}
	if r.OrgID != "" {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM orgs WHERE id = ?`, r.OrgID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrUnknownOrg
		}
	}
	return nil
}

func wrap(op string, err error) error {
	for _, s := range []error{ErrNotFound, ErrDuplicatePrefix, ErrUnknownOrg} {
		if errors.Is(err, s) {
			return s
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// validate checks and normalizes p into the stored form of a route.
func validate(p Params) (Route, error) {
	prefix, err := NormalizePrefix(p.Prefix)
	if err != nil {
		return Route{}, err
	}
	up, err := NormalizeUpstream(p.Upstream)
	if err != nil {
		return Route{}, err
	}
	if p.QueryKeyParam != "" && !validParam(p.QueryKeyParam) {
		return Route{}, ErrInvalidQueryParam
	}
	if p.MaxBodyBytes < 0 {
		return Route{}, ErrInvalidBodyLimit
	}
	src := strings.TrimSpace(p.OpenAPISource)
	if len(src) > 2048 || strings.ContainsFunc(src, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Route{}, ErrInvalidOpenAPISource
	}
	auth := true
	if p.AuthRequired != nil {
		auth = *p.AuthRequired
	}
	scopes, err := NormalizeScopes(p.Scopes)
	if err != nil {
		return Route{}, err
	}
	return Route{Prefix: prefix, Upstream: up, StripPrefix: p.StripPrefix, OrgID: strings.TrimSpace(p.OrgID),
		OpenAPISource: src, AuthRequired: auth, QueryKeyParam: p.QueryKeyParam, MaxBodyBytes: p.MaxBodyBytes,
		ValidateRequests: p.ValidateRequests, ConsoleSession: p.ConsoleSession, Learn: p.Learn, Scopes: scopes,
		IdentityJWT: p.IdentityJWT}, nil
}

// NormalizePrefix checks a route prefix and returns its stored form: a trailing slash is
// dropped ("/api/" → "/api"), "/" stays "/". Percent signs are refused so that a prefix has one
// spelling, and "." or ".." segments so that a prefix cannot be escaped by path tricks.
func NormalizePrefix(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "/" {
		return p, nil
	}
	if len(p) < 2 || len(p) > MaxPrefixLen || p[0] != '/' {
		return "", ErrInvalidPrefix
	}
	p = strings.TrimSuffix(p, "/")
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", ErrInvalidPrefix
		}
		for i := 0; i < len(seg); i++ {
			if !pathChar(seg[i]) {
				return "", ErrInvalidPrefix
			}
		}
	}
	return p, nil
}

// pathChar reports whether c may appear in a prefix segment: RFC 3986 pchar without '%'.
func pathChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

// NormalizeUpstream checks an upstream base URL and returns it without a trailing slash.
func NormalizeUpstream(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
		u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return "", ErrInvalidUpstream
	}
	if p := u.Port(); p != "" {
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return "", ErrInvalidUpstream
			}
		}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	out := u.String()
	return strings.TrimSuffix(out, "/"), nil
}

func validParam(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

type scanner interface{ Scan(...any) error }

func scan(sc scanner) (Route, error) {
	var r Route
	var created, updated int64
	var scopes, docScopes string
	if err := sc.Scan(&r.ID, &r.Prefix, &r.Upstream, &r.StripPrefix, &r.OrgID, &r.OpenAPISource, &r.AuthRequired,
		&r.QueryKeyParam, &r.MaxBodyBytes, &r.ValidateRequests, &r.ConsoleSession, &r.Learn, &scopes, &docScopes,
		&r.IdentityJWT, &created, &updated); err != nil {
		return Route{}, err
	}
	if err := decodeScopes(scopes, docScopes, &r); err != nil {
		return Route{}, err
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.UpdatedAt = time.UnixMilli(updated).UTC()
	return r, nil
}
