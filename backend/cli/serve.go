package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/config"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/demo"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/listen"
	"github.com/keygate/keygate/backend/nodes"
	"github.com/keygate/keygate/backend/ratelimit"
	"github.com/keygate/keygate/backend/redislimit"
	"github.com/keygate/keygate/backend/routes"
)

const serveUsage = `serve [--listen 127.0.0.1:8787] [--console-listen 127.0.0.1:8788] [--upstream URL]
             [--allow-origin ORIGIN]... [--upstream-timeout 30s] [--demo] [--allow-remote]
             [--trusted-proxy CIDR]... [--failed-auth-limit 30] [--drain-timeout 15s] [--log-level info]
             [--console-url URL] [--gateway-url URL] [--redis redis://HOST:6379/0]
             [--outage-grace 60s]`

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// serveOptions is serve's command line, checked.
type serveOptions struct {
	// listen and consoleListen are the addresses --listen/--console-listen or
	// $KEYGATE_LISTEN/$KEYGATE_CONSOLE_LISTEN fix; zero lets the stored ports choose.
	listen, consoleListen listen.Override
	upstream              string
	origins               []string
	upstreamTimeout       time.Duration
	demo, allowRemote     bool
	trusted               []netip.Prefix
	failedAuthLimit       int // as gateway.Config wants it: negative is off
	drain                 time.Duration
	level                 slog.Level
	publicOrigin          string   // from --console-url, "" when not behind a proxy
	gatewayPublic         *url.URL // from --gateway-url, nil when not behind a proxy
	warnings              []string // printed once the server runs
	redis                 string   // Redis URL for shared rate limits, "" for per-node limits
	outageGrace           time.Duration
	engine                string // gateway.Config.Engine: "" chooses
}

