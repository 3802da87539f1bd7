package gateway

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// statusWriter records the status; Unwrap lets http.ResponseController reach Flush and Hijack.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	// interim says an upstream's interim answer (1xx other than 101) was dropped; ReverseProxy
	// empties the header map after each, so the gateway's own headers are set again
	// (setOwnHeaders) before the final answer or an error is written.
	interim bool
}

// WriteHeader writes the answer's head. An interim answer (100 Continue, 102, 103 Early
// Hints) the upstream sent is not passed on, as on the fasthttp engine and the event loops:
// the server answers an Expect itself, and an interim head would carry upstream headers that
// CleanUpstreamResponse never saw.
func (w *statusWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.interim = true
		return
	}
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP answers one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	snap := g.snap.Load()
	st := &reqState{Context: r.Context()}
	st.rw.ResponseWriter = w
	g.metrics.shards[0].inflight.Add(1)
	defer g.finish(st, r, start)

	h := w.Header()
	if id := r.Header["X-Request-Id"]; len(id) == 1 && validRequestID(id[0]) {
		st.requestID = id
	} else {
		st.requestID = []string{g.newRequestID()}
	}
	h["X-Request-Id"] = st.requestID
	h["Vary"] = hdrVaryOrigin
	if hosts := g.hosts.Load(); hosts != nil && !HostAllowed(r.Host, *hosts) {
		g.reject(st, CodeUnknownHost)
		return
	}

	if o := r.Header["Origin"]; len(o) > 0 {
		st.origin = o[0]
	}
	originOK := snap.origins.Allows(st.origin)
	if isPreflight(r) {
		preflight(&st.rw, r, originOK)
		return
	}
	if !originOK {
		st.origin = ""
	}
	setCORS(h, st.origin)
	st.client, st.trusted = clientAddr(r, g.cfg.TrustedProxies)
	if !CheckPath(r.URL.EscapedPath()) {
		g.reject(st, CodeInvalidPath)
		return
	}
	if g.serveJWKS(st, r) {
		return
	}
	rt, _, ok := snap.table.Match(r.URL.Path)
	if !ok {
		g.reject(st, CodeNoRoute)
		return
	}
	if snap.looseRoute(rt, r.URL.Path) != nil {
		g.reject(st, CodeAmbiguousPath)
		return
	}
	st.route = rt
	st.orgID = rt.OrgID

	// Only WebSocket upgrades pass. Any other (h2c, …) is dropped here, so the request is
	// served as plain HTTP/1.1 and the upstream never sees it; ModifyResponse refuses a 101 the
	// gateway did not ask for.
	if up := r.Header["Upgrade"]; len(up) > 0 {
		if len(up) == 1 && strings.EqualFold(strings.TrimSpace(up[0]), "websocket") && r.Method == http.MethodGet {
			st.websocket = true
		} else {
			delete(r.Header, "Upgrade")
			delete(r.Header, "Http2-Settings")
		}
	}

	if rt.AuthRequired {
		code := g.authenticate(st, rt, presented{apiKey: r.Header["X-Api-Key"], authorization: r.Header["Authorization"],
			cookie: r.Header["Cookie"], rawQuery: r.URL.RawQuery, method: r.Method, path: r.URL.Path,
			methodOverrides: methodOverrides(r.Header, st.trusted), std: r, sessionOK: g.cfg.Sessions != nil && SessionAllowed(r.Header, r.Host, originOK, rt.ConsoleSession)})
		setRateHeaders(h, st)
		if code != "" {
			if code == CodePayloadTooLarge || code == CodeMalformedRequest {
				h["Connection"] = hdrClose // a body read in part (formMethods): the rest is not read
			}
			g.reject(st, code)
			return
		}
	}
	if rt.MaxBodyBytes > 0 && r.ContentLength > rt.MaxBodyBytes {
		g.reject(st, CodePayloadTooLarge)
		return
	}
	if st.keyID != "" {
		g.cfg.Keys.RecordUse(st.keyID, st.now)
	}
	if rt.IdentityJWT && !g.signIdentity(st, rt) {
		g.reject(st, CodeInternal)
		return
	}
	if st.websocket || rt.validate != nil {
		// As on the fast engine (readSlowBody): a body that is checked, or that would precede
		// a tunnel, is read whole first, up to the route's limit (slowBodyCap without one),
		// so that the upstream never sees a request the gateway then refuses: more is 413, a
		// broken body 400, and the connection closes (the rest of the body is not read).
		if _, code := readWholeBody(r, rt.MaxBodyBytes); code != "" {
			h["Connection"] = hdrClose
			g.reject(st, code)
			return
		}
	} else if rt.MaxBodyBytes > 0 && r.Body != nil && r.Body != http.NoBody {
		st.body = &limitedBody{rc: r.Body, left: rt.MaxBodyBytes}
		r.Body = st.body
	}
	if g.learns(rt) {
		startLearning(st, r)
	}
	if rt.validate != nil {
		rt.validate.ServeHTTP(&st.rw, r.WithContext(st))
		return
	}
	g.proxy.ServeHTTP(&st.rw, r.WithContext(st))
}

