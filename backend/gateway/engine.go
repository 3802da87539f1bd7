package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/keygate/keygate/backend/problem"
)

// The fasthttp engine. Its hot path — route match, credential check against the in-memory
// cache, header rewrite, forward over a pooled upstream connection, answer, request-log
// enqueue and metrics — works on fasthttp's request and response in place and allocates a few
// small objects per request. Two kinds of request take the slower net/http path through
// fasthttpadaptor and the ReverseProxy forwarder after the same checks: WebSocket upgrades
// (which need a tunnel) and routes with request validation (whose validator is a net/http
// middleware).

// FastHandler returns the gateway as a fasthttp handler.
func (g *Gateway) FastHandler() fasthttp.RequestHandler { return g.serveFast }

func (g *Gateway) serveFast(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	g.metrics.inflight.Add(1)
	snap := g.snap.Load()
	// The state is the context of the key and session lookups and of the net/http path, which
	// may hold it in goroutines after the request: so it is not pooled, and its parent is the
	// server's base context, never the RequestCtx (which fasthttp reuses).
	st := &reqState{Context: g.baseContext()}
	in := &st.in
	peer := peerOf(ctx)
	st.client, st.trusted = peer, false
	if len(g.cfg.TrustedProxies) > 0 && trusted(g.cfg.TrustedProxies, peer) {
		st.trusted = true
	}
	h := &ctx.Request.Header
	clientClose := h.ConnectionClose()
	// One copy of the head: the request log keeps it, and every string parsed from it stays
	// valid however the request is rewritten afterwards.
	st.head = append([]byte(nil), h.RawHeaders()...)
	st.requestID = st.ridBuf[:1]
	if err := in.parseHead(h.Method(), h.RequestURI(), h.Protocol(), st.head, st.trusted); err != nil {
		st.ridBuf[0] = g.newRequestID()
		g.answerFast(ctx, st, snap, CodeMalformedRequest)
		// Where this request ends is in doubt, so nothing after it is read.
		ctx.SetConnectionClose()
		g.finishFast(ctx, st, start)
		return
	}
	if st.trusted {
		st.client = clientFromXFF(in.xff, g.cfg.TrustedProxies, peer)
	}
	if len(in.requestID) == 1 && validRequestID(in.requestID[0]) {
		st.ridBuf[0] = in.requestID[0]
	} else {
		st.ridBuf[0] = g.newRequestID()
	}
	if hosts := g.hosts.Load(); hosts != nil && !HostAllowed(in.host, *hosts) {
		g.answerFast(ctx, st, snap, CodeUnknownHost)
		g.finishFast(ctx, st, start)
		return
	}
	st.originOK = snap.origins.Allows(in.origin)
	if in.method == http.MethodOptions && in.origin != "" && in.acrMethod != "" {
		g.preflightFast(ctx, st)
		g.finishFast(ctx, st, start)
		return
	}
	if in.badEscape || !CheckPath(in.rawPath) {
		g.answerFast(ctx, st, snap, CodeInvalidPath)
		g.finishFast(ctx, st, start)
		return
	}
	rt, _, ok := snap.table.Match(in.path)
	if !ok {
		g.answerFast(ctx, st, snap, CodeNoRoute)
		g.finishFast(ctx, st, start)
		return
	}
	st.route, st.orgID = rt, rt.OrgID
	if len(in.upgrade) > 0 {
		st.websocket = len(in.upgrade) == 1 && strings.EqualFold(strings.TrimSpace(in.upgrade[0]), "websocket") &&
			in.method == http.MethodGet
	}
	if rt.AuthRequired {
		if code := g.authenticateFast(st, rt); code != "" {
			g.answerFast(ctx, st, snap, code)
			g.finishFast(ctx, st, start)
			return
		}
	}
	if rt.MaxBodyBytes > 0 && in.contentLength > rt.MaxBodyBytes {
		g.answerFast(ctx, st, snap, CodePayloadTooLarge)
		g.finishFast(ctx, st, start)
		return
	}
	if st.keyID != "" {
		g.cfg.Keys.RecordUse(st.keyID, g.cfg.Clock.Now())
	}
	if st.websocket || rt.validate != nil {
		// The slower path: the net/http forwarder, which finishes the request itself.
		st.start = start
		ctx.SetUserValue(stateKey{}, st)
		g.slow(ctx)
		return
	}
	g.forwardFast(ctx, st, snap, rt, clientClose)
	if st.relay == nil {
		g.finishFast(ctx, st, start)
	} else {
		st.start = start
	}
}