// runServe runs the gateway and the console until ctx ends (SIGINT/SIGTERM in main), then
// drains in-flight requests, flushes usage and the request log, and returns nil (exit 0).
func runServe(ctx context.Context, env *Env, args []string) error {
	o, err := parseServe(env, args)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: o.level}))
	var limiter ratelimit.Limiter // nil: this node's own
	if o.redis != "" {
		rl, err := redislimit.Open(ctx, o.redis, redislimit.Options{Logger: logger})
		if err != nil {
			return usagef("--redis: %v", err)
		}
		defer rl.Close()
		limiter = rl
		logger.Info("rate limits are shared by all nodes through Redis", "redis", redislimit.RedactURL(o.redis))
	}
	st, err := env.Store(ctx)
	if err != nil {
		return err
	}
	st.Changes().SetLogger(logger)
	// The flags or variables, else the ports kept in the settings (listen.Resolve).
	gwAt, err := listen.Resolve(ctx, st, listen.Gateway, o.listen)
	if err != nil {
		return err
	}
	conAt, err := listen.Resolve(ctx, st, listen.Console, o.consoleListen)
	if err != nil {
		return err
	}
	if gwAt.Addr == conAt.Addr {
		return usagef("the gateway and the console would both listen on %s: give --listen and --console-listen different ports", gwAt.Addr)
	}
	// Listen first: the gateway's CORS allowlist and the console's Host allowlist and URLs need
	// the port actually bound.
	cln, err := net.Listen("tcp", conAt.Addr)
	if err != nil {
		return fmt.Errorf("console listen on %s%s: %w", conAt.Addr, chosenBy(conAt, "console"), err)
	}
	defer cln.Close()
	conAt.Addr = cln.Addr().String()
	inst, err := instance.Open(ctx, instance.Options{Store: st, DataDir: env.DataDir, Logger: logger, Limiter: limiter, LongRunning: true,
		GatewayListen: o.listen, ConsoleListen: &conAt,
		Keys: []keys.Option{keys.WithOutageGrace(o.outageGrace)}, Gateway: &gateway.Config{
			AllowRemote:     o.allowRemote,
			AllowedOrigins:  append(gateway.ConsoleOrigins(cln.Addr().String()), o.origins...),
			UpstreamTimeout: o.upstreamTimeout, TrustedProxies: o.trusted, FailedAuthLimit: o.failedAuthLimit,
			DrainTimeout: o.drain, PublicURL: o.gatewayPublic, Engine: o.engine,
		}})
	if err != nil {
		return err
	}
	stopCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), o.drain+5*time.Second)
	}
	closed := false
	defer func() {
		if !closed {
			sctx, cancel := stopCtx()
			defer cancel()
			inst.Close(sctx)
		}
	}()
	demoSrv, err := seedRoutes(ctx, inst.Routes, o)
	if err != nil {
		return err
	}
	if demoSrv != nil {
		defer demoSrv.Stop(context.Background())
	}
	if err := inst.Gateway.Start(ctx); err != nil {
		return fmt.Errorf("%w%s", err, chosenBy(gwAt, "gateway"))
	}

	consoleURL := "http://" + cln.Addr().String()
	if o.publicOrigin != "" {
		consoleURL = o.publicOrigin
	}
	consoleSrv := &http.Server{
		Handler: inst.Console.Handler(console.HandlerOptions{
			Assets:       env.Assets,
			Metrics:      inst.Gateway.Gateway().Metrics(),
			PublicOrigin: o.publicOrigin,
			Secure:       strings.HasPrefix(o.publicOrigin, "https://"),
			AllowedHosts: console.LoopbackHosts(cln.Addr().String(), o.publicOrigin),
			OpenAPI:      inst.Documents(Version, func() string { return consoleURL }),
		}),
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	printBanner(ctx, env, inst, o, consoleURL, demoSrv != nil)

	// Register in the nodes registry; say when other nodes share the database but limits do not.
	beatCtx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	beatDone, registered := make(chan struct{}), make(chan string, 1)
	go func() {
		defer close(beatDone)
		if err := nodes.Heartbeat(beatCtx, st, nodes.Self{Version: Version, AddressOf: inst.Gateway.URL,
			Requests: inst.Gateway.Gateway().RequestsTotal}, registered); err != nil {
			logger.Warn("nodes registry", "err", err)
		}
	}()
	defer func() { stopBeat(); <-beatDone }()
	select {
	case id := <-registered:
		if n, err := nodes.Others(ctx, st, id); err == nil && n > 0 && o.redis == "" {
			fmt.Fprintln(env.Stderr, "keygate: "+env.t("cli.nodes.per_node_limits", map[string]any{"Count": n}))
		}
	case <-beatDone:
	case <-time.After(5 * time.Second):
	}

	// The console serves until it fails or ctx ends; then both listeners drain.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := consoleSrv.Serve(cln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("console stopped: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		if ctx.Err() != nil {
			fmt.Fprintln(env.Stdout, "Stopping: draining in-flight requests…")
		}
		sctx, cancel := stopCtx()
		defer cancel()
		// The drain is bounded: requests still running at the bound are cut, which is a clean
		// stop (exit 0) worth a warning.
		if err := inst.Gateway.Stop(sctx); err != nil {
			fmt.Fprintf(env.Stderr, "keygate: warning: %v\n", err)
		}
		if err := consoleSrv.Shutdown(sctx); err != nil {
			consoleSrv.Close()
		}
		return nil
	})
	serveErr := g.Wait()
	sctx, cancel := stopCtx()
	defer cancel()
	closed = true
	if err := errors.Join(serveErr, inst.Close(sctx)); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "Stopped.")
	return nil
}

