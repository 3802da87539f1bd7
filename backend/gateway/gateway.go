// Package gateway is Keygate's authenticating reverse proxy: it finds the route for a request,
// checks the credential, strips it, adds identity headers and forwards to the upstream with
// httputil.ReverseProxy. It also answers CORS, limits rates, keeps the request log and counts
// metrics. Gateway is the http.Handler; Server runs it on a listener.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
)

// KeyVerifier is what the gateway needs from the key service.
type KeyVerifier interface {
	keys.Verifier
	RecordUse(keyID string, t time.Time)
}

var _ KeyVerifier = (*keys.Service)(nil)

// SessionVerifier checks a console session cookie presented to the gateway (the docs viewer's
// "try it" uses it). backend/auth implements it.
type SessionVerifier interface {
	VerifySession(ctx context.Context, token string) (SessionResult, error)
}

// SessionResult is the answer to VerifySession.
type SessionResult struct {
	// Code is keys.CodeValid, or why not: keys.CodeNotFound, keys.CodeExpired, keys.CodeRevoked.
	Code   keys.Code
	UserID string
	// OrgIDs are the organizations the user belongs to (for routes bound to one).
	OrgIDs []string
}

// RequestValidators prepares request validation for routes that ask for it (the route's
// ValidateRequests): backend/openapi checks requests against the upstream's document. The
// returned middleware answers an invalid request itself and passes the rest to next.
type RequestValidators interface {
	RequestValidator(ctx context.Context, r routes.Route) (func(next http.Handler) http.Handler, error)
}

// Defaults for Config's zero values.
const (
	DefaultListen            = "127.0.0.1:8787"
	DefaultMaxHeaderBytes    = 32 << 10
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultDrainTimeout      = 15 * time.Second
	DefaultFailedAuthLimit   = 30 // failed authentications per minute per client address
	DefaultRequestLogSize    = 2000
	DefaultRequestLogKeep    = 10_000
	DefaultPersistPerSecond  = 1000
	DefaultMaxUpstreamConns  = 1024
)

// Config configures a Gateway (and a Server). Store, Keys and Routes are required.
type Config struct {
	Store    *store.Store
	Keys     KeyVerifier
	Routes   *routes.Service
	Sessions SessionVerifier // nil: session cookies are not accepted
	// Validators serves routes with ValidateRequests; nil (or a document that fails to load)
	// forwards their requests unchecked, with a warning in the log.
	Validators RequestValidators
	Clock      clock.Clock  // for rate limits and log times; nil: the real clock
	Logger     *slog.Logger // nil: slog.Default()

	// Listen is the gateway's address (Server only); AllowRemote permits a non-loopback one.
	Listen      string
	AllowRemote bool

	// AllowedOrigins are admitted by CORS in addition to the stored setting (e.g. the console's
	// origins, the --allow-origin flags, the desktop window's origin).
	AllowedOrigins []string
	// UpstreamTimeout overrides the stored setting when positive.
	UpstreamTimeout time.Duration
	// TrustedProxies may set X-Forwarded-* (none by default).
	TrustedProxies []netip.Prefix
	// PublicURL is the gateway's URL as clients reach it (e.g. https://api.example.com), when
	// a proxy sits in front: it is what upstreams get in X-Forwarded-Host and -Proto, and on
	// loopback its host is answered besides the loopback names. Nil: no X-Forwarded-Host
	// unless a trusted proxy sent one.
	PublicURL *url.URL
	// FailedAuthLimit is the number of failed authentications per minute a client address may
	// make before it gets 429; 0 means DefaultFailedAuthLimit, negative turns the limit off.
	FailedAuthLimit int

	MaxHeaderBytes    int // whole request head, effective (Go's slack already subtracted)
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	DrainTimeout      time.Duration // how long Stop waits for in-flight requests

	RequestLogSize   int // entries kept in memory
	RequestLogKeep   int // rows kept in the request_log table; negative: do not persist
	PersistPerSecond int // entries persisted per second at most; the rest stay in memory only

	// MaxUpstreamConns caps the connections to one upstream host; requests beyond it wait for
	// a pooled connection instead of dialing (0: DefaultMaxUpstreamConns). Every connection
	// can go back to the pool, so an overload does not turn into a dial per request.
	MaxUpstreamConns int

	// Engine is the HTTP engine Server runs: EngineFastHTTP (the default) or EngineNetHTTP.
	Engine string
}

