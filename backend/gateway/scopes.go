package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/keygate/keygate/backend/identity"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/routes"
)

// scopes.go: what a route asks of a caller beyond a valid credential — the scopes its
// operations need (403 INSUFFICIENT_SCOPE naming the missing one) — and the signed identity
// it sends the upstream (X-Keygate-Jwt). auth.go calls in here; the rules live here.

// CodeInsufficientScope: the key lacks a scope the operation requires (403).
const CodeInsufficientScope = problem.CodeInsufficientScope

// IdentitySigner mints the signed identity for routes that send one and serves the public
// keys; *identity.Service implements it.
type IdentitySigner interface {
	Token(ctx context.Context, c identity.Claims) (string, error)
	JWKS(ctx context.Context) ([]byte, error)
	// MaxAge is how long upstreams may cache the key set (its Cache-Control max-age): a
	// rotated key signs only once it has passed.
	MaxAge() time.Duration
}

var _ IdentitySigner = (*identity.Service)(nil)

// loadedSigner is the part of identity.Service an event loop signs with: without the store,
// once the key set is in memory.
type loadedSigner interface {
	Loaded() bool
	TokenLoaded(c identity.Claims) (string, error)
}

var _ loadedSigner = (*identity.Service)(nil)

// identityOnLoop says an event loop can sign a route's identity itself: the signer's key set
// is in memory.
func (g *Gateway) identityOnLoop() bool {
	ls, ok := g.cfg.Identity.(loadedSigner)
	return ok && ls.Loaded()
}

// routeScopes is what Reload prepares for a route that requires scopes: the matcher and, for
// each scope it can require, the answer that names it (rendered once, as every gateway answer).
type routeScopes struct {
	match    *routes.ScopeMatcher
	problems map[string]*scopeProblem
}

type scopeProblem struct {
	pre          *problem.Prebuilt
	authenticate []string // the WWW-Authenticate value (RFC 6750 §3.1)
}

func newRouteScopes(r routes.Route) *routeScopes {
	m := routes.NewScopeMatcher(r)
	if m == nil {
		return nil
	}
	rs := &routeScopes{match: m, problems: map[string]*scopeProblem{}}
	all := append([]string{}, r.Scopes...)
	all = append(all, r.DocumentScopes.All()...)
	for _, s := range all {
		if _, ok := rs.problems[s]; ok {
			continue
		}
		rs.problems[s] = &scopeProblem{
			pre: problem.Prebuild(problem.New(http.StatusForbidden, CodeInsufficientScope,
				"The key lacks the scope "+s+", which this operation requires.")),
			// Scopes are resource:action of [A-Za-z0-9._-]: nothing to quote inside the string.
			authenticate: []string{`Bearer realm="keygate", error="insufficient_scope", scope="` + s + `"`},
		}
	}
	return rs
}

// requireScopes checks that have (the key's scopes; nil for a console session, which holds
// none) covers what the request needs on rt: the operation its method and path reach and, for
// each method the request names otherwise — in a method-override header and, on a route whose
// scopes depend on the method, in a _method parameter or form field (methodparam.go) — the
// operation that method reaches (an upstream that honours it runs that one). Else it keeps the
// answer naming the first missing scope in st and returns CodeInsufficientScope; a body that
// had to be read and could not be is that code instead (CodePayloadTooLarge, CodeMalformedBody,
// CodeMalformedRequest).
func (g *Gateway) requireScopes(st *reqState, rt *route, have []string, p presented) Code {
	if rt.scopes == nil {
		return ""
	}
	// The path as sent too: an upstream that routes before decoding reads an escaped slash
	// as part of a segment ("/pets/7%2Fx" is DELETE /pets/{id} with id "7/x" in Express),
	// where the decoded path has a segment more and may match no operation.
	paths := [2]string{p.path, p.rawPath}
	if p.std != nil {
		paths[1] = p.std.URL.EscapedPath()
	}
	n := 1
	if paths[1] != paths[0] && paths[1] != "" {
		n = 2
	}
	for _, path := range paths[:n] {
		if code := g.requireMethodScopes(st, rt, have, p.method, path); code != "" {
			return code
		}
		if code := g.requireNamedMethods(st, rt, have, path, p.methodOverrides); code != "" {
			return code
		}
	}
	if !rt.scopes.match.MethodDependent() {
		return ""
	}
	var buf [4]string
	named := urlencodedMethods(buf[:0], p.rawQuery)
	named, code := formMethods(named, rt, p)
	if code != "" {
		return code
	}
	for _, path := range paths[:n] {
		if code := g.requireNamedMethods(st, rt, have, path, named); code != "" {
			return code
		}
	}
	return ""
}