// parseServe reads and checks serve's flags; every mistake is a usage error (exit 2).
func parseServe(env *Env, args []string) (serveOptions, error) {
	f := env.newFlags("serve")
	listenFlag := f.String("listen", listen.DefaultGateway, "gateway listen address (default: $"+listen.EnvGateway+", else the gateway port setting on 127.0.0.1)")
	consoleListen := f.String("console-listen", listen.DefaultConsole, "console listen address (default: $"+listen.EnvConsole+", else the console port setting on 127.0.0.1)")
	upstream := f.String("upstream", "", "upstream base URL for the default route /")
	var origins, proxies listFlag
	f.Var(&origins, "allow-origin", "allow browser requests from this origin (repeatable)")
	timeout := f.Duration("upstream-timeout", 0, "how long to wait for the upstream's response headers")
	withDemo := f.Bool("demo", false, "also start a built-in sample upstream, routed at /demo")
	allowRemote := f.Bool("allow-remote", false, "allow listening on non-loopback addresses")
	f.Var(&proxies, "trusted-proxy", "address or CIDR of a proxy whose X-Forwarded-* headers are trusted (repeatable)")
	failLimit := f.Int("failed-auth-limit", gateway.DefaultFailedAuthLimit, "failed authentications per minute per client address before 429 (0: no limit)")
	drain := f.Duration("drain-timeout", gateway.DefaultDrainTimeout, "on SIGINT/SIGTERM, wait this long for in-flight requests before cutting them")
	logLevel := f.String("log-level", "info", "debug, info, warn or error")
	redisFlag := f.String("redis", "", "Redis URL (redis://…) for rate limits shared by all nodes (default: $KEYGATE_REDIS_URL; without it, each node limits alone)")
	outageGrace := f.Duration("outage-grace", keys.DefaultOutageGrace, "while the database is unreachable, keys verified within this long keep working (0: none)")
	publicURL := f.String("console-url", "", "the console's URL as browsers reach it, when a proxy sits in front (e.g. https://keygate.example.com)")
	engine := f.String("gateway-engine", "", "the gateway's HTTP engine: loop (event loops; the default on Linux without --redis), fasthttp or nethttp")
	gatewayURLFlag := f.String("gateway-url", "", "the gateway's URL as clients reach it, when a proxy sits in front (e.g. https://api.example.com): upstreams get it as X-Forwarded-Host/-Proto")
	pos, err := parse(f, args)
	if err != nil {
		return serveOptions{}, err
	}
	if err := wantArgs(pos, 0, serveUsage); err != nil {
		return serveOptions{}, err
	}
	given := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	o := serveOptions{listen: listen.FromFlagOrEnv("listen", *listenFlag, given["listen"], listen.EnvGateway),
		consoleListen: listen.FromFlagOrEnv("console-listen", *consoleListen, given["console-listen"], listen.EnvConsole), upstream: *upstream, upstreamTimeout: *timeout,
		demo: *withDemo, allowRemote: *allowRemote, failedAuthLimit: *failLimit, drain: *drain,
		redis: config.RedisURL(*redisFlag), outageGrace: *outageGrace, engine: *engine}
	switch *engine {
	case "", gateway.EngineLoop, gateway.EngineFastHTTP, gateway.EngineNetHTTP:
	default:
		return o, usagef("--gateway-engine must be %s, %s or %s", gateway.EngineLoop, gateway.EngineFastHTTP, gateway.EngineNetHTTP)
	}
	if *outageGrace < 0 || *outageGrace > time.Hour {
		return o, usagef("--outage-grace must be between 0 and 1h")
	}
	if err := o.level.UnmarshalText([]byte(*logLevel)); err != nil {
		return o, usagef("--log-level must be debug, info, warn or error")
	}
	switch {
	case *failLimit < 0:
		return o, usagef("--failed-auth-limit must be 0 (no limit) or more")
	case *failLimit == 0:
		o.failedAuthLimit = -1 // gateway.Config: negative turns the limit off
	}
	if *drain <= 0 || *drain > 10*time.Minute {
		return o, usagef("--drain-timeout must be more than 0 and at most 10m")
	}
	if *timeout < 0 || *timeout > 0 && (*timeout < time.Second || *timeout > 10*time.Minute) {
		return o, usagef("--upstream-timeout must be between 1s and 10m")
	}
	if o.trusted, err = gateway.ParseTrustedProxies(proxies); err != nil {
		return o, usagef("%v", err)
	}
	for _, origin := range origins {
		if _, err := routes.NormalizeOrigin(origin); err != nil {
			return o, usagef("--allow-origin %q: %v", origin, err)
		}
	}
	o.origins = origins
	if *publicURL != "" {
		u, err := url.Parse(*publicURL)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil ||
			u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
			return o, usagef("--console-url must be an http or https URL with a host and no path, like https://keygate.example.com")
		}
		o.publicOrigin = u.Scheme + "://" + u.Host
		o.origins = append(o.origins, o.publicOrigin)
	}
	if *gatewayURLFlag != "" {
		u, err := url.Parse(*gatewayURLFlag)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil ||
			u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
			return o, usagef("--gateway-url must be an http or https URL with a host and no path, like https://api.example.com")
		}
		o.gatewayPublic = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	for _, ov := range []listen.Override{o.listen, o.consoleListen} {
		if ov.Addr == "" {
			continue // the stored port, on the loopback host
		}
		w, err := gateway.CheckListen(ov.Addr, o.allowRemote)
		if err != nil {
			return o, usagef("%s: %v", ov.By, err)
		}
		if w != "" {
			o.warnings = append(o.warnings, w)
		}
	}
	if o.listen.Addr != "" && o.listen.Addr == o.consoleListen.Addr {
		return o, usagef("%s and %s must differ", o.listen.By, o.consoleListen.By)
	}
	return o, nil
}

