package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/keygate/keygate/backend/cli"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/openapi/documents"
)

// App is what the desktop window binds: each exported method is one console operation
// (generated into app_operations.go by `make generate`) or a desktop-only method
// (app_openapi.go). It opens the store in startup, never before wails.Run.
type App struct {
	dataDirFlag string

	ctx    context.Context
	cancel context.CancelFunc
	inst   *instance.Instance

	console *console.Local // runs the bound operations as the local user
	handler http.Handler   // the console handler in desktop mode, for the asset server
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

// open builds the instance in desktop mode, with an in-process gateway that the window starts
// and stops, and the console's executor and handler over it.
func (a *App) open() error {
	inst, err := instance.Open(a.ctx, instance.Options{DataDir: a.dataDirFlag, Desktop: true, LongRunning: true,
		Gateway: &gateway.Config{AllowedOrigins: []string{"wails://wails", "http://wails.localhost"}}})
	if err != nil {
		return err
	}
	a.inst = inst
	if a.console, err = inst.Console.Local(); err != nil {
		return err
	}
	a.docs = inst.Documents(cli.Version, nil)
	a.handler = inst.Console.Handler(console.HandlerOptions{Assets: assets, OpenAPI: a.docs})
	return nil
}

func (a *App) shutdown(context.Context) {
	if a.cancel != nil {
		a.cancel()
	}
	if a.inst != nil {
		a.inst.Close(context.Background())
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