// requireNamedMethods requires the scopes of each method the values name (comma lists, any
// case).
func (g *Gateway) requireNamedMethods(st *reqState, rt *route, have []string, path string, values []string) Code {
	for _, v := range values {
		for m := range strings.SplitSeq(v, ",") {
			if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
				if code := g.requireMethodScopes(st, rt, have, m, path); code != "" {
					return code
				}
			}
		}
	}
	return ""
}

// formMethods appends to dst the _method values of p's body when its Content-Type is one a
// framework reads that field from (bodyKindOf). The body is read whole first, at most the
// route's body limit (slowBodyCap without one), and forwarded as it came: a longer body is
// CodePayloadTooLarge, a broken one CodeMalformedRequest, a multipart body that cannot be taken
// apart CodeMalformedBody — never forwarded unchecked.
//
// fasthttp keeps one Content-Type (the upstream gets that one); net/http forwards every
// Content-Type line a request has, and an upstream may take any of them, so the body is read
// as each of them in turn.
func formMethods(dst []string, rt *route, p presented) ([]string, Code) {
	var one [1]string
	var cts []string
	switch {
	case p.fast != nil:
		one[0] = p.contentType // (in the request state's copy of the head)
		cts = one[:]
	case p.std != nil:
		if cts = p.std.Header["Content-Type"]; len(cts) == 0 {
			cts = one[:]
		}
	default:
		return dst, ""
	}
	var body []byte
	read := false
	for _, ct := range cts {
		kind := bodyKindOf(p.method, ct)
		if kind == bodyNone {
			continue
		}
		if !read {
			var code Code
			if p.fast != nil {
				body, code = fastBody(p.fast, rt.MaxBodyBytes)
			} else {
				body, code = readWholeBody(p.std, rt.MaxBodyBytes)
			}
			if code != "" {
				return dst, code
			}
			read = true
		}
		var err error
		if dst, err = bodyMethods(dst, kind, ct, body); err != nil {
			return dst, CodeMalformedBody
		}
	}
	return dst, ""
}

// fastBody is the fast engine's request body, read into the request first when it streams
// (readSlowBody), at most limit bytes (slowBodyCap when limit is 0).
func fastBody(ctx *fasthttp.RequestCtx, limit int64) ([]byte, Code) {
	if limit <= 0 {
		limit = slowBodyCap
	}
	if ctx.Request.IsBodyStream() {
		if code := readSlowBody(ctx, limit); code != "" {
			return nil, code
		}
	}
	b := ctx.Request.Body()
	if int64(len(b)) > limit {
		return nil, CodePayloadTooLarge
	}
	return b, ""
}

func (g *Gateway) requireMethodScopes(st *reqState, rt *route, have []string, method, path string) Code {
	a, b, c := rt.scopes.match.Required(method, path)
	for _, list := range [3][]string{a, b, c} {
		for _, need := range list {
			if !keys.ScopesAllow(have, need) {
				st.scopeProblem = rt.scopes.problems[need]
				return CodeInsufficientScope
			}
		}
	}
	return ""
}

// methodOverrideHeaders are the headers with which common frameworks let a request name the
// method to run instead of its own (Express's method-override, ASP.NET Core's
// UseHttpMethodOverride, Symfony, Laravel); the _method parameter and form field are
// methodparam.go's.
var methodOverrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// methodOverrides collects those headers' values from a net/http request's header, and a
// trusted proxy's X-Forwarded-Method (forwarded from it only: managedHeader), which APISIX
// and Traefik forward-auth readers act on.
func methodOverrides(h http.Header, trustedPeer bool) []string {
	var out []string
	for _, n := range methodOverrideHeaders {
		out = append(out, h[n]...)
	}
	if trustedPeer {
		out = append(out, h["X-Forwarded-Method"]...)
	}
	return out
}

// writeScopeProblemFast answers INSUFFICIENT_SCOPE with the missing scope's problem.
func writeScopeProblemFast(resp *fasthttp.Response, sp *scopeProblem) {
	p := sp.pre
	resp.SetStatusCode(p.Problem.Status)
	resp.Header.SetContentType(problem.ContentType)
	resp.Header.Set("X-Content-Type-Options", "nosniff")
	resp.Header.Set("Cache-Control", "no-store")
	resp.Header.Set("Www-Authenticate", sp.authenticate[0])
	resp.SetBodyRaw(p.Body)
}

