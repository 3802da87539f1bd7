package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/keygate/keygate/backend/identity"
)

// fastserve.go is the fasthttp engine's handler. Its hot path — route match, credential check against the in-memory
// cache, header rewrite, forward over a pooled upstream connection, answer, request-log
// enqueue and metrics — works on fasthttp's request and response in place and allocates a few
// small objects per request. Two kinds of request take the slower net/http path through
// fasthttpadaptor and the ReverseProxy forwarder after the same checks: WebSocket upgrades
// (which need a tunnel) and routes with request validation (whose validator is a net/http
// middleware).

// FastHandler returns the gateway as a fasthttp handler.
func (g *Gateway) FastHandler() fasthttp.RequestHandler { return g.serveFast }

func (g *Gateway) serveFast(ctx *fasthttp.RequestCtx) {
	st, snap := g.startFast(ctx, 0)
	switch g.beginFast(ctx, st, snap) {
	case verdictAnswered:
		g.finishFast(ctx, st, st.start)
	case verdictSlow:
		// The slower path: the net/http forwarder, which finishes the request itself.
		// fasthttpadaptor reads a streamed body whole into memory, so it is read here first,
		// up to the route's limit (slowBodyCap without one): more is 413, a broken body 400.
		if ctx.Request.IsBodyStream() {
			if code := readSlowBody(ctx, st.route.MaxBodyBytes); code != "" {
				g.answerFast(ctx, st, snap, code)
				ctx.SetConnectionClose()
				g.finishFast(ctx, st, st.start)
				return
			}
		}
		// That path holds the state in goroutines of its own (the request's context): it never
		// goes back to the pool.
		ctx.SetUserValue(stateKey{}, st)
		g.slow(ctx)
	case verdictForward:
		g.forwardFast(ctx, st, snap, st.route, st.clientClose)
		if st.relay == nil {
			g.finishFast(ctx, st, st.start)
		} // else relayDone finishes once the server has written the streamed body
	}
}

// verdict is what beginFast decided about a request.
type verdict uint8

const (
	// verdictAnswered: the answer is in ctx.Response; finishFast is left to do.
	verdictAnswered verdict = iota
	// verdictForward: the request passed its checks and goes to the route's upstream.
	verdictForward
	// verdictSlow: a WebSocket upgrade or a validated route, for the net/http path.
	verdictSlow
	// verdictHandOver (event loops only, st.loop): the request needs what a loop does not do —
	// the slow path, a TLS upstream, learning. Nothing has been counted or taken for it; the loop
	// hands the connection, from this request on, to the fasthttp server.
	verdictHandOver
	// verdictOffload (event loops only): the credential's check needs the store (a key not in
	// the cache, a session, a quota counted in the store). Nothing has been counted or taken
	// for it; the loop runs the request's checks again off the loop, where they may wait.
	verdictOffload
)

// startFast takes a request state for ctx and counts the request in flight, in shard (of the
// metrics: 0, or the event loop's).
func (g *Gateway) startFast(ctx *fasthttp.RequestCtx, shard int) (*reqState, *snapshot) {
	start := time.Now()
	g.metrics.shards[shard].inflight.Add(1)
	// The state's context is the server's base context, never the RequestCtx (which fasthttp
	// reuses). It comes from a pool and goes back in finishFast, except on the net/http path.
	st := acquireState(g.baseContext())
	st.start, st.shard = start, shard
	return st, g.snap.Load()
}

// abandonFast undoes startFast for a request a loop hands over.
func (g *Gateway) abandonFast(st *reqState) {
	g.metrics.shards[st.shard].inflight.Add(-1)
	releaseState(st)
}

// beginFast runs a request's checks — head, host, CORS preflight, path, route, credential,
// limits, body size, identity — and says what comes next. Every answer it gives is left in
// ctx.Response with st.code set.
func (g *Gateway) beginFast(ctx *fasthttp.RequestCtx, st *reqState, snap *snapshot) verdict {
	h := &ctx.Request.Header
	g.setPeer(st, peerOf(ctx))
	st.clientClose = h.ConnectionClose()
	// One copy of the head: the request log keeps it, and every string parsed from it stays
	// valid however the request is rewritten afterwards.
	// The target goes in the same copy, in front: the path and query are kept by the log and
	// the rewrite edits the request's own buffer.
	uri, raw := h.RequestURI(), h.RawHeaders()
	buf := make([]byte, 0, len(uri)+len(raw)+requestIDMax)
	buf = append(append(buf, uri...), raw...)
	st.head, st.spare = buf[len(uri):], buf[len(buf):]
	if err := st.in.parseHead(h.Method(), buf[:len(uri)], h.Protocol(), st.head, st.trusted); err != nil {
		st.requestID = st.ridBuf[:1]
		st.ridBuf[0] = g.newRequestID()
		g.answerFast(ctx, st, snap, CodeMalformedRequest)
		// Where this request ends is in doubt, so nothing after it is read.
		ctx.SetConnectionClose()
		return verdictAnswered
	}
	g.headParsed(st)
	return g.checkFast(ctx, st, snap)
}

