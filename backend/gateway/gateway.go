// Package gateway is Keygate's authenticating reverse proxy: it finds the route for a request,
// checks the credential, strips it, adds identity headers and forwards to the upstream. It also
// answers CORS, limits rates, keeps the request log and counts metrics.
//
// Two HTTP engines share every check (routing, authentication, the header rules, problem
// answers, the log and metrics): Server runs the fasthttp one (fastserve.go, fastforward.go,
// upstream.go), whose hot path reads only memory and allocates little; the net/http one
// (stdserve.go, stdforward.go, transport.go, with httputil.ReverseProxy) serves WebSocket
// upgrades and request validation for it, Gateway as an http.Handler, and a Server whose
// Config.Engine asks for it. The files follow the jobs: gateway.go (configuration and life
// cycle), routing.go, auth.go and credential.go, request.go (per-request state, the log entry),
// headers.go, cookies.go, path.go, hosts.go, session.go (header and path rules), problem.go
// (error answers), server.go (listeners).
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/ratelimit"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/usage"
)

// KeyVerifier is what the gateway needs from the key service.
type KeyVerifier interface {
	keys.Verifier
	RecordUse(keyID string, t time.Time)
	// TakeQuota uses one request of a verified key's quota (see keys.Service.TakeQuota).
	TakeQuota(ctx context.Context, k *keys.Key, now time.Time) (keys.QuotaTake, error)
}

var _ KeyVerifier = (*keys.Service)(nil)

// UsageRecorder is what the gateway needs from the usage rollups: Record is called once per
// answered request, on the request path, and must only count in memory.
type UsageRecorder interface {
	Record(usage.Sample)
}