// The HTTP engines a Server can run (Config.Engine).
const (
	EngineFastHTTP = "fasthttp"
	EngineNetHTTP  = "nethttp"
)

func (c *Config) defaults() error {
	if c.Store == nil || c.Keys == nil || c.Routes == nil {
		return errors.New("gateway config needs a store, a key verifier and a route service")
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	switch c.Engine {
	case "":
		c.Engine = EngineFastHTTP
	case EngineFastHTTP, EngineNetHTTP:
	default:
		return fmt.Errorf("gateway engine %q: want %s or %s", c.Engine, EngineFastHTTP, EngineNetHTTP)
	}
	if c.FailedAuthLimit == 0 {
		c.FailedAuthLimit = DefaultFailedAuthLimit
	}
	setDefault(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.DrainTimeout, DefaultDrainTimeout)
	setDefault(&c.RequestLogSize, DefaultRequestLogSize)
	setDefault(&c.RequestLogKeep, DefaultRequestLogKeep)
	setDefault(&c.PersistPerSecond, DefaultPersistPerSecond)
	setDefault(&c.MaxUpstreamConns, DefaultMaxUpstreamConns)
	return nil
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

// Gateway is the proxy handler. Create it with New; it reads routes and settings at once and
// keeps them current while Run runs.
type Gateway struct {
	cfg        Config
	log        *slog.Logger
	snap       atomic.Pointer[snapshot]
	proxy      *httputil.ReverseProxy
	transport  *transportSwitch
	keyLimiter *Limiter[string]
	ipLimiter  *Limiter[netip.Addr]
	requests   *requestLog
	metrics    *metrics
	noRoute    *routeMetrics
	idPrefix   string
	idSeq      atomic.Uint64
	reloadMu   sync.Mutex
	validators map[string]validatorEntry // by route id, reused while the route is unchanged
	// hosts are the only Host values answered (nil: any); Server sets them for a loopback
	// listener (LoopbackHosts), against DNS rebinding.
	hosts     atomic.Pointer[[]string]
	upstreams *upstreams // the fasthttp engine's upstream pools
	base      atomic.Pointer[context.Context]
	slow      fasthttp.RequestHandler // the net/http path, for WebSocket upgrades and validation
}

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
}

type route struct {
	routes.Route
	target   *url.URL
	client   *fasthttp.HostClient // the fasthttp engine's pool for target
	metrics  *routeMetrics
	validate http.Handler // the proxy behind request validation, for routes that validate
}

// New returns a Gateway with routes and settings loaded from the store.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	prefix, err := ids.Random(10)
	if err != nil {
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	g := &Gateway{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "gateway"),
		keyLimiter: NewLimiter[string](1 << 20),
		ipLimiter:  NewLimiter[netip.Addr](100_000),
		requests:   newRequestLog(cfg.RequestLogSize),
		metrics:    newMetrics(),
		idPrefix:   prefix + "-",
		validators: map[string]validatorEntry{},
		upstreams:  newUpstreams(cfg.MaxUpstreamConns),
	}
	g.slow = fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(g.serveSlow))
	g.noRoute = g.metrics.forRoute("")
	g.metrics.skipped = func() uint64 {
		g.requests.mu.Lock()
		defer g.requests.mu.Unlock()
		return g.requests.skipped
	}
	if cs, ok := cfg.Keys.(interface{ CacheStats() (uint64, uint64) }); ok {
		g.metrics.cache = cs.CacheStats
	}
	g.transport = newTransportSwitch(routes.DefaultUpstreamTimeout, g.cfg.MaxUpstreamConns)
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      g.transport,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.upstreamError,
		BufferPool:     newBufferPool(256, 32<<10),
		ErrorLog:       slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	if err := g.Reload(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// Reload reads routes and settings from the store and swaps them in.
func (g *Gateway) Reload(ctx context.Context) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
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
			validate: g.validator(ctx, r)})
	}
	timeout := set.UpstreamTimeout
	if g.cfg.UpstreamTimeout > 0 {
		timeout = g.cfg.UpstreamTimeout
	}
	g.transport.setTimeout(timeout)
	g.snap.Store(&snapshot{
		rev:     rev,
		table:   routes.NewTable(prefixes, values),
		origins: NewOriginList(g.cfg.AllowedOrigins, set.AllowedOrigins),
		timeout: timeout,
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

// Run keeps the gateway in step with the store until ctx ends: it reloads routes and settings
// when the store's change feed reports a change (so a route added by the CLI or on another
// node is live within a second) and persists the request log. It persists one last time
// before returning.
func (g *Gateway) Run(ctx context.Context) error {
	changed, unsubscribe := g.followChanges()
	defer unsubscribe()
	flush := time.NewTicker(time.Second)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return g.persistLog(fctx)
		case <-changed:
			if err := g.Reload(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("reload routes", "err", err)
			}
		case <-flush.C:
			if err := g.persistLog(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("persist request log", "err", err)
			}
		}
	}
}

