package gateway

import (
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"
)

// hopHeaders are removed from what is forwarded in either direction (RFC 9110 §7.6.1), with
// any header the Connection header names.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Http2-Settings", "Expect"}

// forwardFast rewrites the request in place and forwards it; the answer is left in
// ctx.Response (or st.relay streams its body).
func (g *Gateway) forwardFast(ctx *fasthttp.RequestCtx, st *reqState, snap *snapshot, rt *route, clientClose bool) {
	g.rewriteFast(ctx, st, rt)
	req := &ctx.Request
	replayable := !req.IsBodyStream() && replayableMethod(st.in.method)
	resp := &ctx.Response
	resp.Reset()
	rl, err := exchange(rt.client, ctx, req, resp, snap.timeout, replayable)
	if err != nil {
		g.upstreamFailed(ctx, st, snap, err)
		return
	}
	var body fasthttp.ReadCloserWithError = rl
	if st.learn != nil {
		body = learnResponseFast(st.learn, resp, rl)
	}
	cleanAnswerHead(&resp.Header, st, clientClose)
	if rl != nil {
		st.relay = rl
		rl.done = func(r *relay, werr error) { g.relayDone(ctx, st, r, werr) }
		resp.SetBodyStream(body, rl.length)
	}
}

// replayableMethod says a request of this method may be sent again on a fresh connection when
// a pooled one turns out closed before any answer (RFC 9110 §9.2.2, less POST and PATCH).
func replayableMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodPut ||
		m == http.MethodDelete
}

// cleanAnswerHead turns the upstream answer's head into the client's: hop-by-hop headers and
// the ones they name go, as do headers the gateway owns and the console's cookies, and the
// gateway's own (request id, CORS, limits) are set.
func cleanAnswerHead(rh *fasthttp.ResponseHeader, st *reqState, clientClose bool) {
	for _, n := range connectionNamed(rh) {
		rh.Del(n)
	}
	for _, n := range presentOf(rh, hopHeaders, upstreamOwnedHeaders) {
		rh.Del(n)
	}
	rh.ResetConnectionClose()
	if clientClose {
		rh.SetConnectionClose()
	}
	cleanUpstreamResponseFast(rh)
	commonHeaders(rh, st)
}

// rewritePlan is what the rewrite of a request for its upstream needs, worked out from the
// head before anything of it changes. Both rewrites apply it: rewriteFast edits fasthttp's
// parsed head in place; appendRewritten (the event loops) writes the upstream's request in one
// pass over the client's head as it came.
type rewritePlan struct {
	uri             string   // the upstream's target
	xff             string   // a trusted peer's X-Forwarded-For chain and ", ", or ""
	setXFF          bool     // X-Forwarded-For is set (to xff and the peer)
	xfHost, xfProto string   // X-Forwarded-Host (none when ""), X-Forwarded-Proto
	cookies         []string // the Cookie lines less the console's session cookie
	dropAuth        bool     // Authorization carries the credential (or another Keygate key)
	named           []string // the headers the Connection header names
}

func (g *Gateway) planRewrite(st *reqState, rt *route) rewritePlan {
	in := &st.in
	p := rewritePlan{uri: upstreamURI(rt, in), setXFF: st.client.IsValid() || st.trusted}
	if st.trusted && len(in.xff) > 0 {
		p.xff = strings.Join(in.xff, ", ") + ", "
	}
	var forwarded http.Header
	if st.trusted && (len(in.xfHost) > 0 || len(in.xfProto) > 0) {
		forwarded = http.Header{"X-Forwarded-Host": in.xfHost, "X-Forwarded-Proto": in.xfProto}
	}
	p.xfHost, p.xfProto = ForwardedHost(g.cfg.PublicURL, st.trusted, forwarded, false)
	if len(in.cookie) > 0 {
		p.cookies = withoutSessionCookie(in.cookie)
	}
	p.dropAuth = len(in.authorization) > 0 && (st.cred == CredentialBearer || carriesKey(in.authorization) ||
		g.foreignAuth(st))
	for _, c := range in.connection {
		for _, f := range strings.Split(c, ",") {
			if f = strings.TrimSpace(f); f != "" {
				p.named = append(p.named, f)
			}
		}
	}
	return p
}

// headerValue is a header the gateway sets on a request or an answer.
type headerValue struct {
	name  []byte // canonical
	value string
	added bool // next to others of the name, rather than in their place
}

