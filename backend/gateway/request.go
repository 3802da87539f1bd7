package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/ratelimit"
	"github.com/keygate/keygate/backend/usage"
)

// reqState is one request's state. It is also the request's context (it embeds the parent),
// which lets Rewrite, ModifyResponse and the error handler find it without a second allocation.
type reqState struct {
	context.Context
	rw        statusWriter
	route     *route
	requestID []string
	client    netip.Addr
	trusted   bool
	cred      CredentialKind
	keyID     string
	keyName   string
	userID    string
	orgID     string
	code      Code
	status    int // overrides the written status (499)
	websocket bool
	upgraded  bool
	body      *limitedBody
	learn     *learnCapture // routes that learn only
	origin    string        // on the net/http engine: the Origin the answer's CORS headers name, "" for none

	// Scopes and the signed identity (scopes.go).
	key          *keys.Key     // the verified key
	scopeProblem *scopeProblem // the answer naming the missing scope (INSUFFICIENT_SCOPE)
	jwt          string        // the signed identity for the upstream (routes that send one)

	// The fasthttp engine's part of the state.
	in      inbound
	ridBuf  [1]string
	start   time.Time
	relay   *relay
	head    []byte // the raw request head (header lines), kept for the request log
	problem bool   // on a loop: the answer is code's prebuilt problem, which the loop writes (appendProblem)
	raw     []byte // on a loop: the whole head (request line, header lines), whose copy head is in
	// spare is the room after the copy of the head (requestIDMax bytes), where a generated
	// request id goes: one allocation for both, which the log keeps together.
	spare      []byte
	peer       netip.Addr
	originOK   bool
	rate       ratelimit.Decision
	rated      bool
	retryAfter time.Duration
	// quota is the key's remaining quota after this request, when quotaed (HeaderQuotaRemaining).
	quota   int64
	quotaed bool
	now     time.Time // when authenticate began: the key's use is recorded at that time
	// clientClose says the client asked to close the connection after this request.
	clientClose bool
	// loop says an event loop runs the request: nothing may wait (see verdictHandOver).
	loop bool
	// shard is the metrics' shard the request is counted in: 0, or its event loop's.
	shard int
	// kv is the loop's own view of the key cache (keys.Local), while loop is true.
	kv *keys.Local
	// authForeign is what loopCanForward found about the Authorization header (foreignAuth).
	authForeign int8
}

type stateKey struct{}

// Value returns the state itself for stateKey.
func (s *reqState) Value(k any) any {
	if k == (stateKey{}) {
		return s
	}
	return s.Context.Value(k)
}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// finish records the request in the metrics and the request log.
func (g *Gateway) finish(st *reqState, r *http.Request, start time.Time) {
	g.metrics.shards[st.shard].inflight.Add(-1)
	p := recover()
	status := st.rw.status
	switch {
	case st.status != 0:
		status = st.status
	case st.upgraded:
		status = http.StatusSwitchingProtocols
	case status == 0 && p != nil:
		status = 499
		if st.code == "" {
			st.code = CodeClientClosed
		}
	case status == 0:
		status = http.StatusOK
	}
	end := time.Now()
	lat := end.Sub(start)
	at := end.UTC()
	if !g.realClock {
		at = g.cfg.Clock.Now()
	}
	rm := g.noRoute
	var label string
	if st.route != nil {
		rm = st.route.metrics
		label = st.route.Prefix
	}
	rm.observe(st.shard, status, lat)
	e := Entry{
		Time:      at,
		RequestID: st.requestID[0],
		Method:    r.Method,
		Path:      r.URL.Path,
		Status:    status,
		LatencyUS: lat.Microseconds(),
		KeyID:     st.keyID,
		KeyName:   st.keyName,
		UserID:    st.userID,
		OrgID:     st.orgID,
		Route:     label,
		ErrorCode: string(st.code),
		raw:       r.Header,
		order:     sinceStart(end),
	}
	if st.client.IsValid() {
		e.ClientAddr = st.client.String()
	}
	g.requests.add(st.shard, &e)
	g.recordUsage(st, &e)
	if st.learn != nil && p == nil {
		g.observe(st, r, status)
	}
	if g.log.Enabled(st.Context, slog.LevelDebug) {
		id, path := g.loggedIDAndPath(st.Context, e.RequestID, e.Path)
		g.log.Debug("request", "request_id", id, "method", e.Method, "path", path, "status", status,
			"latency_us", e.LatencyUS, "route", label, "key_id", e.KeyID, "user_id", e.UserID, "code", e.ErrorCode)
	}
	if p != nil {
		panic(p)
	}
}

