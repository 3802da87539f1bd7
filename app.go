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
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/openapi/documents"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/routes"
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

// The bound methods: one per console operation (backend/console), same name, same input and
// output types; app_test.go checks that nothing is missing or extra.

// GetMe runs the console operation of that name: the signed-in user, their organizations and the CSRF token.
func (a *App) GetMe(in console.NoInput) (console.Me, error) {
	return console.Do[console.Me](a.ctx, a.console, "GetMe", in)
}

// Login runs the console operation of that name: sign in with e-mail address and password; sets the session cookie.
func (a *App) Login(in console.LoginInput) (console.SessionOutput, error) {
	return console.Do[console.SessionOutput](a.ctx, a.console, "Login", in)
}

// Logout runs the console operation of that name: sign out: revoke the session.
func (a *App) Logout(in console.NoInput) (console.Empty, error) {
	return console.Do[console.Empty](a.ctx, a.console, "Logout", in)
}

// GetSetup runs the console operation of that name: whether the first admin still has to be created.
func (a *App) GetSetup(in console.NoInput) (console.SetupStatus, error) {
	return console.Do[console.SetupStatus](a.ctx, a.console, "GetSetup", in)
}

// CompleteSetup runs the console operation of that name: create the first admin with the one-time setup token; signs them in.
func (a *App) CompleteSetup(in console.CompleteSetupInput) (console.SessionOutput, error) {
	return console.Do[console.SessionOutput](a.ctx, a.console, "CompleteSetup", in)
}

// ListOrgs runs the console operation of that name: the organizations the caller belongs to, with their role.
func (a *App) ListOrgs(in console.NoInput) (console.OrgList, error) {
	return console.Do[console.OrgList](a.ctx, a.console, "ListOrgs", in)
}

// CreateOrg runs the console operation of that name: create an organization; the creator becomes its admin.
func (a *App) CreateOrg(in console.CreateOrgInput) (console.OrgView, error) {
	return console.Do[console.OrgView](a.ctx, a.console, "CreateOrg", in)
}

// GetOrg runs the console operation of that name: one organization.
func (a *App) GetOrg(in console.OrgInput) (console.OrgView, error) {
	return console.Do[console.OrgView](a.ctx, a.console, "GetOrg", in)
}

// RenameOrg runs the console operation of that name: rename an organization.
func (a *App) RenameOrg(in console.RenameOrgInput) (console.OrgView, error) {
	return console.Do[console.OrgView](a.ctx, a.console, "RenameOrg", in)
}

// ListKeys runs the console operation of that name: list keys, newest first, by status, a page at a time.
func (a *App) ListKeys(in console.ListKeysInput) (keys.Page, error) {
	return console.Do[keys.Page](a.ctx, a.console, "ListKeys", in)
}

// CreateKey runs the console operation of that name: create a key; the secret is in this answer and never again.
func (a *App) CreateKey(in console.CreateKeyInput) (keys.Created, error) {
	return console.Do[keys.Created](a.ctx, a.console, "CreateKey", in)
}

// GetKey runs the console operation of that name: one key (never its secret).
func (a *App) GetKey(in console.KeyInput) (keys.Key, error) {
	return console.Do[keys.Key](a.ctx, a.console, "GetKey", in)
}

// RenameKey runs the console operation of that name: rename a key.
func (a *App) RenameKey(in console.RenameKeyInput) (keys.Key, error) {
	return console.Do[keys.Key](a.ctx, a.console, "RenameKey", in)
}

// RevokeKey runs the console operation of that name: revoke a key at once (idempotent).
func (a *App) RevokeKey(in console.RevokeKeyInput) (keys.Key, error) {
	return console.Do[keys.Key](a.ctx, a.console, "RevokeKey", in)
}

// RollKey runs the console operation of that name: give a key a new secret; the old one works until the grace period ends.
func (a *App) RollKey(in console.RollKeyInput) (keys.Created, error) {
	return console.Do[keys.Created](a.ctx, a.console, "RollKey", in)
}

// ListRoutes runs the console operation of that name: the gateway's routes, in matching order.
func (a *App) ListRoutes(in console.NoInput) (console.RouteList, error) {
	return console.Do[console.RouteList](a.ctx, a.console, "ListRoutes", in)
}

// AddRoute runs the console operation of that name: add a route.
func (a *App) AddRoute(in console.RouteInput) (routes.Route, error) {
	return console.Do[routes.Route](a.ctx, a.console, "AddRoute", in)
}