// setPeer notes the TCP peer of the request, and whether it is a trusted proxy.
func (g *Gateway) setPeer(st *reqState, peer netip.Addr) {
	st.client, st.peer, st.trusted = peer, peer, false
	if len(g.cfg.TrustedProxies) > 0 && trusted(g.cfg.TrustedProxies, peer) {
		st.trusted = true
	}
}

// headParsed completes the reading of a head that parsed (st.in): the client behind a trusted
// proxy, and the request's id (the client's, when it sent a valid one).
func (g *Gateway) headParsed(st *reqState) {
	in := &st.in
	if st.trusted {
		st.client = clientFromXFF(in.xff, g.cfg.TrustedProxies, st.peer)
	}
	st.requestID = st.ridBuf[:1]
	if len(in.requestID) == 1 && validRequestID(in.requestID[0]) {
		st.ridBuf[0] = in.requestID[0]
	} else {
		st.ridBuf[0] = b2s(g.appendRequestID(st.spare[:0], st.shard)) // (never written again)
	}
}

// checkFast runs the checks of a request whose head is read (headParsed), from the host on; see
// beginFast.
func (g *Gateway) checkFast(ctx *fasthttp.RequestCtx, st *reqState, snap *snapshot) verdict {
	in := &st.in
	if hosts := g.hosts.Load(); hosts != nil && !HostAllowed(in.host, *hosts) {
		g.answerFast(ctx, st, snap, CodeUnknownHost)
		return verdictAnswered
	}
	st.originOK = snap.origins.Allows(in.origin)
	if in.method == http.MethodOptions && in.origin != "" && in.acrMethod != "" {
		g.preflightFast(ctx, st)
		return verdictAnswered
	}
	if in.badEscape || !CheckPath(in.rawPath) {
		g.answerFast(ctx, st, snap, CodeInvalidPath)
		return verdictAnswered
	}
	if st.loop && st.in.path == identity.JWKSPath && g.cfg.Identity != nil &&
		(in.method == http.MethodGet || in.method == http.MethodHead) { // (what serveJWKSFast answers)
		return verdictOffload // the key set may be read from the store
	}
	if g.serveJWKSFast(ctx, st, snap) {
		return verdictAnswered
	}
	rt, _, ok := snap.table.Match(in.path)
	if !ok {
		g.answerFast(ctx, st, snap, CodeNoRoute)
		return verdictAnswered
	}
	if snap.looseRoute(rt, in.path) != nil {
		g.answerFast(ctx, st, snap, CodeAmbiguousPath)
		return verdictAnswered
	}
	st.route, st.orgID = rt, rt.OrgID
	if len(in.upgrade) > 0 {
		st.websocket = len(in.upgrade) == 1 && strings.EqualFold(strings.TrimSpace(in.upgrade[0]), "websocket") &&
			in.method == http.MethodGet
	}
	if st.loop && !g.loopCanForward(st, rt) {
		return verdictHandOver
	}
	if st.loop && (rt.AuthRequired && !g.limiterLocal || rt.IdentityJWT && g.cfg.Identity != nil && !g.identityOnLoop()) {
		// The limits are counted elsewhere (Redis), or the signed identity needs its signing
		// keys from the store: the checks run off the loop.
		return verdictOffload
	}
	if rt.AuthRequired {
		code := g.authenticate(st, rt, presented{apiKey: in.apiKey, authorization: in.authorization, cookie: in.cookie,
			rawQuery: in.rawQuery, method: in.method, path: in.path, rawPath: in.rawPath, methodOverrides: in.methodOverride,
			contentType: in.contentType, fast: ctx, sessionOK: g.cfg.Sessions != nil && len(in.cookie) > 0 &&
				SessionAllowed(in.sessionHeaders(), in.host, st.originOK, rt.ConsoleSession)})
		if code == codeHandOver {
			return verdictOffload
		}
		if code != "" {
			g.answerFast(ctx, st, snap, code)
			if code == CodeMalformedRequest {
				ctx.SetConnectionClose() // a body read in part (formMethods): the rest is not read
			}
			return verdictAnswered
		}
	}
	if rt.MaxBodyBytes > 0 && in.contentLength > rt.MaxBodyBytes {
		g.answerFast(ctx, st, snap, CodePayloadTooLarge)
		return verdictAnswered
	}
	if st.keyID != "" {
		if st.loop && st.kv != nil {
			st.kv.RecordUse(st.keyID, st.now) // (the loop's own shard of the counts)
		} else {
			g.cfg.Keys.RecordUse(st.keyID, st.now)
		}
	}
	if rt.IdentityJWT && !g.signIdentity(st, rt) {
		g.answerFast(ctx, st, snap, CodeInternal)
		return verdictAnswered
	}
	if st.websocket || rt.validate != nil {
		return verdictSlow
	}
	return verdictForward
}

