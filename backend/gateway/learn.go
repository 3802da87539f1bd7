package gateway

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/keygate/keygate/backend/learn"
)

// Learner takes the exchanges of routes that learn (routes.Route.Learn). Observe must return at
// once — the request is still being answered — so an implementation queues and drops rather
// than waits; *learn.Learner does. When it also has Run(ctx) error, Gateway.Run runs it.
type Learner interface {
	Observe(learn.Observation)
}

var _ Learner = (*learn.Learner)(nil)

// A learning route hands the learner a burst of learnBurst exchanges, then learnPerSecond a
// second: enough to learn an API (the shapes of a thousand exchanges say what more would), and
// under load the other exchanges cost the request path one atomic load, not a copy of their
// bodies and a shaping on a shared core.
const (
	learnPerSecond = 200
	learnBurst     = 1000
	learnInterval  = int64(time.Second) / learnPerSecond
)

// learnGate is a lock-free GCRA over the exchanges of one route.
type learnGate struct{ tat atomic.Int64 }

func (g *learnGate) admit(now int64) bool {
	for {
		old := g.tat.Load()
		tat := max(old, now)
		if tat-now > learnBurst*learnInterval {
			return false
		}
		if g.tat.CompareAndSwap(old, tat+learnInterval) {
			return true
		}
	}
}

// learns reports whether this exchange of rt goes to the learner.
func (g *Gateway) learns(rt *route) bool {
	return rt.Learn && g.cfg.Learner != nil && rt.learn.admit(time.Now().UnixNano())
}

// learnCapture is what a learning route's request keeps for its observation: the JSON bodies'
// first learn.MaxBody bytes (other bodies are not copied) and the upstream's status and type.
type learnCapture struct {
	req, resp *captureBody
	status    int // the upstream's status; 0 when no answer came from the upstream
	respType  string
	// Taken from the request by the fasthttp engine, whose request does not outlive the
	// exchange (net/http's observe reads them from the request).
	method, path, query string
	reqType             string
	names               []string
	reqHasBody          bool
}

// captureBody copies the first learn.MaxBody bytes that pass through a body.
type captureBody struct {
	rc        io.ReadCloser
	buf       []byte
	truncated bool
}

func (c *captureBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	if n > 0 {
		c.keep(p[:n])
	}
	return n, err
}

// keep copies what fits of b.
func (c *captureBody) keep(b []byte) {
	if c.truncated {
		return
	}
	room := learn.MaxBody - len(c.buf)
	if len(b) <= room {
		c.buf = append(c.buf, b...)
		return
	}
	c.buf = append(c.buf, b[:room]...)
	c.truncated = true
}

func (c *captureBody) Close() error { return c.rc.Close() }

func (c *captureBody) bytes() ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	return c.buf, c.truncated
}

// startLearning prepares a learning route's request: its JSON body is copied as it streams
// to the upstream (after the body limit, so only what passes is seen).
func startLearning(st *reqState, r *http.Request) {
	lc := &learnCapture{}
	if r.Body != nil && r.Body != http.NoBody && learn.WantsBody(r.Header.Get("Content-Type")) {
		lc.req = &captureBody{rc: r.Body}
		r.Body = lc.req
	}
	st.learn = lc
}

// learnResponse notes the upstream's answer and copies its JSON body as it streams to the
// client. Encoded bodies (gzip, …) are not copied: their bytes are not JSON.
func learnResponse(lc *learnCapture, res *http.Response) {
	lc.status = res.StatusCode
	lc.respType = res.Header.Get("Content-Type")
	enc := res.Header.Get("Content-Encoding")
	if res.Body != nil && res.Body != http.NoBody && learn.WantsBody(lc.respType) && (enc == "" || enc == "identity") {
		lc.resp = &captureBody{rc: res.Body}
		res.Body = lc.resp
	}
}