var _ UsageRecorder = (*usage.Recorder)(nil)

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

	// Learner receives the exchanges of routes that learn; nil: no route learns.
	Learner Learner
	// Identity signs the X-Keygate-Jwt of routes that send one and serves
	// /.well-known/jwks.json; nil: neither (such routes forward without the header).
	Identity IdentitySigner
	// Usage counts every answered request into the per-minute usage rollups (usage.Recorder);
	// nil: none are kept. Run runs it when it has a Run method.
	Usage UsageRecorder

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
	// Limiter counts the per-key limits and the failed authentications per client address;
	// nil: an in-process ratelimit.Memory. Give the same one to the login limit (auth) and
	// every node shares one view (a Redis implementation does that across processes).
	Limiter ratelimit.Limiter
	// FailedAuthLimit is the number of failed authentications per minute a client address may
	// make before it gets 429; 0 means DefaultFailedAuthLimit, negative turns the limit off.
	FailedAuthLimit int

	MaxHeaderBytes    int // whole request head, effective (Go's slack already subtracted)
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	DrainTimeout      time.Duration // how long Stop waits for in-flight requests

	// RequestLogSize is how many of the latest entries are kept in memory for the console (each
	// event loop keeps as many of its own, so that the loops share no lock).
	RequestLogSize int
	// RequestLogKeep caps the rows kept in the request_log table below the retention setting
	// (audit.Retention: 90 days and 100,000 rows unless changed); 0: the setting alone;
	// negative: do not persist.
	RequestLogKeep   int
	PersistPerSecond int // entries persisted per second at most; the rest stay in memory only

	// MaxUpstreamConns caps the connections to one upstream host; requests beyond it wait for
	// a pooled connection instead of dialing (0: DefaultMaxUpstreamConns). Every connection
	// can go back to the pool, so an overload does not turn into a dial per request.
	MaxUpstreamConns int

	// Engine is the HTTP engine Server runs: EngineLoop (the default on Linux with limits
	// counted in this process), EngineFastHTTP (the default otherwise) or EngineNetHTTP.
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
	if c.Limiter == nil {
		c.Limiter = ratelimit.NewMemory(1 << 20)
	}
	switch c.Engine {
	case "":
		// The event loops pay off when a request's checks are answered from memory; with
		// limits counted elsewhere (Redis) every authenticated request would leave them.
		c.Engine = EngineFastHTTP
		if _, local := c.Limiter.(*ratelimit.Memory); local && loopSupported {
			c.Engine = EngineLoop
		}
	case EngineLoop:
		if !loopSupported {
			return fmt.Errorf("gateway engine %q is not available on %s", c.Engine, runtime.GOOS)
		}
	case EngineFastHTTP, EngineNetHTTP:
	default:
		return fmt.Errorf("gateway engine %q: want %s, %s or %s", c.Engine, EngineLoop, EngineFastHTTP, EngineNetHTTP)
	}
	if c.FailedAuthLimit == 0 {
		c.FailedAuthLimit = DefaultFailedAuthLimit
	}
	setDefault(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.DrainTimeout, DefaultDrainTimeout)
	setDefault(&c.RequestLogSize, DefaultRequestLogSize)
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
	listenURL  listenURL // the running Server's URL, the identity's issuer without a PublicURL
	proxy      *httputil.ReverseProxy
	transport  *transportSwitch
	limiter    ratelimit.Limiter
	requests   *requestLog
	metrics    *metrics
	noRoute    *routeMetrics
	idPrefix   string
	reloadMu   sync.Mutex
	validators map[string]validatorEntry // by route id, reused while the route is unchanged
	// retention is the log retention setting, read by persistLog (Run's goroutine only).
	retention      audit.Retention
	retentionAt    time.Time
	retentionStale atomic.Bool // set by Reload: settings may have changed
	// hosts are the only Host values answered (nil: any); Server sets them for a loopback
	// listener (LoopbackHosts), against DNS rebinding.
	hosts     atomic.Pointer[[]string]
	upstreams *upstreams // the fasthttp engine's upstream pools
	// followers are woken after each persist that wrote rows (FollowLog); while there are any,
	// the log is persisted every PersistFollowedEvery instead of every second.
	followMu    sync.Mutex
	followers   map[chan struct{}]struct{}
	followed    atomic.Int32
	lastPersist time.Time // Run's goroutine only
	base        atomic.Pointer[context.Context]
	slow        fasthttp.RequestHandler // the net/http path, for WebSocket upgrades and validation
	// realClock says cfg.Clock is the real clock: a log entry's time is then the end of the
	// request the latency was measured with (one clock reading instead of two).
	realClock bool
	// limiterLocal says the limits are counted in this process (an event loop may take them).
	limiterLocal bool
	// remasked says no row written before logMask is left (Run's goroutine only).
	remasked bool
	// mask is what every log of request text goes through (Config.Keys when it finds
	// imported secrets).
	mask logMask
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
		cfg:          cfg,
		log:          cfg.Logger.With("component", "gateway"),
		limiter:      cfg.Limiter,
		limiterLocal: isMemoryLimiter(cfg.Limiter),
		metrics:      newMetrics(),
		idPrefix:     prefix + "-",
		validators:   map[string]validatorEntry{},
		retention:    audit.DefaultRetention,
		upstreams:    newUpstreams(handedConns(&cfg)),
	}
	g.slow = fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(g.serveSlow))
	_, g.realClock = cfg.Clock.(clock.Real)
	if f, ok := cfg.Keys.(SecretFinder); ok {
		g.mask = logMask{f}
	}
	g.requests = newRequestLog(cfg.RequestLogSize, len(g.metrics.shards))
	g.noRoute = g.metrics.forRoute("")
	g.metrics.skipped = g.requests.skipped.Load
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

// Run keeps the gateway in step with the store until ctx ends: it reloads routes and settings
// when the store's change feed reports a change (so a route added by the CLI or on another
// node is live within a second) and persists the request log. It persists one last time
// before returning.
func (g *Gateway) Run(ctx context.Context) error {
	if lr, ok := g.cfg.Learner.(interface{ Run(context.Context) error }); ok {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := lr.Run(ctx); err != nil {
				g.log.Warn("learner stopped", "err", err)
			}
		}()
		defer func() { <-done }()
	}
	if ur, ok := g.cfg.Usage.(interface{ Run(context.Context) error }); ok {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := ur.Run(ctx); err != nil {
				g.log.Warn("usage writer stopped", "err", err)
			}
		}()
		defer func() { <-done }()
	}
	changed, unsubscribe := g.followChanges()
	defer unsubscribe()
	flush := time.NewTicker(PersistFollowedEvery)
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
			// Once a second, or at each tick while someone follows the log live; PersistPerSecond
			// is a rate, so an earlier pass takes its share of it.
			budget := g.cfg.PersistPerSecond
			if since := time.Since(g.lastPersist); since < time.Second-PersistFollowedEvery/2 {
				if g.followed.Load() == 0 {
					continue
				}
				budget = max(1, int(int64(budget)*int64(since)/int64(time.Second)))
			}
			if err := g.persistLogUpTo(ctx, budget); err != nil && ctx.Err() == nil {
				g.log.Warn("persist request log", "err", err)
			}
			if !g.remasked {
				done, err := remaskStored(ctx, g.cfg.Store, g.mask, remaskBatch)
				if err != nil && ctx.Err() == nil {
					g.log.Warn("mask older request log rows", "err", err)
				}
				g.remasked = done
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
	return g.persistLogUpTo(ctx, g.cfg.PersistPerSecond)
}

