package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/keygate/keygate/backend/config"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/store"
)

// App is what the desktop window binds: each exported method is one console operation, a line
// or two over backend services. It opens the store in startup, never before wails.Run.
type App struct {
	dataDirFlag string

	ctx    context.Context
	cancel context.CancelFunc
	st     *store.Store
	orgs   *orgs.Service
	keys   *keys.Service
	err    error // why startup failed, reported by every call
}

// NewApp returns an App that will use the data directory the flag (or environment) selects.
func NewApp(dataDirFlag string) *App { return &App{dataDirFlag: dataDirFlag} }

func (a *App) startup(ctx context.Context) {
	a.ctx, a.cancel = context.WithCancel(ctx)
	dir, err := config.DataDir(a.dataDirFlag)
	if err != nil {
		a.err = err
		return
	}
	st, err := store.Open(a.ctx, dir)
	if err != nil {
		a.err = err
		return
	}
	a.st, a.orgs, a.keys = st, orgs.New(st, nil), keys.New(st)
	if _, err := a.orgs.EnsureDefault(a.ctx); err != nil {
		a.err = err
		return
	}
	go a.keys.Run(a.ctx)
}

func (a *App) shutdown(context.Context) {
	if a.cancel != nil {
		a.cancel()
	}
	if a.keys != nil {
		a.keys.FlushUsage(context.Background())
	}
	if a.st != nil {
		a.st.Close()
	}
}

// ServeHTTP answers the window's requests that are not static assets.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not found", http.StatusNotFound)
}

func (a *App) ready() error {
	if a.err != nil {
		return fmt.Errorf("keygate could not start: %w", a.err)
	}
	if a.st == nil {
		return fmt.Errorf("keygate is still starting")
	}
	return nil
}

// CreateKeyInput is the input of CreateKey.
type CreateKeyInput struct {
	Org     string `json:"org"`
	Name    string `json:"name"`
	Expires string `json:"expires"`
}

// CreateKey makes a key and returns its secret, once.
func (a *App) CreateKey(in CreateKeyInput) (keys.Created, error) {
	if err := a.ready(); err != nil {
		return keys.Created{}, err
	}
	org, err := a.org(in.Org)
	if err != nil {
		return keys.Created{}, err
	}
	return a.keys.Create(a.ctx, keys.CreateParams{OrgID: org, Name: in.Name, Expires: in.Expires, CreatedBy: "local"})
}

// ListKeys lists keys, newest first.
func (a *App) ListKeys(org, status, cursor string) (keys.Page, error) {
	if err := a.ready(); err != nil {
		return keys.Page{}, err
	}
	org, err := a.org(org)
	if err != nil {
		return keys.Page{}, err
	}
	return a.keys.List(a.ctx, keys.ListParams{OrgID: org, Status: keys.Status(status), Cursor: cursor})
}

// GetKey returns one key.
func (a *App) GetKey(org, id string) (keys.Key, error) {
	if err := a.ready(); err != nil {
		return keys.Key{}, err
	}
	return a.keys.Get(a.ctx, org, id)
}

// RevokeKey revokes a key.
func (a *App) RevokeKey(org, id, reason string) (keys.Key, error) {
	if err := a.ready(); err != nil {
		return keys.Key{}, err
	}
	return a.keys.Revoke(a.ctx, org, id, reason)
}

func (a *App) org(id string) (string, error) {
	if id != "" {
		return id, nil
	}
	o, err := a.orgs.EnsureDefault(a.ctx)
	return o.ID, err
}