// writeScopeProblem is writeScopeProblemFast on net/http.
func writeScopeProblem(w http.ResponseWriter, sp *scopeProblem) {
	w.Header()["Www-Authenticate"] = sp.authenticate
	sp.pre.Write(w)
}

// signIdentity mints the route's signed identity for the authenticated caller into st.jwt;
// false means it could not (the request is answered 500: a route that asks for an identity
// never gets a request without one).
func (g *Gateway) signIdentity(st *reqState, rt *route) bool {
	if !rt.IdentityJWT || g.cfg.Identity == nil || (st.keyID == "" && st.userID == "") {
		return true
	}
	c := identity.Claims{Issuer: g.issuer(), Audience: rt.Prefix}
	switch {
	case st.key != nil:
		c.Subject, c.Org, c.Scopes, c.Meta, c.Version = st.key.ID, st.key.OrgID, st.key.Scopes, st.key.Metadata, st.key
	default:
		// A console session: the person, in the route's organization when it has one.
		c.Subject, c.Org = st.userID, rt.OrgID
	}
	var tok string
	var err error
	if ls, ok := g.cfg.Identity.(loadedSigner); ok && st.loop {
		tok, err = ls.TokenLoaded(c) // (checkFast sent the request off the loop unless Loaded)
	} else {
		tok, err = g.cfg.Identity.Token(st.Context, c)
	}
	if err != nil {
		g.log.Error("sign identity", "request_id", st.requestID[0], "route", rt.Prefix, "err", err)
		return false
	}
	st.jwt = tok
	return true
}

// issuer is the gateway's public URL: Config.PublicURL, else the address a Server listens on.
func (g *Gateway) issuer() string {
	if u := g.cfg.PublicURL; u != nil {
		return strings.TrimSuffix(u.String(), "/")
	}
	if p := g.listenURL.Load(); p != nil {
		return *p
	}
	return "http://" + g.cfg.Listen
}

// serveJWKS answers GET (and HEAD) /.well-known/jwks.json with the identity keys: the gateway's
// own path, never forwarded (a route at / does not shadow it).
func (g *Gateway) jwks(ctx context.Context) (body []byte, code Code) {
	if g.cfg.Identity == nil {
		return nil, CodeNoRoute
	}
	b, err := g.cfg.Identity.JWKS(ctx)
	if err != nil {
		g.log.Error("identity keys", "err", err)
		return nil, CodeInternal
	}
	return b, ""
}

// jwksCacheControl lets upstreams cache the key set for the identity service's max-age: a
// rotated key is published that long before it signs, so a cache never lacks the signing key.
func (g *Gateway) jwksCacheControl() string {
	return "public, max-age=" + strconv.Itoa(int(g.cfg.Identity.MaxAge()/time.Second))
}

func (g *Gateway) serveJWKSFast(ctx *fasthttp.RequestCtx, st *reqState, snap *snapshot) bool {
	if st.in.path != identity.JWKSPath {
		return false
	}
	if st.in.method != http.MethodGet && st.in.method != http.MethodHead {
		return false // other methods go on to the routes, as before
	}
	b, code := g.jwks(st.Context)
	if code != "" {
		g.answerFast(ctx, st, snap, code)
		return true
	}
	commonHeaders(&ctx.Response.Header, st)
	ctx.Response.Header.SetContentType("application/jwk-set+json")
	ctx.Response.Header.Set("Cache-Control", g.jwksCacheControl())
	ctx.SetStatusCode(http.StatusOK)
	if st.in.method == http.MethodGet {
		ctx.Response.SetBodyRaw(b)
	} else {
		ctx.Response.Header.SetContentLength(len(b))
		ctx.Response.SkipBody = true
	}
	return true
}

func (g *Gateway) serveJWKS(st *reqState, r *http.Request) bool {
	if r.URL.Path != identity.JWKSPath || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	b, code := g.jwks(r.Context())
	if code != "" {
		g.reject(st, code)
		return true
	}
	h := st.rw.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", g.jwksCacheControl())
	st.rw.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		st.rw.Write(b)
	}
	return true
}

// listenURL is kept by Server.Start for issuer.
type listenURL = atomic.Pointer[string]
