package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/cli"
	"github.com/keygate/keygate/backend/config"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/openapi/documents"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
)

// App is what the desktop window binds: each exported method is one console operation
// (generated into app_operations.go by `make generate`) or a desktop-only method
// (app_openapi.go). It opens the store in startup, never before wails.Run.
type App struct {
	dataDirFlag string

	ctx    context.Context
	cancel context.CancelFunc
	st     *store.Store
	orgs   *orgs.Service
	keys   *keys.Service

	console *console.Local  // runs the bound operations as the local user
	handler http.Handler    // the console handler in desktop mode, for the asset server
	gateway *gateway.Server // the in-process gateway, started from the window
	docs    *documents.Source
}

// NewApp returns an App that will use the data directory the flag (or environment) selects.
func NewApp(dataDirFlag string) *App { return &App{dataDirFlag: dataDirFlag} }

func (a *App) startup(ctx context.Context) {
	a.ctx, a.cancel = context.WithCancel(ctx)
	if err := a.open(); err != nil {
		a.console = console.Unavailable(fmt.Errorf("keygate could not start: %w", err))
	}
}

func (a *App) open() error {
	dir, err := config.DataDir(a.dataDirFlag)
	if err != nil {
		return err
	}
	if a.st, err = store.Open(a.ctx, dir); err != nil {
		return err
	}
	a.orgs, a.keys = orgs.New(a.st, nil), keys.New(a.st)
	if _, err := a.orgs.EnsureDefault(a.ctx); err != nil {
		return err
	}
	go a.keys.Run(a.ctx)
	return a.startConsole()
}

// startConsole builds the console in desktop mode over the open store, with an in-process
// gateway that the window starts and stops.
func (a *App) startConsole() error {
	as, err := auth.New(a.st)
	if err != nil {
		return err
	}
	rs := routes.New(a.st, nil)
	a.gateway, err = gateway.NewServer(a.ctx, gateway.Config{Store: a.st, Keys: a.keys, Routes: rs, Sessions: as,
		AllowedOrigins: []string{"wails://wails", "http://wails.localhost"}, Validators: documents.RequestValidators{}})
	if err != nil {
		return err
	}
	svc, err := console.New(console.Deps{Store: a.st, Keys: a.keys, Orgs: a.orgs, Auth: as, Audit: audit.New(a.st, nil),
		Routes: rs, Gateway: a.gateway, Desktop: true})
	if err != nil {
		return err
	}
	if a.console, err = svc.Local(); err != nil {
		return err
	}
	a.docs = &documents.Source{Routes: rs, Version: cli.Version, GatewayURL: a.gateway.URL}
	a.handler = svc.Handler(console.HandlerOptions{Assets: assets, OpenAPI: a.docs})
	return nil
}

func (a *App) shutdown(context.Context) {
	if a.cancel != nil {
		a.cancel()
	}
	if a.gateway != nil {
		a.gateway.Stop(context.Background())
	}
	if a.keys != nil {
		a.keys.FlushUsage(context.Background())
	}
	if a.st != nil {
		a.st.Close()
	}
}

// serveAsset answers the window's requests that are not static assets. It is unexported so
// that Wails does not bind it as an operation.
func (a *App) serveAsset(w http.ResponseWriter, r *http.Request) {
	if a.handler == nil {
		http.Error(w, "keygate is not ready", http.StatusServiceUnavailable)
		return
	}
	a.handler.ServeHTTP(w, r)
}