// persistLogUpTo persists the newest entries not yet persisted, at most budget of them.
func (g *Gateway) persistLogUpTo(ctx context.Context, budget int) error {
	g.lastPersist = time.Now()
	if g.cfg.RequestLogKeep < 0 {
		g.requests.unpersisted(0)
		return nil
	}
	batch, _ := g.requests.unpersisted(budget)
	// The retention setting (audit.Retention, shared with the audit log) is read once a minute;
	// rows past its age are pruned then, rows past its count with every batch.
	now := g.cfg.Clock.Now()
	if now.Sub(g.retentionAt) >= time.Minute || g.retentionStale.Swap(false) {
		if r, err := audit.LoadRetention(ctx, g.cfg.Store); err == nil {
			g.retention, g.retentionAt = r, now
			if err := audit.Prune(ctx, g.cfg.Store, "request_log", r, now); err != nil {
				g.log.Warn("prune request log", "err", err)
			}
		}
	}
	keep := g.retention.Rows
	if g.cfg.RequestLogKeep > 0 && g.cfg.RequestLogKeep < keep {
		keep = g.cfg.RequestLogKeep
	}
	if err := persist(ctx, g.cfg.Store, batch, keep, g.mask); err != nil {
		return err
	}
	if len(batch) > 0 {
		g.wakeFollowers()
	}
	return nil
}

// PersistFollowedEvery is how often the request log is persisted while someone follows it
// (FollowLog): a request shows in a live view within about this long plus a read.
const PersistFollowedEvery = 200 * time.Millisecond

// FollowLog registers a follower of the persisted request log: wake receives a signal after
// each pass that wrote rows (read them with RequestsAfter), and the log is persisted every
// PersistFollowedEvery until stop is called.
func (g *Gateway) FollowLog() (wake <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	g.followMu.Lock()
	if g.followers == nil {
		g.followers = map[chan struct{}]struct{}{}
	}
	g.followers[ch] = struct{}{}
	g.followMu.Unlock()
	g.followed.Add(1)
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			g.followMu.Lock()
			delete(g.followers, ch)
			g.followMu.Unlock()
			g.followed.Add(-1)
		})
	}
}

func (g *Gateway) wakeFollowers() {
	g.followMu.Lock()
	defer g.followMu.Unlock()
	for ch := range g.followers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
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
func (g *Gateway) Requests(f Filter) []Entry {
	return g.requests.recent(context.Background(), f, g.mask)
}

// Metrics is the Prometheus text handler, for the console listener to mount at /metrics.
func (g *Gateway) Metrics() http.Handler { return g.metrics }

// UpstreamTimeout is the response-header timeout in force.
func (g *Gateway) UpstreamTimeout() time.Duration { return g.snap.Load().timeout }

func newBufferPool(n, size int) *bufferPool {
	return &bufferPool{free: make(chan []byte, n), size: size}
}

// loopSupported says the event-loop engine runs here (gnet's epoll loops: Linux).
const loopSupported = runtime.GOOS == "linux"

func isMemoryLimiter(l ratelimit.Limiter) bool {
	_, ok := l.(*ratelimit.Memory)
	return ok
}

// handedConns is the fasthttp pools' share of MaxUpstreamConns: all of it, or with the event
// loops (which pool the rest) a quarter, for the requests they hand over — so the two together
// stay within the cap.
func handedConns(c *Config) int {
	if c.Engine != EngineLoop {
		return c.MaxUpstreamConns
	}
	return max(c.MaxUpstreamConns/4, 1)
}