// followChanges is the gateway's one subscription to the store's change feed: a change to
// routes or settings, a change the feed cannot name (another process, on SQLite) and a lost or
// restored feed all ask Run to re-read routes and settings. The callback only signals: it runs
// on the feed's goroutine and must not block.
func (g *Gateway) followChanges() (changed <-chan struct{}, unsubscribe func()) {
	sig := make(chan struct{}, 1)
	unsubscribe = g.cfg.Store.Changes().Subscribe(func(c store.Change) {
		if c.Touches("routes", "settings") {
			select {
			case sig <- struct{}{}:
			default:
			}
		}
	})
	return sig, unsubscribe
}

func (g *Gateway) persistLog(ctx context.Context) error {
	if g.cfg.RequestLogKeep < 0 {
		g.requests.unpersisted(0)
		return nil
	}
	batch, _ := g.requests.unpersisted(g.cfg.PersistPerSecond)
	return persist(ctx, g.cfg.Store, batch, g.cfg.RequestLogKeep)
}

// AnswerHosts makes the gateway answer only requests whose Host is one of hosts (421
// UNKNOWN_HOST otherwise); nil answers every Host. Server calls it with LoopbackHosts of its
// listener.
func (g *Gateway) AnswerHosts(hosts []string) {
	if hosts == nil {
		g.hosts.Store(nil)
		return
	}
	g.hosts.Store(&hosts)
}

// Requests returns the latest entries of the in-memory request log, newest first.
func (g *Gateway) Requests(f Filter) []Entry { return g.requests.recent(f) }

// Metrics is the Prometheus text handler, for the console listener to mount at /metrics.
func (g *Gateway) Metrics() http.Handler { return g.metrics }

// UpstreamTimeout is the response-header timeout in force.
func (g *Gateway) UpstreamTimeout() time.Duration { return g.snap.Load().timeout }

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

	// The fasthttp engine's part of the state.
	in         inbound
	ridBuf     [1]string
	start      time.Time
	relay      *relay
	head       []byte // the raw request head, kept for the request log
	originOK   bool
	rate       Decision
	rated      bool
	retryAfter time.Duration
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