// recordUsage counts the request into the usage rollups (memory only).
func (g *Gateway) recordUsage(st *reqState, e *Entry) {
	if g.cfg.Usage != nil {
		g.cfg.Usage.Record(usage.Sample{At: e.Time, OrgID: e.OrgID, KeyID: e.KeyID, Route: e.Route,
			Status: e.Status, Code: string(st.code), LatencyUS: e.LatencyUS, Shard: st.shard})
	}
}

func validRequestID(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func (g *Gateway) newRequestID() string {
	var b [requestIDMax]byte
	return string(g.appendRequestID(b[:0], 0))
}

// requestIDMax bounds a generated request id (the prefix and a base-36 sequence number).
const requestIDMax = 40

// appendRequestID appends a new request id to dst, numbered in the metrics' shard (each shard
// has the numbers that leave it as remainder when divided by the number of shards).
func (g *Gateway) appendRequestID(dst []byte, shard int) []byte {
	n := g.metrics.shards[shard].ids.Add(1)*uint64(len(g.metrics.shards)) + uint64(shard)
	return strconv.AppendUint(append(dst, g.idPrefix...), n, 36)
}

// finishFast records the request in the metrics and the request log.
func (g *Gateway) finishFast(ctx *fasthttp.RequestCtx, st *reqState, start time.Time) {
	g.metrics.shards[st.shard].inflight.Add(-1)
	status := ctx.Response.StatusCode()
	if st.status != 0 {
		status = st.status
	}
	end := time.Now()
	lat := end.Sub(start)
	at := end.UTC()
	if !g.realClock {
		at = g.cfg.Clock.Now()
	}
	rm := g.noRoute
	var label string
	if st.route != nil {
		rm = st.route.metrics
		label = st.route.Prefix
	}
	rm.observe(st.shard, status, lat)
	e := Entry{
		Time:      at,
		RequestID: st.requestID[0],
		Method:    methodString(st.in.method),
		Path:      st.in.path, // in st's copy of the head (or new)
		Status:    status,
		LatencyUS: lat.Microseconds(),
		KeyID:     st.keyID,
		KeyName:   st.keyName,
		UserID:    st.userID,
		OrgID:     st.orgID,
		Route:     label,
		ErrorCode: string(st.code),
		rawHead:   st.head,
		order:     sinceStart(end),
	}
	e.clientIP = st.client // formatted when the entry is read
	g.requests.add(st.shard, &e)
	g.recordUsage(st, &e)
	if st.learn != nil {
		g.observeFast(st, status)
	}
	if g.log.Enabled(ctx, slog.LevelDebug) {
		d := e // (a copy for the line: e itself stays on the stack)
		debug := func() {
			id, path := g.loggedIDAndPath(context.Background(), d.RequestID, d.Path)
			g.log.Debug("request", "request_id", id, "method", d.Method, "path", path, "status", status,
				"latency_us", d.LatencyUS, "route", label, "key_id", d.KeyID, "user_id", d.UserID, "code", d.ErrorCode)
		}
		if st.loop {
			go debug() // the mask may look imported secrets up in the store: not on a loop
		} else {
			debug()
		}
	}
	releaseState(st)
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