// observe hands a finished exchange to the learner; status is what the client got (499 and
// answers the gateway gave itself are not the upstream's and are not learned from).
func (g *Gateway) observe(st *reqState, r *http.Request, status int) {
	lc := st.learn
	if lc.status == 0 || status == 499 || st.route == nil {
		return
	}
	rt := st.route
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	query := r.URL.RawQuery
	if rt.QueryKeyParam != "" {
		query = withoutQueryParam(query, rt.QueryKeyParam)
	}
	ob := learn.Observation{
		RouteID:        rt.ID,
		Method:         r.Method,
		Path:           learn.UpstreamPath(r.URL.Path, rt.Prefix, rt.StripPrefix),
		RawQuery:       query,
		HeaderNames:    names,
		RequestType:    r.Header.Get("Content-Type"),
		ResponseType:   lc.respType,
		RequestHasBody: r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody,
		Status:         lc.status,
	}
	ob.RequestBody, ob.RequestTruncated = lc.req.bytes()
	ob.ResponseBody, ob.ResponseTruncated = lc.resp.bytes()
	g.cfg.Learner.Observe(ob)
}

// The fasthttp engine's side of the hook.

// learnRequestFast notes a learning route's request just before it is forwarded: its header
// names, type and JSON body (copied, since fasthttp reuses its buffers; a streamed body is
// copied as it streams).
func learnRequestFast(lc *learnCapture, st *reqState, req *fasthttp.Request) {
	h := &req.Header
	lc.reqType = string(h.ContentType())
	h.VisitAll(func(k, _ []byte) { lc.names = append(lc.names, string(k)) })
	lc.reqHasBody = st.in.contentLength > 0 || st.in.chunked
	if learn.WantsBody(lc.reqType) {
		if req.IsBodyStream() {
			lc.req = &captureBody{rc: nopCloser{req.BodyStream()}}
			req.SetBodyStream(lc.req, h.ContentLength())
		} else if b := req.Body(); len(b) > 0 {
			lc.req = &captureBody{}
			lc.req.keep(b)
		}
	}
}

// learnResponseFast notes the upstream's answer; it returns the body stream to relay, which
// copies a streamed JSON body as it passes.
func learnResponseFast(lc *learnCapture, resp *fasthttp.Response, rl *relay) fasthttp.ReadCloserWithError {
	c := learnAnswer(lc, resp.StatusCode(), b2s(resp.Header.ContentType()), b2s(resp.Header.Peek("Content-Encoding")))
	switch {
	case rl == nil:
		if c != nil {
			c.keep(resp.Body())
		}
		return nil
	case c == nil:
		return rl
	}
	return &capturedRelay{relay: rl, capture: c}
}

// learnAnswer notes the upstream's answer (status, Content-Type, Content-Encoding); it returns
// where to copy the body as it passes, or nil when it is not kept.
func learnAnswer(lc *learnCapture, status int, ctype, enc string) *captureBody {
	lc.status = status
	lc.respType = strings.Clone(ctype)
	if !learn.WantsBody(lc.respType) || enc != "" && enc != "identity" {
		return nil
	}
	lc.resp = &captureBody{}
	return lc.resp
}

// capturedRelay is a streamed answer whose first learn.MaxBody bytes are copied for learning.
type capturedRelay struct {
	*relay
	capture *captureBody
}

func (c *capturedRelay) Read(p []byte) (int, error) {
	n, err := c.relay.Read(p)
	if n > 0 {
		c.capture.keep(p[:n])
	}
	return n, err
}

// observeFast hands a finished exchange of the fasthttp engine to the learner.
func (g *Gateway) observeFast(st *reqState, status int) {
	lc := st.learn
	if lc.status == 0 || status == 499 || st.route == nil {
		return
	}
	rt := st.route
	query := lc.query
	if rt.QueryKeyParam != "" {
		query = withoutQueryParam(query, rt.QueryKeyParam)
	}
	ob := learn.Observation{
		RouteID:        rt.ID,
		Method:         lc.method,
		Path:           learn.UpstreamPath(lc.path, rt.Prefix, rt.StripPrefix),
		RawQuery:       query,
		HeaderNames:    lc.names,
		RequestType:    lc.reqType,
		ResponseType:   lc.respType,
		RequestHasBody: lc.reqHasBody,
		Status:         lc.status,
	}
	ob.RequestBody, ob.RequestTruncated = lc.req.bytes()
	ob.ResponseBody, ob.ResponseTruncated = lc.resp.bytes()
	g.cfg.Learner.Observe(ob)
}
