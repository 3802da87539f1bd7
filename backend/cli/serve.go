package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/demo"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/openapi/documents"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/routes"
)

const serveUsage = `serve [--listen 127.0.0.1:8787] [--console-listen 127.0.0.1:8788] [--upstream URL]
             [--allow-origin ORIGIN]... [--upstream-timeout 30s] [--demo] [--allow-remote]
             [--trusted-proxy CIDR]... [--failed-auth-limit 30] [--drain-timeout 15s] [--log-level info]
             [--console-url URL] [--gateway-url URL]`

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// runServe runs the gateway and the console until ctx ends (SIGINT/SIGTERM in main), then
// drains in-flight requests, flushes usage and the request log, and returns nil (exit 0).
func runServe(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("serve")
	listen := f.String("listen", gateway.DefaultListen, "gateway listen address")
	consoleListen := f.String("console-listen", "127.0.0.1:8788", "console listen address")
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
	publicURL := f.String("console-url", "", "the console's URL as browsers reach it, when a proxy sits in front (e.g. https://keygate.example.com)")
	gatewayURLFlag := f.String("gateway-url", "", "the gateway's URL as clients reach it, when a proxy sits in front (e.g. https://api.example.com): upstreams get it as X-Forwarded-Host/-Proto")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, serveUsage); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("--log-level must be debug, info, warn or error")
	}
	if *failLimit < 0 {
		return usagef("--failed-auth-limit must be 0 (no limit) or more")
	}
	if *drain <= 0 || *drain > 10*time.Minute {
		return usagef("--drain-timeout must be more than 0 and at most 10m")
	}
	if *timeout < 0 || *timeout > 0 && (*timeout < time.Second || *timeout > 10*time.Minute) {
		return usagef("--upstream-timeout must be between 1s and 10m")
	}
	trusted, err := gateway.ParseTrustedProxies(proxies)
	if err != nil {
		return usagef("%v", err)
	}
	for _, o := range origins {
		if _, err := routes.NormalizeOrigin(o); err != nil {
			return usagef("--allow-origin %q: %v", o, err)
		}
	}
	publicOrigin := ""
	if *publicURL != "" {
		u, err := url.Parse(*publicURL)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil ||
			u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
			return usagef("--console-url must be an http or https URL with a host and no path, like https://keygate.example.com")
		}
		publicOrigin = u.Scheme + "://" + u.Host
		origins = append(origins, publicOrigin)
	}
	var gatewayPublic *url.URL
	if *gatewayURLFlag != "" {
		u, err := url.Parse(*gatewayURLFlag)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil ||
			u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
			return usagef("--gateway-url must be an http or https URL with a host and no path, like https://api.example.com")
		}
		gatewayPublic = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	var warnings []string
	for _, addr := range []string{*listen, *consoleListen} {
		w, err := gateway.CheckListen(addr, *allowRemote)
		if err != nil {
			return usagef("%v", err)
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	if *listen == *consoleListen {
		return usagef("--listen and --console-listen must differ")
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))

	st, err := env.Store(ctx)
	if err != nil {
		return err
	}
	st.Changes().SetLogger(logger)
	if _, err := orgs.New(st, nil).EnsureDefault(ctx); err != nil {
		return err
	}
	rs := routes.New(st, nil)
	if *upstream != "" {
		if _, err := rs.Put(ctx, routes.Params{Prefix: "/", Upstream: *upstream}); err != nil {
			return fmt.Errorf("--upstream: %w", err)
		}
	}
	var demoSrv *demo.Server
	if *withDemo {
		if demoSrv, err = demo.Start(); err != nil {
			return err
		}
		defer demoSrv.Stop(context.Background())
		if _, err := rs.Put(ctx, routes.Params{Prefix: demo.Prefix, Upstream: demoSrv.URL(), StripPrefix: true,
			OpenAPISource: demoSrv.OpenAPIURL()}); err != nil {
			return fmt.Errorf("demo route: %w", err)
		}
	}

	ks := keys.New(st)
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	keysDone := make(chan error, 1)
	go func() { keysDone <- ks.Run(runCtx) }()
	defer func() {
		stopRun()
		<-keysDone
	}()

	authSvc, err := auth.New(st)
	if err != nil {
		return err
	}
	limit := *failLimit
	if limit == 0 {
		limit = -1 // Config: negative turns the limit off
	}
	// Listen first: the gateway's CORS allowlist and the console's Host allowlist and URLs need
	// the port actually bound.
	cln, err := net.Listen("tcp", *consoleListen)
	if err != nil {
		return fmt.Errorf("console listen on %s: %w", *consoleListen, err)
	}
	defer cln.Close()
	srv, err := gateway.NewServer(ctx, gateway.Config{
		Store: st, Keys: ks, Routes: rs, Sessions: authSvc, Logger: logger, Validators: documents.RequestValidators{},
		Listen: *listen, AllowRemote: *allowRemote,
		AllowedOrigins:  append(gateway.ConsoleOrigins(cln.Addr().String()), origins...),
		UpstreamTimeout: *timeout, TrustedProxies: trusted, FailedAuthLimit: limit, DrainTimeout: *drain,
		PublicURL: gatewayPublic,
	})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	stopCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), *drain+5*time.Second)
	}
	defer func() {
		sctx, cancel := stopCtx()
		defer cancel()
		srv.Stop(sctx)
	}()

	consoleURL := "http://" + cln.Addr().String()
	if publicOrigin != "" {
		consoleURL = publicOrigin
	}
	gatewayURL := srv.URL()
	consoleSvc, err := console.New(console.Deps{Store: st, Keys: ks, Orgs: orgs.New(st, nil), Auth: authSvc,
		Audit: audit.New(st, nil), Routes: rs, Gateway: srv, Logger: logger})
	if err != nil {
		return err
	}
	handler := consoleSvc.Handler(console.HandlerOptions{
		Assets:       env.Assets,
		Metrics:      srv.Gateway().Metrics(),
		PublicOrigin: publicOrigin,
		Secure:       strings.HasPrefix(publicOrigin, "https://"),
		AllowedHosts: console.LoopbackHosts(cln.Addr().String(), publicOrigin),
		OpenAPI: &documents.Source{Routes: rs, Version: Version,
			GatewayURL: func() string { return gatewayURL }, ConsoleURL: func() string { return consoleURL }},
	})
	consoleSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	consoleDone := make(chan error, 1)
	go func() { consoleDone <- consoleSrv.Serve(cln) }()

	for _, w := range warnings {
		fmt.Fprintln(env.Stderr, "keygate: "+w)
	}
	fmt.Fprintf(env.Stdout, "Keygate gateway:  %s\n", gatewayURL)
	fmt.Fprintf(env.Stdout, "Keygate console:  %s\n", consoleURL)
	if demoSrv != nil {
		fmt.Fprintf(env.Stdout, "Demo API:         %s%s/pets (needs a key: keygate keys create --name demo)\n", gatewayURL, demo.Prefix)
	}
	// The token travels in the URL fragment, which browsers never send to a server or a log.
	if link, err := consoleSvc.SetupLink(ctx, consoleURL); err != nil {
		logger.Warn("setup link", "err", err)
	} else if link != "" {
		fmt.Fprintf(env.Stdout, "\nNo admin yet. Create the first one within %d minutes at:\n  %s\n",
			int(auth.SetupTokenLifetime.Minutes()), link)
	}

	select {
	case <-ctx.Done():
	case err := <-consoleDone:
		return fmt.Errorf("console stopped: %w", err)
	}
	fmt.Fprintln(env.Stdout, "Stopping: draining in-flight requests…")
	sctx, cancel := stopCtx()
	defer cancel()
	errs := []error{}
	// The drain is bounded: requests still running at the bound are cut, which is a clean stop
	// (exit 0) worth a warning. Usage is flushed below by ks.Run either way, and a failure there
	// is an error.
	if err := srv.Stop(sctx); err != nil {
		fmt.Fprintf(env.Stderr, "keygate: warning: %v\n", err)
	}
	if err := consoleSrv.Shutdown(sctx); err != nil {
		consoleSrv.Close()
	}
	stopRun()
	if err := <-keysDone; err != nil {
		errs = append(errs, fmt.Errorf("flush key usage: %w", err))
	}
	keysDone <- nil // the deferred wait finds it
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "Stopped.")
	return nil
}