// identityHeaders are the headers the gateway sets on every forwarded request but the
// forwarding ones: who is calling (a key, or a console user), the request id, the signed
// identity.
func identityHeaders(st *reqState, rt *route) (hs [6]headerValue, n int) {
	add := func(name []byte, value string) { hs[n] = headerValue{name: name, value: value}; n++ }
	switch {
	case st.keyID != "":
		add(hnKeyID, st.keyID)
		add(hnKeyName, headerSafe(st.keyName))
		add(hnOrgID, st.orgID)
	case st.userID != "":
		add(hnUserID, st.userID)
		if rt.OrgID != "" {
			add(hnOrgID, rt.OrgID)
		}
	}
	add(hnRequestID, st.requestID[0])
	if st.jwt != "" {
		add(hnJWT, st.jwt)
	}
	return hs, n
}

// newLearnCapture starts a learning route's observation of the request (the target's strings
// are copied: the rewrite may reuse the buffer they point into).
func newLearnCapture(in *inbound) *learnCapture {
	return &learnCapture{method: methodString(in.method), path: strings.Clone(in.path), query: strings.Clone(in.rawQuery)}
}

// rewriteFast rewrites the request in place for the upstream: the credential and every header
// the gateway owns go, identity and forwarding headers are set, and the target becomes the
// upstream's.
func (g *Gateway) rewriteFast(ctx *fasthttp.RequestCtx, st *reqState, rt *route) {
	in := &st.in
	req := &ctx.Request
	h := &req.Header
	if g.learns(rt) {
		st.learn = newLearnCapture(in)
	}
	// Work out what is needed from the head before it changes. The plan's strings point into
	// st's copy of the head (or are new), never into the request's buffer, which the edits
	// below may reuse.
	p := g.planRewrite(st, rt)

	dropTrailers(h)
	for _, n := range p.named {
		if !isEndToEndRequired(n) {
			h.Del(n)
		}
	}
	for _, n := range in.hop { // the hop-by-hop headers the request has (parseHead listed them)
		h.Del(n)
	}
	h.ResetConnectionClose()
	h.Del("X-Api-Key")
	for _, n := range in.managed {
		h.Del(n)
	}
	if p.dropAuth {
		h.Del("Authorization")
	}
	if len(in.cookie) > 0 {
		h.DelAllCookies()
		h.Del("Cookie")
		for _, c := range p.cookies {
			h.Add("Cookie", c)
		}
	}
	hs, n := identityHeaders(st, rt)
	for _, hv := range hs[:n] {
		setReq(h, hv.name, hv.value)
	}
	if p.setXFF {
		var b [64]byte // an address fits; a longer chain of proxies grows it
		h.SetBytesV("X-Forwarded-For", st.peer.AppendTo(append(b[:0], p.xff...)))
	}
	if p.xfHost != "" {
		setReq(h, hnForwardedHost, p.xfHost)
	} else {
		h.Del("X-Forwarded-Host")
	}
	setReq(h, hnForwardedProto, p.xfProto)
	h.SetHost(rt.target.Host)
	req.SetRequestURI(p.uri) // on the request: it also drops the URI fasthttp parsed

	if rt.MaxBodyBytes > 0 && req.IsBodyStream() && in.contentLength < 0 {
		st.body = &limitedBody{rc: nopCloser{req.BodyStream()}, left: rt.MaxBodyBytes}
		req.SetBodyStream(st.body, -1)
	}

	if st.learn != nil {
		learnRequestFast(st.learn, st, req)
	}
}

// dropTrailers removes a request's trailer fields and the names its Trailer header announced:
// the gateway forwards no request trailer. fasthttp keeps the trailers of a body it read whole
// (readSlowBody: validated routes, WebSocket upgrades, form bodies read for _method) apart
// from the head and, once the Trailer header goes (it is hop-by-hop), moves them into the
// head, where the upstream would read as headers what the gateway never checked: a
// method-override header, X-Original-Url, … Deleting a name also deletes a head field of the
// same name, which is safe: it only ever forwards less.
func dropTrailers(h *fasthttp.RequestHeader) {
	keys := h.PeekTrailerKeys()
	if len(keys) == 0 {
		return
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = string(k)
	}
	for _, n := range names {
		h.Del(n)
	}
	h.Del("Trailer") // and the names: received trailers are announced as if sent in the head
}

