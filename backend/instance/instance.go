// Package instance wires one Keygate instance: the store, the services over it, the gateway
// and the console. The desktop app, `keygate serve`, the CLI and the tests all build it here,
// so a new service is added in one place.
package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/config"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/identity"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/learn"
	"github.com/keygate/keygate/backend/listen"
	"github.com/keygate/keygate/backend/openapi/documents"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/ratelimit"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/seal"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/usage"
	"github.com/keygate/keygate/backend/webhooks"
)

// Options say what to build.
type Options struct {
	// Store is an open store the caller keeps; nil opens the one in DataDir (the flag or
	// environment's choice, see config.DataDir) and Close closes it.
	Store   *store.Store
	DataDir string
	// Clock and Logger default to the real clock and slog.Default().
	Clock  clock.Clock
	Logger *slog.Logger
	// Desktop builds the console in desktop mode: the local OS user is the implicit admin.
	Desktop bool
	// LongRunning starts the key-usage writer, which also notices key changes made by other
	// processes (the desktop app, serve). A short-lived command or a test leaves it off: it
	// records no usage and outlives no change.
	LongRunning bool
	// Limiter counts every rate limit of the instance: the gateway's and the console's sign-in
	// attempts (nil: an in-process ratelimit.Memory). A Redis one shares limits across nodes.
	Limiter ratelimit.Limiter
	// Auth are extra options of the account service (tests pass cheap password parameters).
	Auth []auth.Option
	// Keys are extra options of the key service (serve passes --outage-grace).
	Keys []keys.Option
	// Gateway, when set, builds the gateway server from it; Open fills in the store, the
	// services, request validation, the clock and the logger. Nil builds no gateway.
	Gateway *gateway.Config
	// GatewayListen is the flag or environment variable that fixes the gateway's address; its
	// zero value lets the stored port (listen.Resolve) choose. It overrides Gateway.Listen.
	GatewayListen listen.Override
	// ConsoleListen is the console listener's bound address and what chose it (serve); nil
	// when the host has none (the desktop window calls the console in-process).
	ConsoleListen *listen.Choice
	// ConsoleGateway is what the console starts, stops and reports when Gateway is nil: tests
	// hand in a stand-in.
	ConsoleGateway console.Gateway
	// Webhooks tunes the webhook service (tests shorten its backoff and polling); Open fills in
	// the clock, logger, keys and secrets key.
	Webhooks webhooks.Options
}

// Instance is a wired Keygate. Its fields are the services the hosts hand to their edges.
type Instance struct {
	Store  *store.Store
	Clock  clock.Clock
	Logger *slog.Logger
	Keys   *keys.Service
	Orgs   *orgs.Service
	Auth   *auth.Service
	Audit  *audit.Log
	Routes *routes.Service
	// Webhooks holds the organizations' endpoints and the outbox; a long-running instance
	// delivers from it.
	Webhooks *webhooks.Service
	// Identity keeps the keys that sign the gateway's X-Keygate-Jwt.
	Identity *identity.Service
	Limiter  ratelimit.Limiter
	Gateway  *gateway.Server // nil unless Options.Gateway was set
	Console  *console.Service
	// Org is the default organization, created on first start.
	Org orgs.Org

	ownStore bool
	stopKeys context.CancelFunc
	keysDone chan error
	stopHook context.CancelFunc
	hookDone chan error
	stopPort context.CancelFunc
	portDone chan struct{}
}

