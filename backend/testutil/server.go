package testutil

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/listen"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/webhooks"
)

// CheapPasswords are argon2id parameters that keep tests fast; never use them outside tests.
var CheapPasswords = auth.PasswordParams{Memory: 64, Time: 1, Threads: 1}

// Password is the password NewServer's users get.
const Password = "correct horse battery"

// Server is a console (serve mode unless Desktop) over a fresh store with a fake clock.
type Server struct {
	*httptest.Server
	Store   *store.Store
	Clock   *clock.Fake
	Auth    *auth.Service
	Keys    *keys.Service
	Orgs    *orgs.Service
	Audit   *audit.Log
	Routes  *routes.Service
	Console *console.Service
	// Gateway is the real gateway server when ServerOptions.RealGateway asked for one (stopped
	// until the test starts it; closed with the server).
	Gateway *gateway.Server
	// Webhooks delivers nothing by itself (the server is not long-running): tests call
	// DeliverDue.
	Webhooks *webhooks.Service
	// Org is the Default organization.
	Org orgs.Org
}

// ServerOptions tune NewServer.
type ServerOptions struct {
	Desktop bool
	Gateway console.Gateway
	Handler console.HandlerOptions
	Auth    []auth.Option
	// RealGateway builds a real gateway server from this config (instead of Gateway); its
	// address comes from GatewayListen, else the port setting, as in the hosts.
	RealGateway   *gateway.Config
	GatewayListen listen.Override
	// ConsoleListen is the console listener the ports operations report (as serve's).
	ConsoleListen *listen.Choice
}

// NewServer starts a serve-mode console on an httptest server.
func NewServer(t testing.TB) *Server { return NewServerWith(t, ServerOptions{}) }

// NewServerWith starts a console with options. It is wired by instance.Open, as the desktop
// app and `keygate serve` are.
func NewServerWith(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	clk := NewClock()
	inst, err := instance.Open(context.Background(), instance.Options{Store: NewStore(t), DataDir: t.TempDir(), Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Desktop: o.Desktop, ConsoleGateway: o.Gateway,
		Gateway: o.RealGateway, GatewayListen: o.GatewayListen, ConsoleListen: o.ConsoleListen,
		Auth: append([]auth.Option{auth.WithPasswordParams(CheapPasswords)}, o.Auth...)})
	if err != nil {
		t.Fatalf("open instance: %v", err)
	}
	t.Cleanup(func() { inst.Close(context.Background()) })
	s := &Server{Store: inst.Store, Clock: clk, Auth: inst.Auth, Keys: inst.Keys, Orgs: inst.Orgs, Audit: inst.Audit,
		Routes: inst.Routes, Console: inst.Console, Webhooks: inst.Webhooks, Org: inst.Org, Gateway: inst.Gateway}
	h := o.Handler
	if h.Assets == nil {
		h.Assets = fstest.MapFS{
			"index.html":          {Data: []byte("<!doctype html><title>Keygate</title>")},
			"assets/app-1a2b.js":  {Data: []byte("console.log(1)")},
			"assets/app-1a2b.css": {Data: []byte("body{}")},
		}
	}
	s.Server = httptest.NewServer(s.Console.Handler(h))
	t.Cleanup(s.Server.Close)
	return s
}

// AddUser creates a user with Password and the role in org ("" role: no membership).
func (s *Server) AddUser(t testing.TB, email string, role auth.Role, org string) auth.User {
	t.Helper()
	nu := auth.NewUser{Email: email, Password: Password}
	if role != "" {
		nu.OrgID, nu.Role = org, role
	}
	u, err := s.Auth.CreateUser(context.Background(), nu)
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// Client returns a fresh, signed-out client of the server.
func (s *Server) Client(t testing.TB) *Client { return NewClient(t, s.URL) }

// Login signs in as email with Password and fails the test if that does not work.
func (s *Server) Login(t testing.TB, email string) *Client {
	t.Helper()
	c := s.Client(t)
	var out struct {
		CSRFToken string `json:"csrfToken"`
	}
	if code := c.Call("POST", "/api/v1/session", map[string]string{"email": email, "password": Password}, &out); code != 200 {
		t.Fatalf("login %s: status %d", email, code)
	}
	c.CSRF = out.CSRFToken
	return c
}