// The identity and forwarding headers' names in canonical form (see setCanonical).
var (
	hnKeyID          = []byte("X-Keygate-Key-Id")
	hnKeyName        = []byte("X-Keygate-Key-Name")
	hnOrgID          = []byte("X-Keygate-Org-Id")
	hnUserID         = []byte("X-Keygate-User-Id")
	hnJWT            = []byte("X-Keygate-Jwt")
	hnForwardedHost  = []byte("X-Forwarded-Host")
	hnForwardedProto = []byte("X-Forwarded-Proto")
)

// setReq sets a request header whose name is canonical already (fasthttp copies the value).
func setReq(h *fasthttp.RequestHeader, name []byte, value string) { h.SetCanonical(name, s2b(value)) }

// isEndToEndRequired keeps the headers that frame the request: a client naming Content-Length
// or Host in Connection must not make the gateway forward a body without its length (fasthttp
// would send none) or a request without its Host. net/http's ReverseProxy keeps both because it
// holds them outside the header map. Headers the gateway sets itself are added after this.
func isEndToEndRequired(name string) bool {
	return strings.EqualFold(name, "Content-Length") || strings.EqualFold(name, "Host")
}

type nopCloser struct {
	r interface{ Read([]byte) (int, error) }
}

func (n nopCloser) Read(p []byte) (int, error) { return n.r.Read(p) }

func (nopCloser) Close() error { return nil }

// connectionNamed lists the headers an upstream answer's Connection header names.
func connectionNamed(rh *fasthttp.ResponseHeader) []string {
	v := rh.Peek("Connection")
	if len(v) == 0 {
		return nil
	}
	var out []string
	for _, f := range strings.Split(string(v), ",") {
		if f = strings.TrimSpace(f); f != "" && !strings.EqualFold(f, "close") && !strings.EqualFold(f, "keep-alive") {
			out = append(out, f)
		}
	}
	return out
}

// upstreamFailed answers a failed exchange: 504 on a timeout, 502 when the upstream cannot be
// reached or answered wrongly, 413 when the body ran over the route's limit, and nothing (logged
// as 499) when the client has gone.
func (g *Gateway) upstreamFailed(ctx *fasthttp.RequestCtx, st *reqState, snap *snapshot, err error) {
	var code Code
	switch {
	case st.body != nil && st.body.exceeded:
		code = CodePayloadTooLarge
	case err == errClientGone:
		g.metrics.upstream.clientClosed.Add(1)
		st.status, st.code = 499, CodeClientClosed
		ctx.SetConnectionClose()
		return
	case err == errUpstreamTimeout:
		code = CodeUpstreamTimeout
		g.metrics.upstream.timeout.Add(1)
	default:
		code = CodeUpstreamUnavailable
		g.metrics.upstream.unavailable.Add(1)
	}
	g.log.Warn("upstream request failed", "code", code, "err", err, "request_id", st.requestID[0], "route", st.route.Prefix)
	g.answerFast(ctx, st, snap, code)
}

// relayDone finishes a request whose body was streamed, once the server has written it.
func (g *Gateway) relayDone(ctx *fasthttp.RequestCtx, st *reqState, r *relay, werr error) {
	if werr != nil && r.readErr == nil && !r.eof {
		st.status, st.code = 499, CodeClientClosed
	}
	g.finishFast(ctx, st, st.start)
}

// cleanUpstreamResponseFast is CleanUpstreamResponse on a fasthttp answer: the same headers go,
// and the same Set-Cookie lines (fasthttp keeps each line as the upstream sent it and writes it
// out unchanged).
func cleanUpstreamResponseFast(rh *fasthttp.ResponseHeader) {
	// The headers upstreamOwnedHeaders names are gone already (forwardFast, presentOf).
	var lines []string
	for _, v := range rh.Cookies() {
		lines = append(lines, string(v))
	}
	if len(lines) == 0 {
		return
	}
	kept := WithoutConsoleSetCookie(lines)
	if len(kept) == len(lines) {
		return
	}
	rh.DelAllCookies()
	for _, l := range kept {
		rh.Add("Set-Cookie", l)
	}
}

// presentOf returns the names in lists that the answer has, in one pass over its headers (one
// Del per name would scan them all for each).
func presentOf(rh *fasthttp.ResponseHeader, lists ...[]string) []string {
	var out []string
	for k := range rh.All() {
		for _, l := range lists {
			for _, n := range l {
				if len(k) == len(n) && strings.EqualFold(b2s(k), n) {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// isHopHeader reports whether name is a hop-by-hop header (hopHeaders).
func isHopHeader(name string) bool {
	for _, n := range hopHeaders {
		if len(name) == len(n) && strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}
