package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/keygate/keygate/backend/cli"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/listen"
	"github.com/keygate/keygate/backend/openapi/documents"
	"github.com/keygate/keygate/backend/settings"
)

// App is what the desktop window binds: each exported method is one console operation
// (generated into app_operations.go by `make generate`) or a desktop-only method
// (app_openapi.go). It opens the store in startup, never before wails.Run.
type App struct {
	dataDirFlag string
	// gatewayListen fixes the in-process gateway's address, like $KEYGATE_LISTEN; "" lets
	// $KEYGATE_LISTEN or the port setting choose. Tests give a free port so that the gateway
	// the app starts never meets another.
	gatewayListen string

	ctx    context.Context
	cancel context.CancelFunc
	inst   *instance.Instance

	console *console.Local // runs the bound operations as the local user
	handler http.Handler   // the console handler in desktop mode, for the asset server
	docs    *documents.Source
	follows follows // the window's live request log follows (app_follow.go)
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
	// The gateway listens where $KEYGATE_LISTEN says, else on the port the Gateway screen
	// keeps (listen.Resolve); the window calls the console in-process, so there is no console
	// listener and no console port on the desktop.
	ov := listen.FromFlagOrEnv("", "", false, listen.EnvGateway)
	if a.gatewayListen != "" {
		ov = listen.Override{Addr: a.gatewayListen, By: listen.EnvGateway}
	}
	inst, err := instance.Open(a.ctx, instance.Options{DataDir: a.dataDirFlag, Desktop: true, LongRunning: true,
		GatewayListen: ov, Gateway: &gateway.Config{AllowedOrigins: []string{"wails://wails", "http://wails.localhost"}}})
	if err != nil {
		return err
	}
	a.inst = inst
	if a.console, err = inst.Console.Local(); err != nil {
		return err
	}
	a.docs = inst.Documents(cli.Version, nil)
	a.handler = inst.Console.Handler(console.HandlerOptions{Assets: assets, OpenAPI: a.docs})
	// The gateway starts with the app unless its user stopped it last time. One that cannot
	// start (its port is taken) stays stopped: the Gateway screen shows it and can start it.
	if _, err := inst.Console.AutostartGateway(a.ctx); err != nil {
		inst.Logger.Warn("the gateway did not start with the app", "err", err)
	}
	return nil
}

// placement is the desktop window's size and position, kept between runs.
type placement struct {
	X, Y          int
	Width, Height int
}

// Limits a remembered placement must respect to be used again.
const (
	minWindowWidth, minWindowHeight = 960, 640
	maxWindowSide                   = 16384
)

// windowPlacement returns the window's placement from the last run, if one was saved and is
// usable (a size the window may take, a position that is not absurd).
func (a *App) windowPlacement() (placement, bool) {
	if a.inst == nil {
		return placement{}, false
	}
	vals, err := settings.New(a.inst.Store).Get(a.ctx, settings.DesktopWindow)
	if err != nil || vals[settings.DesktopWindow] == "" {
		return placement{}, false
	}
	var p placement
	if err := json.Unmarshal([]byte(vals[settings.DesktopWindow]), &p); err != nil || !p.usable() {
		return placement{}, false
	}
	return p, true
}

// saveWindowPlacement keeps the window's placement for the next run; an unusable one (a
// minimised window reports 0×0) is not kept.
func (a *App) saveWindowPlacement(p placement) {
	if a.inst == nil || !p.usable() {
		return
	}
	b, _ := json.Marshal(p)
	if err := settings.New(a.inst.Store).Set(context.WithoutCancel(a.ctx), map[string]string{settings.DesktopWindow: string(b)}); err != nil {
		a.inst.Logger.Warn("remember the window's placement", "err", err)
	}
}

func (p placement) usable() bool {
	return p.Width >= minWindowWidth && p.Height >= minWindowHeight && p.Width <= maxWindowSide && p.Height <= maxWindowSide &&
		p.X > -maxWindowSide && p.X < maxWindowSide && p.Y > -maxWindowSide && p.Y < maxWindowSide
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