// statusWriter records the status; Unwrap lets http.ResponseController reach Flush and Hijack.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 || code == http.StatusSwitchingProtocols {
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
	g.metrics.inflight.Add(1)
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

	var origin string
	if o := r.Header["Origin"]; len(o) > 0 {
		origin = o[0]
	}
	originOK := snap.origins.Allows(origin)
	if isPreflight(r) {
		preflight(&st.rw, r, originOK)
		return
	}
	if originOK {
		h["Access-Control-Allow-Origin"] = []string{origin}
		h["Access-Control-Allow-Credentials"] = hdrTrue
		h["Access-Control-Expose-Headers"] = hdrExpose
	}
	st.client, st.trusted = clientAddr(r, g.cfg.TrustedProxies)
	if !CheckPath(r.URL.EscapedPath()) {
		g.reject(st, CodeInvalidPath)
		return
	}
	rt, _, ok := snap.table.Match(r.URL.Path)
	if !ok {
		g.reject(st, CodeNoRoute)
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
		if code := g.authenticate(st, r, rt, originOK); code != "" {
			g.reject(st, code)
			return
		}
	}
	if rt.MaxBodyBytes > 0 {
		if r.ContentLength > rt.MaxBodyBytes {
			g.reject(st, CodePayloadTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			st.body = &limitedBody{rc: r.Body, left: rt.MaxBodyBytes}
			r.Body = st.body
		}
	}
	if st.keyID != "" {
		g.cfg.Keys.RecordUse(st.keyID, g.cfg.Clock.Now())
	}
	if rt.validate != nil {
		rt.validate.ServeHTTP(&st.rw, r.WithContext(st))
		return
	}
	g.proxy.ServeHTTP(&st.rw, r.WithContext(st))
}

func (g *Gateway) reject(st *reqState, code Code) {
	st.code = code
	writeProblem(&st.rw, code)
}

// authenticate checks the credential; it returns the error code, or "" when the request may
// pass.
func (g *Gateway) authenticate(st *reqState, r *http.Request, rt *route, originOK bool) Code {
	now := g.cfg.Clock.Now()
	ipKey := limiterKey(st.client)
	if g.cfg.FailedAuthLimit > 0 {
		if blocked, wait := g.ipLimiter.Blocked(ipKey, g.cfg.FailedAuthLimit, time.Minute, now); blocked {
			setRetryAfter(st.rw.Header(), wait)
			return CodeRateLimited
		}
	}
	cred, err := ExtractCredential(r.Header, r.URL.RawQuery, CredentialSources{
		Cookie:     g.cfg.Sessions != nil && SessionAllowed(r.Header, r.Host, originOK, rt.ConsoleSession),
		QueryParam: rt.QueryKeyParam,
	})
	switch {
	case errors.Is(err, ErrNoCredential):
		return CodeMissingCredential
	case err != nil:
		g.failedAuth(ipKey, now)
		return CodeMalformed
	}
	st.cred = cred.Kind
	if cred.Kind == CredentialSession {
		return g.authenticateSession(st, rt, cred.Value, ipKey, now)
	}
	res, err := g.cfg.Keys.Verify(st, cred.Value)
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
		h := st.rw.Header()
		h["Ratelimit-Limit"] = []string{strconv.Itoa(d.Limit)}
		h["Ratelimit-Remaining"] = []string{strconv.Itoa(d.Remaining)}
		h["Ratelimit-Reset"] = []string{strconv.FormatInt(ceilSeconds(d.Reset), 10)}
		if !d.Allowed {
			setRetryAfter(h, d.RetryAfter)
			return CodeRateLimited
		}
	}
	return ""
}

func (g *Gateway) authenticateSession(st *reqState, rt *route, token string, ipKey netip.Addr, now time.Time) Code {
	res, err := g.cfg.Sessions.VerifySession(st, token)
	if err != nil {
		g.log.Error("verify session", "request_id", st.requestID[0], "err", err)
		return CodeInternal
	}
	if res.Code != keys.CodeValid || res.UserID == "" {
		g.failedAuth(ipKey, now)
		switch res.Code {
		case keys.CodeExpired, keys.CodeRevoked, keys.CodeMalformed:
			return Code(res.Code)
		}
		return CodeNotFound
	}
	st.userID = res.UserID
	// A session stands for a person, not an organization: one who belongs to none (taken out
	// of the last one, while the account and its session live on) has no API to call.
	if len(res.OrgIDs) == 0 {
		return CodeForbidden
	}
	if rt.OrgID != "" {
		member := false
		for _, o := range res.OrgIDs {
			member = member || o == rt.OrgID
		}
		if !member {
			return CodeForbidden
		}
	}
	return ""
}