// UpdateRoute runs the console operation of that name: replace a route's settings.
func (a *App) UpdateRoute(in console.UpdateRouteInput) (routes.Route, error) {
	return console.Do[routes.Route](a.ctx, a.console, "UpdateRoute", in)
}

// RemoveRoute runs the console operation of that name: remove a route.
func (a *App) RemoveRoute(in console.RouteIDInput) (console.Empty, error) {
	return console.Do[console.Empty](a.ctx, a.console, "RemoveRoute", in)
}

// GetGatewaySettings runs the console operation of that name: allowed CORS origins and the upstream timeout.
func (a *App) GetGatewaySettings(in console.NoInput) (console.GatewaySettings, error) {
	return console.Do[console.GatewaySettings](a.ctx, a.console, "GetGatewaySettings", in)
}

// UpdateGatewaySettings runs the console operation of that name: change the allowed CORS origins and the upstream timeout.
func (a *App) UpdateGatewaySettings(in console.GatewaySettings) (console.GatewaySettings, error) {
	return console.Do[console.GatewaySettings](a.ctx, a.console, "UpdateGatewaySettings", in)
}

// GetGatewayStatus runs the console operation of that name: whether the gateway runs, and where.
func (a *App) GetGatewayStatus(in console.NoInput) (console.GatewayStatus, error) {
	return console.Do[console.GatewayStatus](a.ctx, a.console, "GetGatewayStatus", in)
}

// StartGateway runs the console operation of that name: start the in-process gateway (desktop).
func (a *App) StartGateway(in console.NoInput) (console.GatewayStatus, error) {
	return console.Do[console.GatewayStatus](a.ctx, a.console, "StartGateway", in)
}

// StopGateway runs the console operation of that name: stop the in-process gateway (desktop).
func (a *App) StopGateway(in console.NoInput) (console.GatewayStatus, error) {
	return console.Do[console.GatewayStatus](a.ctx, a.console, "StopGateway", in)
}

// ListRequests runs the console operation of that name: recent gateway requests, newest first, by status, key and route.
func (a *App) ListRequests(in console.ListRequestsInput) (console.RequestList, error) {
	return console.Do[console.RequestList](a.ctx, a.console, "ListRequests", in)
}

// ListMembers runs the console operation of that name: an organization's members and their roles.
func (a *App) ListMembers(in console.OrgInput) (console.MemberList, error) {
	return console.Do[console.MemberList](a.ctx, a.console, "ListMembers", in)
}

// AddMember runs the console operation of that name: add a user to an organization, creating the account if needed.
func (a *App) AddMember(in console.AddMemberInput) (auth.Member, error) {
	return console.Do[auth.Member](a.ctx, a.console, "AddMember", in)
}

// ChangeMemberRole runs the console operation of that name: change a member's role.
func (a *App) ChangeMemberRole(in console.ChangeMemberRoleInput) (auth.Member, error) {
	return console.Do[auth.Member](a.ctx, a.console, "ChangeMemberRole", in)
}

// RemoveMember runs the console operation of that name: take a user out of an organization.
func (a *App) RemoveMember(in console.MemberInput) (console.Empty, error) {
	return console.Do[console.Empty](a.ctx, a.console, "RemoveMember", in)
}

// ListAudit runs the console operation of that name: recorded management actions, newest first.
func (a *App) ListAudit(in console.ListAuditInput) (console.AuditPage, error) {
	return console.Do[console.AuditPage](a.ctx, a.console, "ListAudit", in)
}

// GetCatalog runs the console operation of that name: the message catalog of a language, for the frontend.
func (a *App) GetCatalog(in console.LangInput) (i18n.Catalog, error) {
	return console.Do[i18n.Catalog](a.ctx, a.console, "GetCatalog", in)
}

// GetPreferences runs the console operation of that name: the caller's language and theme, and the languages on offer.
func (a *App) GetPreferences(in console.NoInput) (console.Preferences, error) {
	return console.Do[console.Preferences](a.ctx, a.console, "GetPreferences", in)
}

// UpdatePreferences runs the console operation of that name: save the caller's language and theme.
func (a *App) UpdatePreferences(in console.PreferencesInput) (console.Preferences, error) {
	return console.Do[console.Preferences](a.ctx, a.console, "UpdatePreferences", in)
}