// peerOf is the TCP peer's address.
func peerOf(ctx *fasthttp.RequestCtx) netip.Addr {
	if ta, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

// clientFromXFF is clientAddr's rule for a trusted peer: the rightmost X-Forwarded-For address
// that is not itself a trusted proxy.
func clientFromXFF(xff []string, proxies []netip.Prefix, peer netip.Addr) netip.Addr {
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer
			}
			a = a.Unmap()
			if !trusted(proxies, a) {
				return a
			}
		}
	}
	return peer
}

// authenticateFast checks the credential of a fast-path request; "" means it may pass.
func (g *Gateway) authenticateFast(st *reqState, rt *route) Code {
	in := &st.in
	now := g.cfg.Clock.Now()
	ipKey := limiterKey(st.client)
	if g.cfg.FailedAuthLimit > 0 {
		if blocked, wait := g.ipLimiter.Blocked(ipKey, g.cfg.FailedAuthLimit, time.Minute, now); blocked {
			st.retryAfter = wait
			return CodeRateLimited
		}
	}
	cred, err := extractCredential(in.apiKey, in.authorization, in.cookie, in.rawQuery, CredentialSources{
		Cookie: g.cfg.Sessions != nil && len(in.cookie) > 0 &&
			SessionAllowed(in.sessionHeaders(), in.host, st.originOK, rt.ConsoleSession),
		QueryParam: rt.QueryKeyParam,
	})
	switch {
	case err == ErrNoCredential:
		return CodeMissingCredential
	case err != nil:
		g.failedAuth(ipKey, now)
		return CodeMalformed
	}
	st.cred = cred.Kind
	if cred.Kind == CredentialSession {
		return g.authenticateSession(st, rt, strings.Clone(cred.Value), ipKey, now)
	}
	res, err := g.cfg.Keys.Verify(st, strings.Clone(cred.Value))
	if err != nil {
		g.log.Error("verify key", "request_id", st.requestID[0], "err", err)
		return CodeInternal
	}
	if res.Key != nil {
		st.keyID, st.keyName, st.orgID = res.Key.ID, res.Key.Name, res.Key.OrgID
	}
	if !res.Valid {
		g.failedAuth(ipKey, now)
		return Code(res.Code)
	}
	k := res.Key
	if rt.OrgID != "" && k.OrgID != rt.OrgID {
		return CodeForbidden
	}
	if k.RateLimit > 0 {
		d := g.keyLimiter.Take(k.ID, k.RateLimit, k.RateWindow, now)
		st.rate, st.rated = d, true
		if !d.Allowed {
			st.retryAfter = d.RetryAfter
			return CodeRateLimited
		}
	}
	return ""
}

// sessionHeaders are the request headers SessionAllowed reads.
func (in *inbound) sessionHeaders() http.Header {
	h := make(http.Header, 2)
	if in.hasOrigin {
		h["Origin"] = []string{in.origin}
	}
	if len(in.secFetchSite) > 0 {
		h["Sec-Fetch-Site"] = in.secFetchSite
	}
	return h
}

// commonHeaders sets what every answer carries: the request id, Vary: Origin, CORS for an
// allowed origin and the rate-limit state.
func commonHeaders(rh *fasthttp.ResponseHeader, st *reqState) {
	rh.Set("X-Request-Id", st.requestID[0])
	rh.Add("Vary", "Origin")
	rh.Del("Access-Control-Allow-Origin")
	rh.Del("Access-Control-Allow-Credentials")
	rh.Del("Access-Control-Expose-Headers")
	if st.originOK {
		rh.Set("Access-Control-Allow-Origin", st.in.origin)
		rh.Set("Access-Control-Allow-Credentials", "true")
		rh.Set("Access-Control-Expose-Headers", hdrExpose[0])
	}
	if st.rated {
		rh.Set("Ratelimit-Limit", strconv.Itoa(st.rate.Limit))
		rh.Set("Ratelimit-Remaining", strconv.Itoa(st.rate.Remaining))
		rh.Set("Ratelimit-Reset", strconv.FormatInt(ceilSeconds(st.rate.Reset), 10))
	}
	if st.retryAfter > 0 {
		rh.Set("Retry-After", strconv.FormatInt(max(ceilSeconds(st.retryAfter), 1), 10))
	}
}