func (g *Gateway) failedAuth(ipKey netip.Addr, now time.Time) {
	if g.cfg.FailedAuthLimit > 0 {
		g.ipLimiter.Take(ipKey, g.cfg.FailedAuthLimit, time.Minute, now)
	}
}

func setRetryAfter(h http.Header, d time.Duration) {
	h["Retry-After"] = []string{strconv.FormatInt(max(ceilSeconds(d), 1), 10)}
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// finish records the request in the metrics and the request log.
func (g *Gateway) finish(st *reqState, r *http.Request, start time.Time) {
	g.metrics.inflight.Add(-1)
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
	}
	if st.client.IsValid() {
		e.ClientAddr = st.client.String()
	}
	g.requests.add(&e)
	if g.log.Enabled(st.Context, slog.LevelDebug) {
		g.log.Debug("request", "request_id", e.RequestID, "method", e.Method, "path", e.Path, "status", status,
			"latency_us", e.LatencyUS, "route", label, "key_id", e.KeyID, "user_id", e.UserID, "code", e.ErrorCode)
	}
	if p != nil {
		panic(p)
	}
}

// rewrite builds the outbound request: upstream URL, credentials removed, spoofable headers
// removed, identity and forwarding headers set. ReverseProxy has already removed hop-by-hop
// headers, including any the client named in Connection, so nothing set here can be removed
// by a Connection header trick.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	st := stateOf(pr.In.Context())
	rt := st.route
	out := pr.Out
	if rt.StripPrefix && rt.Prefix != "/" {
		stripPrefix(out.URL, rt.Prefix)
	}
	if rt.QueryKeyParam != "" {
		out.URL.RawQuery = withoutQueryParam(out.URL.RawQuery, rt.QueryKeyParam)
	}
	pr.SetURL(rt.target)

	h := out.Header
	delete(h, "X-Api-Key")
	if av := h["Authorization"]; len(av) > 0 && (st.cred == CredentialBearer || carriesKey(av)) {
		delete(h, "Authorization")
	}
	if c := h["Cookie"]; len(c) > 0 {
		if rest := withoutSessionCookie(c); len(rest) > 0 {
			h["Cookie"] = rest
		} else {
			delete(h, "Cookie")
		}
	}
	for name := range h {
		if managedHeader(name, st.trusted) {
			delete(h, name)
		}
	}
	switch {
	case st.keyID != "":
		h["X-Keygate-Key-Id"] = []string{st.keyID}
		h["X-Keygate-Key-Name"] = []string{headerSafe(st.keyName)}
		h["X-Keygate-Org-Id"] = []string{st.orgID}
	case st.userID != "":
		h["X-Keygate-User-Id"] = []string{st.userID}
		if rt.OrgID != "" {
			h["X-Keygate-Org-Id"] = []string{rt.OrgID}
		}
	}
	h["X-Request-Id"] = st.requestID

	if st.trusted {
		if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
			h["X-Forwarded-For"] = []string{strings.Join(prior, ", ")}
		}
	}
	pr.SetXForwarded()
	// SetXForwarded copies the client's Host into X-Forwarded-Host: replace it with what the
	// operator configured or a trusted proxy said (ForwardedHost), or nothing.
	host, proto := ForwardedHost(g.cfg.PublicURL, st.trusted, pr.In.Header, pr.In.TLS != nil)
	if host != "" {
		h["X-Forwarded-Host"] = []string{host}
	} else {
		delete(h, "X-Forwarded-Host")
	}
	h["X-Forwarded-Proto"] = []string{proto}
}