// Open builds an instance: opens the store if needed, makes sure the default organization
// exists and, for a long-running host, starts the key-usage writer. Close undoes it.
func Open(ctx context.Context, o Options) (inst *Instance, err error) {
	i := &Instance{Store: o.Store, Clock: o.Clock, Logger: o.Logger}
	if i.Clock == nil {
		i.Clock = clock.Real{}
	}
	if i.Logger == nil {
		i.Logger = slog.Default()
	}
	if i.Store == nil {
		dir, err := config.DataDir(o.DataDir)
		if err != nil {
			return nil, err
		}
		if i.Store, err = store.Open(ctx, dir); err != nil {
			return nil, err
		}
		i.ownStore = true
	}
	defer func() {
		if err != nil {
			i.Close(context.WithoutCancel(ctx))
		}
	}()
	clk := i.Clock
	i.Keys = keys.New(i.Store, append([]keys.Option{keys.WithClock(clk)}, o.Keys...)...)
	i.Orgs = orgs.New(i.Store, clk)
	i.Audit = audit.New(i.Store, clk)
	i.Routes = routes.New(i.Store, clk)
	i.Routes.ReadScopesWith(documents.ReadScopes)
	if i.Limiter = o.Limiter; i.Limiter == nil {
		i.Limiter = ratelimit.NewMemory(1 << 20)
	}
	if i.Auth, err = auth.New(i.Store, append([]auth.Option{auth.WithClock(clk), auth.WithLimiter(i.Limiter)}, o.Auth...)...); err != nil {
		return nil, err
	}
	if i.Org, err = i.Orgs.EnsureDefault(ctx); err != nil {
		return nil, err
	}
	wo := o.Webhooks
	wo.Clock, wo.Logger, wo.Keys, wo.Seal = clk, i.Logger, i.Keys, secretsKey(i.Store, o.DataDir)
	i.Webhooks = webhooks.New(i.Store, wo)
	// The audit log is the seam every key change passes through; its hook enqueues the
	// events in the entry's transaction.
	i.Audit.OnRecord(i.Webhooks.AuditHook)
	i.Audit.OnCommitted(i.Webhooks.Nudge) // the worker looks once the events are there
	// The gateway's quota take is the seam for key.quota_exhausted.
	i.Keys.OnQuotaExhausted(i.Webhooks.OnQuotaExhausted)
	jwksMaxAge, err := config.JWKSMaxAge()
	if err != nil {
		return nil, err
	}
	i.Identity = identity.New(i.Store, identity.Options{Seal: secretsKey(i.Store, o.DataDir), Clock: clk, MaxAge: jwksMaxAge})
	if o.LongRunning {
		// This process serves the key set with its max-age: rotations by other processes wait
		// for it.
		if err := i.Identity.Advertise(ctx); err != nil {
			i.Logger.Warn("rotations by other processes may not wait for this server's key-set max-age", "err", err)
		}
		runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		i.stopKeys, i.keysDone = stop, make(chan error, 1)
		go func() { i.keysDone <- i.Keys.Run(runCtx) }()
		go i.Identity.Watch(runCtx)
		hookCtx, stopHook := context.WithCancel(context.WithoutCancel(ctx))
		i.stopHook, i.hookDone = stopHook, make(chan error, 1)
		go func() { i.hookDone <- i.Webhooks.Run(hookCtx) }()
	}

	deps := console.Deps{Store: i.Store, Clock: clk, Keys: i.Keys, Orgs: i.Orgs, Auth: i.Auth, Audit: i.Audit,
		Routes: i.Routes, Identity: i.Identity, Webhooks: i.Webhooks, Logger: i.Logger, Desktop: o.Desktop, Gateway: o.ConsoleGateway,
		Listen: console.Listeners{Console: o.ConsoleListen}}
	if o.Gateway != nil {
		cfg := *o.Gateway
		if cfg.Listen == "" || o.GatewayListen.Addr != "" {
			choice, err := listen.Resolve(ctx, i.Store, listen.Gateway, o.GatewayListen)
			if err != nil {
				return nil, err
			}
			cfg.Listen = choice.Addr
			deps.Listen.Gateway = &choice
		}
		cfg.Store, cfg.Keys, cfg.Routes, cfg.Sessions = i.Store, i.Keys, i.Routes, sessions{i.Auth}
		cfg.Validators, cfg.Clock, cfg.Logger = documents.RequestValidators{}, clk, i.Logger
		if cfg.Identity == nil {
			cfg.Identity = i.Identity
		}
		if cfg.Learner == nil {
			cfg.Learner = learn.New(i.Store, learn.Options{Clock: clk, Logger: i.Logger, Secrets: i.Keys.ForeignSecrets})
		}
		if cfg.Limiter == nil {
			cfg.Limiter = i.Limiter
		}
		if cfg.Usage == nil {
			cfg.Usage = usage.NewRecorder(i.Store, usage.Options{Clock: clk, Logger: i.Logger})
		}
		if i.Gateway, err = gateway.NewServer(ctx, cfg); err != nil {
			return nil, err
		}
		deps.Gateway = i.Gateway
	}
	if i.Console, err = console.New(deps); err != nil {
		return nil, err
	}
	if o.LongRunning && i.Gateway != nil && deps.Listen.Gateway != nil && deps.Listen.Gateway.FixedBy == "" {
		i.followPort(context.WithoutCancel(ctx))
	}
	return i, nil
}