// answerFast answers with the problem for code.
func (g *Gateway) answerFast(ctx *fasthttp.RequestCtx, st *reqState, _ *snapshot, code Code) {
	st.code = code
	resp := &ctx.Response
	resp.Reset()
	writeProblemFast(resp, code)
	commonHeaders(&resp.Header, st)
	if st.in.contentLength > 0 || st.in.chunked {
		lingerClose(ctx)
	}
}

// lingerClose ends the connection of a request answered before its body was read: once the
// answer is written the gateway stops sending and reads (and drops) what the client still
// sends for a moment, so that the client reads the answer rather than a connection reset — as
// net/http does. The connection is not reused: where the unread body ends is not worth finding.
func lingerClose(ctx *fasthttp.RequestCtx) {
	// Not ctx.SetConnectionClose: fasthttp closes such a connection at once, before a hijack
	// handler could linger; the handler below closes it instead.
	raw := ctx.Conn()
	ctx.Hijack(func(c net.Conn) {
		if cw, ok := raw.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		c.SetReadDeadline(time.Now().Add(lingerFor))
		io.Copy(io.Discard, io.LimitReader(c, lingerMaxBytes))
		c.Close()
	})
}

// How long and how much lingerClose reads after an early answer.
const (
	lingerFor      = 2 * time.Second
	lingerMaxBytes = 16 << 20
)

func (g *Gateway) preflightFast(ctx *fasthttp.RequestCtx, st *reqState) {
	rh := &ctx.Response.Header
	if !st.originOK {
		st.code = CodeOriginNotAllowed
		writeProblemFast(&ctx.Response, CodeOriginNotAllowed)
		rh.Set("X-Request-Id", st.requestID[0])
		rh.Set("Vary", hdrVaryPreflight[0])
		return
	}
	rh.Set("X-Request-Id", st.requestID[0])
	rh.Set("Vary", hdrVaryPreflight[0])
	rh.Set("Access-Control-Allow-Origin", st.in.origin)
	rh.Set("Access-Control-Allow-Credentials", "true")
	rh.Set("Access-Control-Allow-Methods", hdrAllowMethods[0])
	rh.Set("Access-Control-Allow-Headers", allowedHeaders(st.in.acrHeaders))
	rh.Set("Access-Control-Max-Age", hdrMaxAge[0])
	ctx.SetStatusCode(http.StatusNoContent)
}

// hopHeaders are removed from what is forwarded in either direction (RFC 9110 §7.6.1), with
// any header the Connection header names.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Http2-Settings", "Expect"}