// carriesKey reports whether an Authorization header holds a Bearer Keygate key (which must
// never reach the upstream even when another credential authenticated the request).
func carriesKey(vs []string) bool {
	for _, v := range vs {
		if t, ok := bearer(v); ok {
			if _, err := keys.Parse(t); err == nil {
				return true
			}
		}
	}
	return false
}

// managedHeader reports whether a client-supplied header must not reach the upstream because
// the gateway owns it: X-Keygate-*, X-Request-Id, any spelling of X-Api-Key (a key's place),
// and — unless the peer is a trusted proxy — X-Forwarded-*, Forwarded and X-Real-Ip. Names are
// compared with '_' read as '-', because many upstream frameworks (CGI, PHP, Django, …) read
// X_Keygate_Key_Id as X-Keygate-Key-Id.
func managedHeader(name string, trustedPeer bool) bool {
	if len(name) < 9 {
		return false
	}
	switch name[0] {
	case 'X', 'x', 'F', 'f':
	default:
		return false
	}
	n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	switch {
	case strings.HasPrefix(n, "x-keygate-"), n == "x-request-id", n == "x-api-key":
		return true
	case trustedPeer:
		// The proxy wrote these; still drop underscore variants, which no proxy sends.
		return strings.Contains(name, "_") && (strings.HasPrefix(n, "x-forwarded-") || n == "forwarded" || n == "x-real-ip")
	}
	return strings.HasPrefix(n, "x-forwarded-") || n == "forwarded" || n == "x-real-ip"
}

// headerSafe percent-encodes what may not travel raw in a header value (controls, non-ASCII
// and '%'), so any key name reaches the upstream intact and unambiguous.
func headerSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '%' {
			var b strings.Builder
			for j := 0; j < len(s); j++ {
				c := s[j]
				if c < 0x20 || c >= 0x7f || c == '%' {
					b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)>>4, 16)+strconv.FormatUint(uint64(c)&15, 16)))
				} else {
					b.WriteByte(c)
				}
			}
			return b.String()
		}
	}
	return s
}

// stripPrefix removes a route prefix from a URL path ("/api/x" → "/x", "/api" → "/").
func stripPrefix(u *url.URL, prefix string) {
	rest := strings.TrimPrefix(u.Path, prefix)
	if rest == "" {
		rest = "/"
	}
	u.Path = rest
	if u.RawPath != "" {
		if raw, ok := strings.CutPrefix(u.RawPath, prefix); ok {
			if raw == "" {
				raw = "/"
			}
			u.RawPath = raw
		} else {
			u.RawPath = ""
		}
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
	var b [40]byte
	n := copy(b[:], g.idPrefix)
	return string(strconv.AppendUint(b[:n], g.idSeq.Add(1), 36))
}

var errUnexpectedUpgrade = errors.New("upstream switched protocols without a WebSocket upgrade request")

// modifyResponse makes the gateway the one source of CORS and request-id headers and refuses
// any protocol switch other than a requested WebSocket upgrade.
func (g *Gateway) modifyResponse(res *http.Response) error {
	st := stateOf(res.Request.Context())
	if res.StatusCode == http.StatusSwitchingProtocols {
		if st == nil || !st.websocket {
			return errUnexpectedUpgrade
		}
		st.upgraded = true
	}
	CleanUpstreamResponse(res.Header)
	return nil
}

// upstreamError turns a failed round trip into a problem answer: 504 on a timeout, 502 when
// the upstream cannot be reached, 413 when the body ran over the route's limit, and nothing at
// all (logged as 499) when the client has gone.
func (g *Gateway) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	st := stateOf(r.Context())
	var code Code
	var ne net.Error
	var oe *net.OpError
	switch {
	case st != nil && st.body != nil && st.body.exceeded:
		code = CodePayloadTooLarge
	case r.Context().Err() != nil && !errors.Is(err, errUnexpectedUpgrade):
		g.metrics.upstream.clientClosed.Add(1)
		if st != nil {
			st.status, st.code = 499, CodeClientClosed
		}
		return
	case errors.As(err, &oe) && oe.Op == "dial":
		code = CodeUpstreamUnavailable
	case errors.As(err, &ne) && ne.Timeout():
		code = CodeUpstreamTimeout
	default:
		code = CodeUpstreamUnavailable
	}
	switch code {
	case CodeUpstreamTimeout:
		g.metrics.upstream.timeout.Add(1)
	case CodeUpstreamUnavailable:
		g.metrics.upstream.unavailable.Add(1)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL may carry the client's query string
	}
	attrs := []any{"code", code, "err", err}
	if st != nil {
		attrs = append(attrs, "request_id", st.requestID[0], "route", st.route.Prefix)
		st.code = code
	}
	g.log.Warn("upstream request failed", attrs...)
	writeProblem(w, code)
}

