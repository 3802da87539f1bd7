package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/routes"
	"github.com/valyala/fasthttp"
)

type validatorEntry struct {
	updated time.Time
	source  string
	handler http.Handler
}

// snapshot is everything a request reads that can change at runtime; it is swapped whole.
type snapshot struct {
	rev     int64
	table   *routes.Table[*route]
	origins *OriginList
	timeout time.Duration
	// byLength is every route, longest prefix first, for looseRoute; foldPrefix says some
	// prefix has an upper-case letter (then any path may read as it in another case).
	byLength   []*route
	foldPrefix bool
}

// looseRoute returns the route a lenient upstream would take path (decoded) for — the longest
// prefix it matches segment by segment as routes.ScopeMatcher's loose reading goes: any case,
// decoded again, cut at ';', blanks trimmed, a last segment with an extension — when that is
// another route than rt, it asks for a credential or scopes, and it goes to the same upstream
// server (scheme, host and port) as rt. Through rt such a request would reach that route's
// operations without its rules ("/PETS/7" through "/" for "/pets"); an upstream server of its
// own cannot be reached through another route, so its paths pass as written ("/API.html" on a
// public site beside an "/api" route elsewhere). Paths that read only as written cost one
// scan of their bytes.
func (s *snapshot) looseRoute(rt *route, path string) *route {
	if !s.foldPrefix && !needsLooseRouting(path) {
		return nil
	}
	for _, r := range s.byLength {
		if looseHasPrefix(path, r.Prefix) {
			if r == rt || !r.AuthRequired && r.scopes == nil || !sameServer(r.target, rt.target) {
				return nil
			}
			return r
		}
	}
	return nil
}

// sameServer reports whether a and b name one upstream server (their paths may differ).
func sameServer(a, b *url.URL) bool {
	return a != nil && b != nil && strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

// needsLooseRouting reports whether a lenient reading of path can differ from path itself.
func needsLooseRouting(path string) bool {
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case 'A' <= c && c <= 'Z', c == ';', c == '%', c == ' ', c == '\t', c == '.':
			return true
		}
	}
	return false
}

// looseHasPrefix reports whether path's segments begin with prefix's, read loosely.
func looseHasPrefix(path, prefix string) bool {
	pre := strings.Trim(prefix, "/")
	rest := strings.TrimPrefix(path, "/")
	for pre != "" {
		want, preTail, preMore := strings.Cut(pre, "/")
		seg, tail, more := strings.Cut(rest, "/")
		seg = routes.LooseSegment(seg)
		n := len(want)
		ext := !more && !preMore && len(seg) > n+1 && seg[n] == '.' && strings.EqualFold(seg[:n], want)
		if !strings.EqualFold(seg, want) && !ext {
			return false
		}
		if preMore && !more {
			return false
		}
		pre, rest = preTail, tail
	}
	return true
}

type route struct {
	routes.Route
	target   *url.URL
	client   *fasthttp.HostClient // the fasthttp engine's pool for target
	metrics  *routeMetrics
	validate http.Handler // the proxy behind request validation, for routes that validate
	learn    learnGate    // admits the exchanges of a learning route to the learner
	scopes   *routeScopes // nil: the route requires no scope
}

// Reload reads routes and settings from the store and swaps them in.
func (g *Gateway) Reload(ctx context.Context) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	g.retentionStale.Store(true)
	rev, err := g.cfg.Store.Revision(ctx)
	if err != nil {
		return fmt.Errorf("reload gateway: %w", err)
	}
	rs, err := g.cfg.Routes.List(ctx)
	if err != nil {
		return fmt.Errorf("reload gateway: %w", err)
	}
	set, err := g.cfg.Routes.Settings(ctx)
	if err != nil {
		return fmt.Errorf("reload gateway: %w", err)
	}
	prefixes := make([]string, 0, len(rs))
	values := make([]*route, 0, len(rs))
	live := make(map[string]bool, len(rs))
	for _, r := range rs {
		live[r.ID] = true
	}
	for id := range g.validators {
		if !live[id] {
			delete(g.validators, id) // its route is gone: let its document go
		}
	}
	for _, r := range rs {
		u, err := url.Parse(r.Upstream)
		if err != nil {
			g.log.Warn("route skipped: bad upstream URL", "prefix", r.Prefix, "err", err)
			continue
		}
		prefixes = append(prefixes, r.Prefix)
		values = append(values, &route{Route: r, target: u, client: g.upstreams.client(u), metrics: g.metrics.forRoute(r.Prefix),
			validate: g.validator(ctx, r), scopes: newRouteScopes(r)})
	}
	timeout := set.UpstreamTimeout
	if g.cfg.UpstreamTimeout > 0 {
		timeout = g.cfg.UpstreamTimeout
	}
	g.transport.setTimeout(timeout)
	byLength := slices.Clone(values)
	sort.SliceStable(byLength, func(i, j int) bool { return len(byLength[i].Prefix) > len(byLength[j].Prefix) })
	fold := slices.ContainsFunc(prefixes, func(p string) bool { return strings.ToLower(p) != p })
	g.snap.Store(&snapshot{
		rev:        rev,
		table:      routes.NewTable(prefixes, values),
		origins:    NewOriginList(g.cfg.AllowedOrigins, set.AllowedOrigins),
		timeout:    timeout,
		byLength:   byLength,
		foldPrefix: fold,
	})
	return nil
}