// forwardFast rewrites the request in place and forwards it; the answer is left in
// ctx.Response (or st.relay streams its body).
func (g *Gateway) forwardFast(ctx *fasthttp.RequestCtx, st *reqState, snap *snapshot, rt *route, clientClose bool) {
	in := &st.in
	req := &ctx.Request
	h := &req.Header
	// Work out what is needed from the head before it changes.
	uri := upstreamURI(rt, in)
	var xff string
	if st.trusted && len(in.xff) > 0 {
		xff = strings.Join(in.xff, ", ") + ", "
	}
	var forwarded http.Header
	if st.trusted && (len(in.xfHost) > 0 || len(in.xfProto) > 0) {
		forwarded = http.Header{"X-Forwarded-Host": in.xfHost, "X-Forwarded-Proto": in.xfProto}
	}
	xfHost, xfProto := ForwardedHost(g.cfg.PublicURL, st.trusted, forwarded, false)
	var cookies []string
	if len(in.cookie) > 0 {
		cookies = withoutSessionCookie(in.cookie)
	}
	dropAuth := len(in.authorization) > 0 && (st.cred == CredentialBearer || carriesKey(in.authorization))
	var named []string
	for _, c := range in.connection {
		for _, f := range strings.Split(c, ",") {
			if f = strings.TrimSpace(f); f != "" {
				named = append(named, f)
			}
		}
	}
	// The strings above point into st.head (or are new), never into the request's buffer,
	// which the edits below may reuse; the target is the exception.
	uri = strings.Clone(uri)

	for _, n := range named {
		if !isEndToEndRequired(n) {
			h.Del(n)
		}
	}
	for _, n := range hopHeaders {
		h.Del(n)
	}
	h.ResetConnectionClose()
	h.Del("X-Api-Key")
	for _, n := range in.managed {
		h.Del(n)
	}
	if dropAuth {
		h.Del("Authorization")
	}
	if len(in.cookie) > 0 {
		h.DelAllCookies()
		h.Del("Cookie")
		for _, c := range cookies {
			h.Add("Cookie", c)
		}
	}
	switch {
	case st.keyID != "":
		h.Set("X-Keygate-Key-Id", st.keyID)
		h.Set("X-Keygate-Key-Name", headerSafe(st.keyName))
		h.Set("X-Keygate-Org-Id", st.orgID)
	case st.userID != "":
		h.Set("X-Keygate-User-Id", st.userID)
		if rt.OrgID != "" {
			h.Set("X-Keygate-Org-Id", rt.OrgID)
		}
	}
	h.Set("X-Request-Id", st.requestID[0])
	if st.client.IsValid() || st.trusted {
		h.Set("X-Forwarded-For", xff+peerOf(ctx).String())
	}
	if xfHost != "" {
		h.Set("X-Forwarded-Host", xfHost)
	} else {
		h.Del("X-Forwarded-Host")
	}
	h.Set("X-Forwarded-Proto", xfProto)
	h.SetHost(rt.target.Host)
	req.SetRequestURI(uri) // on the request: it also drops the URI fasthttp parsed

	if rt.MaxBodyBytes > 0 && req.IsBodyStream() && in.contentLength < 0 {
		st.body = &limitedBody{rc: nopCloser{req.BodyStream()}, left: rt.MaxBodyBytes}
		req.SetBodyStream(st.body, -1)
	}

	replayable := !req.IsBodyStream() && (in.method == http.MethodGet || in.method == http.MethodHead ||
		in.method == http.MethodOptions || in.method == http.MethodPut || in.method == http.MethodDelete)
	resp := &ctx.Response
	resp.Reset()
	rl, err := exchange(rt.client, ctx, req, resp, snap.timeout, replayable)
	if err != nil {
		g.upstreamFailed(ctx, st, snap, err)
		return
	}
	rh := &resp.Header
	for _, n := range connectionNamed(rh) {
		rh.Del(n)
	}
	for _, n := range hopHeaders {
		rh.Del(n)
	}
	rh.ResetConnectionClose()
	if clientClose {
		rh.SetConnectionClose()
	}
	cleanUpstreamResponseFast(rh)
	commonHeaders(rh, st)
	if rl != nil {
		st.relay = rl
		rl.done = func(r *relay, werr error) { g.relayDone(ctx, st, r, werr) }
		resp.SetBodyStream(rl, rl.length)
	}
}

// isEndToEndRequired keeps a Connection-named header that the gateway itself sets: naming
// X-Keygate-Key-Id in Connection must not remove the identity header the gateway adds later.
func isEndToEndRequired(string) bool { return false }

type nopCloser struct {
	r interface{ Read([]byte) (int, error) }
}

func (n nopCloser) Read(p []byte) (int, error) { return n.r.Read(p) }
func (nopCloser) Close() error                 { return nil }

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