// chosenBy says, after a listen error, what chose the address and how to change it.
func chosenBy(c listen.Choice, which string) string {
	if c.FixedBy != "" {
		return " (set by " + c.FixedBy + ")"
	}
	flagName := "--listen"
	if which == "console" {
		flagName = "--console-listen"
	}
	return " (the " + which + " port setting: change it with `keygate gateway ports set`, or override it with " + flagName + ")"
}

// seedRoutes stores the routes the flags ask for: --upstream at /, and the demo upstream at
// /demo (started here; the caller stops it).
func seedRoutes(ctx context.Context, rs *routes.Service, o serveOptions) (*demo.Server, error) {
	if o.upstream != "" {
		if _, err := rs.Put(ctx, routes.Params{Prefix: "/", Upstream: o.upstream}); err != nil {
			return nil, fmt.Errorf("--upstream: %w", err)
		}
	}
	if !o.demo {
		return nil, nil
	}
	d, err := demo.Start()
	if err != nil {
		return nil, err
	}
	if _, err := rs.Put(ctx, routes.Params{Prefix: demo.Prefix, Upstream: d.URL(), StripPrefix: true,
		OpenAPISource: d.OpenAPIURL()}); err != nil {
		d.Stop(context.Background())
		return nil, fmt.Errorf("demo route: %w", err)
	}
	return d, nil
}

// printBanner says where the gateway and the console are, and the first-admin link if no
// admin exists yet.
func printBanner(ctx context.Context, env *Env, inst *instance.Instance, o serveOptions, consoleURL string, withDemo bool) {
	for _, w := range o.warnings {
		fmt.Fprintln(env.Stderr, "keygate: "+w)
	}
	gatewayURL := inst.Gateway.URL()
	fmt.Fprintf(env.Stdout, "Keygate gateway:  %s\n", gatewayURL)
	fmt.Fprintf(env.Stdout, "Keygate console:  %s\n", consoleURL)
	if withDemo {
		fmt.Fprintf(env.Stdout, "Demo API:         %s%s/pets (needs a key: keygate keys create --name demo)\n", gatewayURL, demo.Prefix)
	}
	// The token travels in the URL fragment, which browsers never send to a server or a log.
	if link, err := inst.Console.SetupLink(ctx, consoleURL); err != nil {
		inst.Logger.Warn("setup link", "err", err)
	} else if link != "" {
		fmt.Fprintf(env.Stdout, "\nNo admin yet. Create the first one within %d minutes at:\n  %s\n",
			int(auth.SetupTokenLifetime.Minutes()), link)
	}
}