// followPort moves the gateway when its stored port changes in another process (`keygate
// gateway ports set` beside the running app or server, seen through the change feed within a
// second); the console's UpdatePorts moves it itself before storing. The move runs off the
// feed's goroutine, one at a time. A port that cannot be used yet (the process that had it is
// still stopping, another program holds it) leaves the gateway where it is (GetPorts then
// reports the setting as pending) and is tried again after 1 s, 2 s, 4 s … up to every
// portRetryMax, until the gateway gets it or the setting changes; it is logged once.
func (i *Instance) followPort(ctx context.Context) {
	ctx, i.stopPort = context.WithCancel(ctx)
	i.portDone = make(chan struct{})
	kick := make(chan struct{}, 1)
	unsubscribe := i.Store.Changes().Subscribe(func(c store.Change) {
		if c.Touches("settings") {
			select {
			case kick <- struct{}{}:
			default:
			}
		}
	})
	go func() {
		defer close(i.portDone)
		defer unsubscribe()
		retry := time.NewTimer(0)
		retry.Stop()
		defer retry.Stop()
		failed, backoff := 0, time.Duration(0) // the port last refused, and the wait before its next try
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
			case <-retry.C:
			}
			// Read and moved under listen.Moving: never between the console's move and its
			// saving of the setting.
			done := listen.Moving()
			p, err := listen.Stored(ctx, i.Store, listen.Gateway)
			if err != nil || p == 0 || p == listen.Port(i.Gateway.Status().Listen) {
				done()
				continue
			}
			if p != failed {
				backoff = 0
			}
			addr := listen.WithPort(listen.DefaultGateway, p)
			err = i.Gateway.Move(ctx, addr)
			done()
			if err != nil {
				if p != failed {
					i.Logger.Warn("the gateway's port setting changed, but the gateway cannot move there yet; trying again",
						"addr", addr, "err", err)
				}
				failed = p
				backoff = min(max(2*backoff, time.Second), portRetryMax)
				retry.Reset(backoff)
				continue
			}
			failed, backoff = 0, 0
			retry.Stop()
			i.Logger.Info("the gateway moved to its new port setting", "addr", addr)
		}
	}()
}

// portRetryMax is the longest wait between two tries of a port the gateway could not move to.
var portRetryMax = 30 * time.Second

// Documents is the source of the console and gateway OpenAPI documents; consoleURL may be
// nil (the desktop's console has no URL).
func (i *Instance) Documents(version string, consoleURL func() string) *documents.Source {
	src := &documents.Source{Routes: i.Routes, Version: version, ConsoleURL: consoleURL}
	if i.Gateway != nil {
		src.GatewayURL = i.Gateway.URL
	}
	return src
}

// Close stops the gateway (waiting for in-flight requests until ctx ends; requests still
// running then are cut, which is reported but is no failure), writes the pending key usage
// and closes the store if Open opened it. It returns what could not be saved.
func (i *Instance) Close(ctx context.Context) error {
	var errs []error
	if i.stopPort != nil {
		i.stopPort()
		<-i.portDone
		i.stopPort = nil
	}
	if i.Gateway != nil {
		if err := i.Gateway.Stop(ctx); err != nil {
			i.Logger.Warn("gateway stop", "err", err)
		}
	}
	if i.stopHook != nil {
		i.stopHook()
		<-i.hookDone
		i.stopHook = nil
	}
	if i.stopKeys != nil {
		i.stopKeys()
		if err := <-i.keysDone; err != nil {
			errs = append(errs, fmt.Errorf("flush key usage: %w", err))
		}
		i.stopKeys = nil
	}
	if i.ownStore && i.Store != nil {
		if err := i.Store.Close(); err != nil {
			errs = append(errs, err)
		}
		i.ownStore = false
	}
	return errors.Join(errs...)
}

// secretsKey finds the key that seals webhook secrets (backend/seal): $KEYGATE_SECRETS_KEY,
// else secrets.key beside the SQLite file, else (PostgreSQL) in the data directory. It is
// looked up on first use only.
func secretsKey(st *store.Store, dataDir string) func() (*seal.Box, error) {
	return func() (*seal.Box, error) {
		if st.Path != "" {
			return seal.Load(filepath.Dir(st.Path))
		}
		dir, err := config.DataDir(dataDir)
		if err != nil {
			return nil, err
		}
		return seal.Load(dir)
	}
}

// sessions lets the gateway accept a console session cookie as a credential: it adapts
// auth's answer to the gateway's, so neither package imports the other.
type sessions struct{ auth *auth.Service }

var _ gateway.SessionVerifier = sessions{}

func (s sessions) VerifySession(ctx context.Context, token string) (gateway.SessionResult, error) {
	r, err := s.auth.VerifySession(ctx, token)
	return gateway.SessionResult{Code: r.Code, UserID: r.UserID, OrgIDs: r.OrgIDs}, err
}