// validator returns the validating handler for a route that asks for validation, loading the
// upstream document only when the route is new or changed.
func (g *Gateway) validator(ctx context.Context, r routes.Route) http.Handler {
	if !r.ValidateRequests || g.cfg.Validators == nil {
		if r.ValidateRequests {
			g.log.Warn("route asks for request validation but no validator is configured", "prefix", r.Prefix)
		}
		delete(g.validators, r.ID)
		return nil
	}
	if e, ok := g.validators[r.ID]; ok && e.updated.Equal(r.UpdatedAt) && e.source == r.OpenAPISource {
		return e.handler
	}
	mw, err := g.cfg.Validators.RequestValidator(ctx, r)
	var h http.Handler
	if err != nil {
		g.log.Warn("request validation off for route: its OpenAPI document could not be used", "prefix", r.Prefix, "err", err)
	} else {
		h = mw(g.proxy)
	}
	g.validators[r.ID] = validatorEntry{updated: r.UpdatedAt, source: r.OpenAPISource, handler: h}
	return h
}

// stripPrefix removes a route prefix from a URL path ("/api/x" → "/x", "/api" → "/").
func stripPrefix(u *url.URL, prefix string) {
	rest := strings.TrimPrefix(u.Path, prefix)
	if rest == "" {
		rest = "/"
	}
	u.Path = rest
	if u.RawPath != "" {
		// The raw path keeps its escapes only when the prefix ends at a "/" in it too:
		// "/api%2Fx" matched /api by its decoded path, and "%2Fx" is no request target.
		if raw, ok := strings.CutPrefix(u.RawPath, prefix); ok && (raw == "" || raw[0] == '/') {
			if raw == "" {
				raw = "/"
			}
			u.RawPath = raw
		} else {
			u.RawPath = ""
		}
	}
}

// upstreamURI is the request target sent upstream: the route's upstream path joined with the
// request path (prefix stripped when the route says so), and the query without the key
// parameter — what ReverseProxy's SetURL and the net/http path's rewrite produce.
func upstreamURI(rt *route, in *inbound) string {
	p := in.rawPath
	if rt.StripPrefix && rt.Prefix != "/" {
		// As in stripPrefix: the escaped path is kept only when the prefix ends at a "/" in
		// it too ("/api%2Fx" matched /api by its decoded path; "%2Fx" is no target).
		if rest, ok := strings.CutPrefix(p, rt.Prefix); ok && (rest == "" || rest[0] == '/') {
			p = rest
		} else {
			u := url.URL{Path: strings.TrimPrefix(in.path, rt.Prefix)}
			p = u.EscapedPath()
		}
		if p == "" {
			p = "/"
		}
	}
	base := rt.target.EscapedPath()
	switch {
	case base == "":
	case strings.HasSuffix(base, "/") && strings.HasPrefix(p, "/"):
		p = base + p[1:]
	case !strings.HasSuffix(base, "/") && !strings.HasPrefix(p, "/"):
		p = base + "/" + p
	default:
		p = base + p
	}
	if p == "" {
		p = "/"
	}
	q := in.rawQuery
	if rt.QueryKeyParam != "" {
		q = withoutQueryParam(q, rt.QueryKeyParam)
	}
	if tq := rt.target.RawQuery; tq != "" {
		if q == "" {
			q = tq
		} else {
			q = tq + "&" + q
		}
	}
	if q != "" {
		return p + "?" + q
	}
	return p
}