var hdrClose = []string{"close"}

// setCORS adds the CORS headers of an actual (not preflight) answer to an allowed origin; ""
// is none.
func setCORS(h http.Header, origin string) {
	if origin != "" {
		h["Access-Control-Allow-Origin"] = []string{origin}
		h["Access-Control-Allow-Credentials"] = hdrTrue
		h["Access-Control-Expose-Headers"] = hdrExpose
	}
}

// setOwnHeaders sets again what ServeHTTP put on the answer before forwarding: the request
// id, Vary, CORS and the rate-limit headers. ReverseProxy clears the header map after an
// interim answer (statusWriter.interim).
func setOwnHeaders(h http.Header, st *reqState) {
	h["X-Request-Id"] = st.requestID
	h["Vary"] = hdrVaryOrigin
	setCORS(h, st.origin)
	setRateHeaders(h, st)
}

// readWholeBody replaces r's body with its bytes, read whole, at most limit (slowBodyCap when
// limit is 0), and returns them: a longer body is CodePayloadTooLarge, one that cannot be read
// CodeMalformedRequest; nothing of either is kept. The upstream gets the body with its length.
func readWholeBody(r *http.Request, limit int64) ([]byte, Code) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, ""
	}
	if limit <= 0 {
		limit = slowBodyCap
	}
	if r.ContentLength > limit {
		return nil, CodePayloadTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	switch {
	case err != nil:
		return nil, CodeMalformedRequest
	case int64(len(b)) > limit:
		return nil, CodePayloadTooLarge
	}
	r.Body.Close()
	r.ContentLength, r.TransferEncoding = int64(len(b)), nil
	if len(b) == 0 {
		r.Body = http.NoBody
	} else {
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return b, ""
}

// ownRequest replaces r's method, target, host and header strings with copies of their own.
func ownRequest(r *http.Request) {
	r.Method = strings.Clone(r.Method)
	r.Proto = strings.Clone(r.Proto)
	r.Host = strings.Clone(r.Host)
	r.RequestURI = strings.Clone(r.RequestURI)
	if r.URL != nil {
		u := *r.URL
		u.Scheme, u.Opaque, u.Host = strings.Clone(u.Scheme), strings.Clone(u.Opaque), strings.Clone(u.Host)
		u.Path, u.RawPath, u.RawQuery = strings.Clone(u.Path), strings.Clone(u.RawPath), strings.Clone(u.RawQuery)
		u.Fragment, u.RawFragment = strings.Clone(u.Fragment), strings.Clone(u.RawFragment)
		if pw, ok := u.User.Password(); ok {
			u.User = url.UserPassword(strings.Clone(u.User.Username()), strings.Clone(pw))
		} else if u.User != nil {
			u.User = url.User(strings.Clone(u.User.Username()))
		}
		r.URL = &u
	}
	h := make(http.Header, len(r.Header))
	for k, vs := range r.Header {
		cp := make([]string, len(vs))
		for i, v := range vs {
			cp[i] = strings.Clone(v)
		}
		h[strings.Clone(k)] = cp
	}
	r.Header = h
}

func (g *Gateway) reject(st *reqState, code Code) {
	st.code = code
	if code == CodeInsufficientScope && st.scopeProblem != nil {
		writeScopeProblem(&st.rw, st.scopeProblem)
		return
	}
	writeProblem(&st.rw, code)
}

// serveSlow is the net/http path behind fasthttpadaptor: the request has passed the fast
// engine's checks (st); the ReverseProxy forwarder tunnels a WebSocket upgrade or runs the
// route's request validator before forwarding.
func (g *Gateway) serveSlow(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r.Context())
	st.rw.ResponseWriter = w
	// fasthttpadaptor's strings point into the RequestCtx, which fasthttp reuses; the request
	// log and the learner keep them past this request, so they are copied first.
	ownRequest(r)
	defer g.finish(st, r, st.start)
	h := w.Header()
	h["X-Request-Id"] = st.requestID
	h["Vary"] = hdrVaryOrigin
	if st.originOK {
		h["Access-Control-Allow-Origin"] = []string{st.in.origin}
		h["Access-Control-Allow-Credentials"] = hdrTrue
		h["Access-Control-Expose-Headers"] = hdrExpose
	}
	setRateHeaders(h, st)
	if !st.websocket {
		delete(r.Header, "Upgrade")
		delete(r.Header, "Http2-Settings")
	}
	rt := st.route
	if rt.MaxBodyBytes > 0 && r.Body != nil && r.Body != http.NoBody {
		st.body = &limitedBody{rc: r.Body, left: rt.MaxBodyBytes}
		r.Body = st.body
	}
	if !st.websocket && g.learns(rt) {
		startLearning(st, r)
	}
	if rt.validate != nil {
		rt.validate.ServeHTTP(&st.rw, r.WithContext(st))
		return
	}
	g.proxy.ServeHTTP(&st.rw, r.WithContext(st))
}
