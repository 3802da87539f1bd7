package routes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/problem"
)

// MaxRouteScopes bounds the scopes a route requires.
const MaxRouteScopes = 32

var (
	// ErrInvalidScope means a required scope is not resource or resource:action.
	ErrInvalidScope error = &problem.Invalid{Field: "scopes", Code: "invalid", Msg: "validation.route.scope.invalid",
		Text: "a scope a route requires must be resource or resource:action (letters, digits and . _ - /, at most 128 characters); wildcards belong on keys"}
	// ErrTooManyScopes means more than MaxRouteScopes scopes.
	ErrTooManyScopes error = &problem.Invalid{Field: "scopes", Code: "too_many", Msg: "validation.route.scope.too_many",
		Data: map[string]any{"Max": MaxRouteScopes}, Text: "a route requires at most 32 scopes"}
	// ErrDocumentScopes means the route's OpenAPI document declares x-keygate-scopes that are
	// not a list of scopes.
	ErrDocumentScopes error = &problem.Invalid{Field: "openapiSource", Code: "invalid_scopes", Msg: "validation.route.document_scopes.invalid",
		Data: map[string]any{"Where": "?"}, Text: "the OpenAPI document's x-keygate-scopes must be lists of resource or resource:action scopes"}
)

// DocumentScopesError is ErrDocumentScopes about one place of the document ("GET /pets", "the
// top level"), with why.
func DocumentScopesError(where, why string) error {
	return &problem.Invalid{Field: "openapiSource", Code: "invalid_scopes", Msg: "validation.route.document_scopes.invalid",
		Data: map[string]any{"Where": where},
		Text: "the OpenAPI document's x-keygate-scopes must be lists of resource or resource:action scopes: " + where + ": " + why,
		Err:  ErrDocumentScopes}
}

// ValidScope reports whether s can be required: a scope a key can hold (keys.ValidScope:
// resource or resource:action) that is not a wildcard — `*` and resource:* belong to keys,
// never to what a route requires.
func ValidScope(s string) bool {
	return keys.ValidScope(s) && s != "*" && !strings.HasSuffix(s, ":*")
}