// limitedBody enforces a route's body limit on bodies without (or with a lying) length.
type limitedBody struct {
	rc       io.ReadCloser
	left     int64
	exceeded bool
}

var errBodyTooLarge = errors.New("request body too large")

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		b.exceeded = true
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		// The byte past the limit only detects the overflow: it is not handed on, so the
		// upstream never receives more than the limit.
		b.exceeded = true
		return n + int(b.left), errBodyTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// transportSwitch is the proxy's RoundTripper: a tuned http.Transport that is replaced when
// the upstream timeout setting changes (ResponseHeaderTimeout cannot change on a live one).
type transportSwitch struct {
	cur      atomic.Pointer[http.Transport]
	mu       sync.Mutex
	timeout  time.Duration
	maxConns int
}

func newTransportSwitch(timeout time.Duration, maxConns int) *transportSwitch {
	s := &transportSwitch{timeout: timeout, maxConns: maxConns}
	s.cur.Store(newTransport(timeout, maxConns))
	return s
}

func (s *transportSwitch) RoundTrip(r *http.Request) (*http.Response, error) {
	return s.cur.Load().RoundTrip(r)
}

func (s *transportSwitch) setTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d == s.timeout {
		return
	}
	s.timeout = d
	old := s.cur.Swap(newTransport(d, s.maxConns))
	// Idle connections close now; busy ones finish their request on the old transport.
	time.AfterFunc(time.Second, old.CloseIdleConnections)
	old.CloseIdleConnections()
}

// CloseIdleConnections closes the upstream connections not in use.
func (s *transportSwitch) CloseIdleConnections() { s.cur.Load().CloseIdleConnections() }

// newTransport is tuned for one process talking to a few upstreams a lot: a large keep-alive
// pool as big as the connection cap (so neither a steady load nor an overload dials per
// request), no compression games (bodies pass as they are), HTTP/1.1 (WebSocket upgrades need
// it), and never the environment's proxy settings.
func newTransport(timeout time.Duration, maxConns int) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		MaxIdleConns:           4 * maxConns,
		MaxIdleConnsPerHost:    maxConns,
		MaxConnsPerHost:        maxConns,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		ResponseHeaderTimeout:  timeout,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
		WriteBufferSize:        16 << 10,
		ReadBufferSize:         16 << 10,
	}
}

// bufferPool hands ReverseProxy its copy buffers from a bounded free list; a channel holds
// slices without the allocation sync.Pool would make to box each one.
type bufferPool struct {
	free chan []byte
	size int
}

var _ httputil.BufferPool = (*bufferPool)(nil)

func newBufferPool(n, size int) *bufferPool {
	return &bufferPool{free: make(chan []byte, n), size: size}
}

func (p *bufferPool) Get() []byte {
	select {
	case b := <-p.free:
		return b
	default:
		return make([]byte, p.size)
	}
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) != p.size {
		return
	}
	select {
	case p.free <- b[:p.size]:
	default:
	}
}