// statePool holds the fast path's request states (over a kilobyte each, mostly the parsed
// head): a state is taken per request and put back by finishFast once the request is logged.
// Nothing keeps a state past that: the lookups get its plain context (st.Context), the log
// entry copies what it shows, and the request head it points into is a fresh copy per
// request. Only the net/http path, which hands the state to goroutines through the request's
// context, keeps its state (it never reaches finishFast).
var statePool = sync.Pool{New: func() any { return new(reqState) }}

func acquireState(base context.Context) *reqState {
	st := statePool.Get().(*reqState)
	st.Context = base
	return st
}

func releaseState(st *reqState) {
	*st = reqState{}
	statePool.Put(st)
}

// slowBodyCap bounds a request body the net/http path buffers for a route without a body limit.
const slowBodyCap = 8 << 20

// readSlowBody reads a streamed request body into the request, at most limit bytes
// (slowBodyCap when limit is 0), and gives it its length in place of chunked encoding: a
// longer body is CodePayloadTooLarge, a body that cannot be read CodeMalformedRequest; nothing
// of either is kept.
func readSlowBody(ctx *fasthttp.RequestCtx, limit int64) Code {
	if limit <= 0 {
		limit = slowBodyCap
	}
	if n := ctx.Request.Header.ContentLength(); n > 0 && int64(n) > limit {
		return CodePayloadTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(ctx.RequestBodyStream(), limit+1))
	if err != nil {
		return CodeMalformedRequest
	}
	if int64(len(b)) > limit {
		return CodePayloadTooLarge
	}
	// The trailer came with the body: it is dropped before the length replaces the chunked
	// framing, which would move it into the head (dropTrailers).
	dropTrailers(&ctx.Request.Header)
	ctx.Request.SetBody(b)
	// Held whole, the body goes on with its length: some upstreams refuse a chunked request.
	ctx.Request.Header.SetContentLength(len(b))
	return ""
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

// commonHeaders sets what every answer carries (answerHeaders).
func commonHeaders(rh *fasthttp.ResponseHeader, st *reqState) {
	var num answerNumbers
	hs, n := answerHeaders(st, &num)
	for _, hv := range hs[:n] {
		if hv.added {
			rh.AddBytesKV(hv.name, s2b(hv.value))
		} else {
			rh.SetCanonical(hv.name, s2b(hv.value))
		}
	}
}

// answerNumbers is room for the numbers of answerHeaders' values.
type answerNumbers [5][20]byte

// answerHeaders are the headers the gateway puts on every answer, its own or an upstream's:
// the request id, Vary: Origin, CORS for an allowed origin, the rate-limit and quota state and
// Retry-After. Each replaces an upstream's header of its name, but Vary, which is added to the
// upstream's (added). Numbers are formatted into num.
func answerHeaders(st *reqState, num *answerNumbers) (hs [10]headerValue, n int) {
	set := func(name []byte, value string) { hs[n] = headerValue{name: name, value: value}; n++ }
	k := 0 // numbers formatted
	number := func(name []byte, v int64) { set(name, b2s(strconv.AppendInt(num[k][:0], v, 10))); k++ }
	set(hnRequestID, st.requestID[0])
	hs[n] = headerValue{name: hnVary, value: "Origin", added: true}
	n++
	if st.originOK {
		set(hnAllowOrigin, st.in.origin)
		set(hnAllowCredentials, "true")
		set(hnExposeHeaders, hdrExpose[0])
	}
	if st.rated {
		number(hnRateLimitLimit, int64(st.rate.Limit))
		number(hnRateLimitRemaining, int64(st.rate.Remaining))
		number(hnRateLimitReset, ceilSeconds(st.rate.Reset))
	}
	if st.quotaed {
		number(hnQuotaRemaining, st.quota)
	}
	if st.retryAfter > 0 {
		number(hnRetryAfter, max(ceilSeconds(st.retryAfter), 1))
	}
	return hs, n
}

// Header names every answer may carry, in canonical form: SetCanonical takes them as they are,
// where Set would copy and normalize the name each time.
var (
	hnRequestID          = []byte("X-Request-Id")
	hnAllowOrigin        = []byte("Access-Control-Allow-Origin")
	hnAllowCredentials   = []byte("Access-Control-Allow-Credentials")
	hnExposeHeaders      = []byte("Access-Control-Expose-Headers")
	hnContentTypeOpts    = []byte("X-Content-Type-Options")
	hnCacheControl       = []byte("Cache-Control")
	hnWWWAuthenticate    = []byte("Www-Authenticate")
	hnVary               = []byte("Vary")
	hnRateLimitLimit     = []byte("Ratelimit-Limit")
	hnRateLimitRemaining = []byte("Ratelimit-Remaining")
	hnRateLimitReset     = []byte("Ratelimit-Reset")
	hnQuotaRemaining     = []byte(HeaderQuotaRemaining)
	hnRetryAfter         = []byte("Retry-After")
)

// setCanonical sets a header whose name is canonical already (fasthttp copies the value).
func setCanonical(rh *fasthttp.ResponseHeader, name []byte, value string) {
	rh.SetCanonical(name, s2b(value))
}

// answerFast answers with the problem for code.
func (g *Gateway) answerFast(ctx *fasthttp.RequestCtx, st *reqState, _ *snapshot, code Code) {
	st.code = code
	resp := &ctx.Response
	resp.Reset()
	if st.loop && !(code == CodeInsufficientScope && st.scopeProblem != nil) {
		// The loop writes the prebuilt problem itself (appendProblem); a loop's request body
		// is whole in memory, with nothing left to drain.
		st.problem = true
		resp.SetStatusCode(problems[code].Problem.Status)
		return
	}
	st.problem = false
	if code == CodeInsufficientScope && st.scopeProblem != nil {
		writeScopeProblemFast(resp, st.scopeProblem)
	} else {
		writeProblemFast(resp, code)
	}
	commonHeaders(&resp.Header, st)
	// An ambiguous head's body is not read: where it ends is what is in doubt.
	if (st.in.contentLength > 0 || st.in.chunked) && code != CodeMalformedRequest {
		drainBody(ctx, st)
	}
}

// drainBody reads and drops what is left of a request body the gateway answered without
// forwarding (401, 413, …), for a moment and up to a bound, so that the client, which may still
// be sending, reads the answer rather than a connection reset — net/http does the same. A body
// not read to its end within the bounds closes the connection after the answer.
func drainBody(ctx *fasthttp.RequestCtx, st *reqState) {
	var r io.Reader
	switch {
	case st.body != nil:
		r = st.body.rc // under the route's limit reader, which has stopped
	case ctx.Request.IsBodyStream():
		r = ctx.Request.BodyStream()
	default:
		return // read whole already
	}
	c := ctx.Conn()
	c.SetReadDeadline(time.Now().Add(drainFor))
	n, err := io.Copy(io.Discard, io.LimitReader(r, drainMaxBytes))
	c.SetReadDeadline(time.Time{})
	if err != nil || n == drainMaxBytes {
		ctx.SetConnectionClose()
	}
}

// How long and how much drainBody reads.
const (
	drainFor      = 2 * time.Second
	drainMaxBytes = 16 << 20
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

// baseContext is the parent of every fast-path request's context: the running Server's, which
// ends once it has drained (closing WebSocket tunnels), or the background.
func (g *Gateway) baseContext() context.Context {
	if c := g.base.Load(); c != nil {
		return *c
	}
	return context.Background()
}