// NormalizeScopes checks a list of required scopes and returns it trimmed, without
// duplicates, sorted; never nil.
func NormalizeScopes(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if !ValidScope(s) {
			return nil, ErrInvalidScope
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > MaxRouteScopes {
		return nil, ErrTooManyScopes
	}
	sort.Strings(out)
	return out, nil
}

// DocumentScopes are the scopes a route's OpenAPI document declares with x-keygate-scopes,
// read when the route is saved.
type DocumentScopes struct {
	// Default comes from the document's top level: it applies to every request of the route
	// that no operation with its own x-keygate-scopes matches (undocumented paths included).
	Default []string `json:"default"`
	// Operations are those that declare their own list (an empty list: no scope needed).
	Operations []OperationScopes `json:"operations"`
}

// OperationScopes is one operation's declaration: Path is the gateway path template (the
// route prefix included, e.g. /demo/pets/{petId}), Method upper case.
type OperationScopes struct {
	Method string   `json:"method"`
	Path   string   `json:"path"`
	Scopes []string `json:"scopes"`
}

// Empty reports whether the document declares nothing.
func (d *DocumentScopes) Empty() bool {
	return d == nil || len(d.Default) == 0 && len(d.Operations) == 0
}

// All lists every scope the document names, sorted, without duplicates.
func (d *DocumentScopes) All() []string {
	if d == nil {
		return nil
	}
	var out []string
	add := func(ss []string) {
		for _, s := range ss {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	add(d.Default)
	for _, o := range d.Operations {
		add(o.Scopes)
	}
	sort.Strings(out)
	return out
}

// normalize checks every scope and puts the lists in a stable order.
func (d *DocumentScopes) normalize() error {
	var err error
	if d.Default, err = NormalizeScopes(d.Default); err != nil {
		return DocumentScopesError("the top level", err.Error())
	}
	for i := range d.Operations {
		o := &d.Operations[i]
		o.Method = strings.ToUpper(o.Method)
		if o.Path == "" || o.Path[0] != '/' {
			return DocumentScopesError(o.Method+" "+o.Path, "not a path")
		}
		if o.Scopes, err = NormalizeScopes(o.Scopes); err != nil {
			return DocumentScopesError(o.Method+" "+o.Path, err.Error())
		}
	}
	sort.Slice(d.Operations, func(i, j int) bool {
		a, b := d.Operations[i], d.Operations[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Method < b.Method
	})
	return nil
}

// ScopeReader reads what a route's OpenAPI document declares (nil, nil: nothing). Package
// documents supplies it (backend/openapi reads the document); Service calls it when a route
// with a document is saved.
type ScopeReader func(ctx context.Context, r Route) (*DocumentScopes, error)

// ReadScopesWith sets how the service reads the scopes routes' documents declare. Without
// one, documents declare nothing.
func (s *Service) ReadScopesWith(f ScopeReader) { s.readScopes = f }

// documentScopes reads r's document for the stored document_scopes column. When the document
// cannot be read, the scopes last read from the same source are kept (a passing outage of
// the document's host must not drop what it declares) and warning says so.
func (s *Service) documentScopes(ctx context.Context, r Route, prev *Route) (col string, w saveWarning, err error) {
	if r.OpenAPISource == "" || s.readScopes == nil {
		return "", w, nil
	}
	d, rerr := s.readScopes(ctx, r)
	if errors.Is(rerr, ErrDocumentScopes) {
		return "", w, rerr // the document says something wrong: the operator must fix it
	}
	if rerr != nil {
		w.detail = rerr.Error()
		if prev != nil && prev.OpenAPISource == r.OpenAPISource && !prev.DocumentScopes.Empty() {
			b, _ := json.Marshal(prev.DocumentScopes)
			w.code = WarningDocumentUnreadableKept
			return string(b), w, nil
		}
		w.code = WarningDocumentUnreadable
		return "", w, nil
	}
	if d.Empty() {
		return "", w, nil
	}
	if err := d.normalize(); err != nil {
		return "", w, err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", w, err
	}
	return string(b), w, nil
}

// Route.Warning's values.
const (
	// WarningDocumentUnreadable: the document could not be read, so whatever x-keygate-scopes
	// it declares are not enforced until the route is saved again with the document readable.
	WarningDocumentUnreadable = "document_unreadable"
	// WarningDocumentUnreadableKept: the document could not be read; the scopes read from the
	// same source before are kept.
	WarningDocumentUnreadableKept = "document_unreadable_kept"
)

type saveWarning struct{ code, detail string }

func decodeScopes(routeScopes, doc string, r *Route) error {
	r.Scopes = []string{}
	if routeScopes != "" {
		if err := json.Unmarshal([]byte(routeScopes), &r.Scopes); err != nil {
			return fmt.Errorf("route %s scopes: %w", r.Prefix, err)
		}
	}
	if doc != "" {
		r.DocumentScopes = &DocumentScopes{}
		if err := json.Unmarshal([]byte(doc), r.DocumentScopes); err != nil {
			return fmt.Errorf("route %s document scopes: %w", r.Prefix, err)
		}
	}
	return nil
}

// ScopeMatcher tells which scopes a request on a route needs. It is built once per route
// change (NewScopeMatcher) and read by every request without allocating: a small matcher of
// its own rather than kin-openapi's routers, which need an *http.Request the fasthttp engine
// does not have.
type ScopeMatcher struct {
	route []string // every request
	def   []string // requests no declaring operation matches
	ops   []opMatcher
}

type opMatcher struct {
	method string
	segs   []segMatcher
	scopes []string
}

type segMatcher struct {
	literal        string // whole segment, when !template
	template       bool
	prefix, suffix string         // around one {param}
	re, reFold     *regexp.Regexp // a segment with several {params}; reFold ignores case
}

// NewScopeMatcher compiles what r requires; nil when r requires nothing.
func NewScopeMatcher(r Route) *ScopeMatcher {
	if len(r.Scopes) == 0 && r.DocumentScopes.Empty() {
		return nil
	}
	m := &ScopeMatcher{route: r.Scopes}
	if d := r.DocumentScopes; d != nil {
		m.def = d.Default
		for _, o := range d.Operations {
			m.ops = append(m.ops, opMatcher{method: o.Method, segs: compileSegments(o.Path), scopes: o.Scopes})
		}
	}
	// OpenAPI: concrete paths match before templated ones (at the first segment where two
	// paths differ in kind, the literal wins).
	sort.SliceStable(m.ops, func(i, j int) bool {
		a, b := m.ops[i].segs, m.ops[j].segs
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k].template != b[k].template {
				return !a[k].template
			}
		}
		return false
	})
	return m
}

var paramInSegment = regexp.MustCompile(`\{[^}/]*\}`)

func compileSegments(p string) []segMatcher {
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil
	}
	parts := strings.Split(p[1:], "/")
	out := make([]segMatcher, len(parts))
	for i, s := range parts {
		locs := paramInSegment.FindAllStringIndex(s, -1)
		switch len(locs) {
		case 0:
			out[i] = segMatcher{literal: s}
		case 1:
			out[i] = segMatcher{template: true, prefix: s[:locs[0][0]], suffix: s[locs[0][1]:]}
		default:
			var b strings.Builder
			b.WriteString("^")
			last := 0
			for _, l := range locs {
				b.WriteString(regexp.QuoteMeta(s[last:l[0]]))
				b.WriteString("(.+?)")
				last = l[1]
			}
			b.WriteString(regexp.QuoteMeta(s[last:]))
			b.WriteString("$")
			out[i] = segMatcher{template: true, re: regexp.MustCompile(b.String()), reFold: regexp.MustCompile("(?i)" + b.String())}
		}
	}
	return out
}

func (s *segMatcher) match(seg string) bool {
	switch {
	case !s.template:
		return seg == s.literal
	case s.re != nil:
		return s.re.MatchString(seg)
	}
	return len(seg) > len(s.prefix)+len(s.suffix) && strings.HasPrefix(seg, s.prefix) && strings.HasSuffix(seg, s.suffix)
}

// matchLoose is match for a segment as a lenient upstream reads it (looseSegment): letters in
// any case, and a last literal segment also with an extension ("pets.json" for "pets").
func (s *segMatcher) matchLoose(seg string, last bool) bool {
	switch {
	case !s.template:
		n := len(s.literal)
		return strings.EqualFold(seg, s.literal) ||
			last && len(seg) > n+1 && seg[n] == '.' && strings.EqualFold(seg[:n], s.literal)
	case s.reFold != nil:
		return s.reFold.MatchString(seg)
	}
	n, p, x := len(seg), len(s.prefix), len(s.suffix)
	return n > p+x && strings.EqualFold(seg[:p], s.prefix) && strings.EqualFold(seg[n-x:], s.suffix)
}

// maxLooseDecodes bounds the percent-decoding of looseSegment (the gateway refuses paths that
// still change after five rounds: gateway.CheckPath).
const maxLooseDecodes = 5

// looseSegment is a path segment as the most lenient upstreams read it: percent-decoded again
// until it stops changing (servers that decode twice), cut at ';' (path parameters: Tomcat,
// Jetty, Spring) and without surrounding blanks (Spring's trimmed tokens). It allocates only
// for a segment that still holds a '%'.
func looseSegment(seg string) string {
	return LooseSegment(seg)
}

// LooseSegment is looseSegment, for the gateway's routing (which route a lenient upstream
// would take a path for).
func LooseSegment(seg string) string {
	for range maxLooseDecodes {
		if strings.IndexByte(seg, '%') < 0 {
			break
		}
		d, err := url.PathUnescape(seg)
		if err != nil || d == seg {
			break
		}
		seg = d
	}
	if i := strings.IndexByte(seg, ';'); i >= 0 {
		seg = seg[:i]
	}
	return strings.TrimSpace(seg)
}

// match reports whether method and path are this operation's, exactly as the document writes
// it or, when loose, as a lenient upstream could read them (methods and literal segments in
// any case — Express and ASP.NET route so —, segments read by looseSegment, a last segment
// with an extension).
func (o *opMatcher) match(method, path string, loose bool) bool {
	if o.method != method && !(loose && strings.EqualFold(o.method, method)) {
		return false
	}
	rest := strings.TrimSuffix(path, "/")
	if rest == "" {
		return len(o.segs) == 0
	}
	rest = rest[1:]
	for i := range o.segs {
		if rest == "" && i > 0 {
			return false
		}
		seg, tail, more := strings.Cut(rest, "/")
		if loose {
			if !o.segs[i].matchLoose(looseSegment(seg), !more) {
				return false
			}
		} else if !o.segs[i].match(seg) {
			return false
		}
		if !more {
			return i == len(o.segs)-1
		}
		rest = tail
	}
	return false
}

// operation is the index of the first operation (in matching order) that takes method and
// path, -1 for none. A HEAD no operation declares is its GET (a HEAD is a GET without the body).
func (m *ScopeMatcher) operation(method, path string, loose bool) int {
	for i := range m.ops {
		if m.ops[i].match(method, path, loose) {
			return i
		}
	}
	if method == "HEAD" || loose && strings.EqualFold(method, "HEAD") {
		return m.operation("GET", path, loose)
	}
	return -1
}

// MethodDependent reports whether what a request needs can depend on its method: the route's
// document gives operations their own scopes. Only then can a method named elsewhere than the
// request line (an override header, a _method parameter or form field) change what is needed,
// so the gateway reads a form body for one only on such a route.
func (m *ScopeMatcher) MethodDependent() bool { return m != nil && len(m.ops) > 0 }

// Required returns what a request needs: the route's own scopes; those of the operation that
// matches method and path (decoded once, prefix included), or the document's default when none
// does; and, as also, those of the operation a lenient upstream could take the request for when
// that is another one. Every scope of the three lists is needed.
//
// The gateway forwards the method and path as they came, and upstreams read them more loosely
// than the document is written: Express and ASP.NET route "POST /PETS" and "post /pets" to
// "POST /pets", Tomcat, Jetty and Spring "/pets;x" to "/pets" (and older Spring "/pets.json"),
// a server that decodes twice "/%2570ets". Such a request matches no operation exactly and
// would need only the default; also makes it need the operation it reaches upstream.
func (m *ScopeMatcher) Required(method, path string) (route, operation, also []string) {
	if m == nil {
		return nil, nil, nil
	}
	operation = m.def
	exact := m.operation(method, path, false)
	if exact >= 0 {
		operation = m.ops[exact].scopes
	}
	if loose := m.operation(method, path, true); loose >= 0 && loose != exact {
		also = m.ops[loose].scopes
	}
	return m.route, operation, also
}