// upstreamURI is the request target sent upstream: the route's upstream path joined with the
// request path (prefix stripped when the route says so), and the query without the key
// parameter — what ReverseProxy's SetURL and the net/http path's rewrite produce.
func upstreamURI(rt *route, in *inbound) string {
	p := in.rawPath
	if rt.StripPrefix && rt.Prefix != "/" {
		if rest, ok := strings.CutPrefix(p, rt.Prefix); ok {
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

// finishFast records the request in the metrics and the request log.
func (g *Gateway) finishFast(ctx *fasthttp.RequestCtx, st *reqState, start time.Time) {
	g.metrics.inflight.Add(-1)
	status := ctx.Response.StatusCode()
	if st.status != 0 {
		status = st.status
	}
	lat := time.Since(start)
	rm := g.noRoute
	var label string
	if st.route != nil {
		rm = st.route.metrics
		label = st.route.Prefix
	}
	rm.observe(status, lat)
	e := Entry{
		Time:      g.cfg.Clock.Now(),
		RequestID: st.requestID[0],
		Method:    methodString(st.in.method),
		Path:      strings.Clone(st.in.path),
		Status:    status,
		LatencyUS: lat.Microseconds(),
		KeyID:     st.keyID,
		KeyName:   st.keyName,
		UserID:    st.userID,
		OrgID:     st.orgID,
		Route:     label,
		ErrorCode: string(st.code),
		rawHead:   st.head,
	}
	if st.client.IsValid() {
		e.ClientAddr = st.client.String()
	}
	g.requests.add(&e)
	if g.log.Enabled(ctx, slog.LevelDebug) {
		g.log.Debug("request", "request_id", e.RequestID, "method", e.Method, "path", e.Path, "status", status,
			"latency_us", e.LatencyUS, "route", label, "key_id", e.KeyID, "user_id", e.UserID, "code", e.ErrorCode)
	}
}

// methodString returns a constant for the common methods, so that the log does not keep a
// copy of each.
func methodString(m string) string {
	switch m {
	case "GET":
		return http.MethodGet
	case "POST":
		return http.MethodPost
	case "PUT":
		return http.MethodPut
	case "DELETE":
		return http.MethodDelete
	case "PATCH":
		return http.MethodPatch
	case "HEAD":
		return http.MethodHead
	case "OPTIONS":
		return http.MethodOptions
	}
	return strings.Clone(m)
}

// writeProblemFast answers with the prebuilt problem for code.
func writeProblemFast(resp *fasthttp.Response, code Code) {
	p := problems[code]
	resp.SetStatusCode(p.Problem.Status)
	resp.Header.SetContentType(problem.ContentType)
	resp.Header.Set("X-Content-Type-Options", "nosniff")
	resp.Header.Set("Cache-Control", "no-store")
	if p.Problem.Status == http.StatusUnauthorized {
		resp.Header.Set("Www-Authenticate", hdrAuthenticate[0])
	}
	resp.SetBodyRaw(p.Body)
}

// serveSlow is the net/http path behind fasthttpadaptor: the request has passed the fast
// engine's checks (st); the ReverseProxy forwarder tunnels a WebSocket upgrade or runs the
// route's request validator before forwarding.
func (g *Gateway) serveSlow(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r.Context())
	st.rw.ResponseWriter = w
	defer g.finish(st, r, st.start)
	h := w.Header()
	h["X-Request-Id"] = st.requestID
	h["Vary"] = hdrVaryOrigin
	if st.originOK {
		h["Access-Control-Allow-Origin"] = []string{st.in.origin}
		h["Access-Control-Allow-Credentials"] = hdrTrue
		h["Access-Control-Expose-Headers"] = hdrExpose
	}
	if st.rated {
		h["Ratelimit-Limit"] = []string{strconv.Itoa(st.rate.Limit)}
		h["Ratelimit-Remaining"] = []string{strconv.Itoa(st.rate.Remaining)}
		h["Ratelimit-Reset"] = []string{strconv.FormatInt(ceilSeconds(st.rate.Reset), 10)}
	}
	if !st.websocket {
		delete(r.Header, "Upgrade")
		delete(r.Header, "Http2-Settings")
	}
	rt := st.route
	if rt.MaxBodyBytes > 0 && r.Body != nil && r.Body != http.NoBody {
		st.body = &limitedBody{rc: r.Body, left: rt.MaxBodyBytes}
		r.Body = st.body
	}
	if rt.validate != nil {
		rt.validate.ServeHTTP(&st.rw, r.WithContext(st))
		return
	}
	g.proxy.ServeHTTP(&st.rw, r.WithContext(st))
}

// baseContext is the parent of every fast-path request's context: the running Server's, which
// ends once it has drained (closing WebSocket tunnels), or the background.
func (g *Gateway) baseContext() context.Context {
	if c := g.base.Load(); c != nil {
		return *c
	}
	return context.Background()
}

// cleanUpstreamResponseFast is CleanUpstreamResponse on a fasthttp answer: the same headers go,
// and the same Set-Cookie lines (fasthttp keeps each line as the upstream sent it and writes it
// out unchanged).
func cleanUpstreamResponseFast(rh *fasthttp.ResponseHeader) {
	for _, n := range upstreamOwnedHeaders {
		rh.Del(n)
	}
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
