package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
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
	// Org is the Default organization.
	Org orgs.Org
}

// ServerOptions tune NewServer.
type ServerOptions struct {
	Desktop bool
	Gateway console.Gateway
	Handler console.HandlerOptions
	Auth    []auth.Option
}

// NewServer starts a serve-mode console on an httptest server.
func NewServer(t testing.TB) *Server { return NewServerWith(t, ServerOptions{}) }

// NewServerWith starts a console with options. It is wired by instance.Open, as the desktop
// app and `keygate serve` are.
func NewServerWith(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	clk := NewClock()
	inst, err := instance.Open(context.Background(), instance.Options{Store: NewStore(t), Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Desktop: o.Desktop, ConsoleGateway: o.Gateway,
		Auth: append([]auth.Option{auth.WithPasswordParams(CheapPasswords)}, o.Auth...)})
	if err != nil {
		t.Fatalf("open instance: %v", err)
	}
	t.Cleanup(func() { inst.Close(context.Background()) })
	s := &Server{Store: inst.Store, Clock: clk, Auth: inst.Auth, Keys: inst.Keys, Orgs: inst.Orgs, Audit: inst.Audit,
		Routes: inst.Routes, Console: inst.Console, Org: inst.Org}
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

// Client is a browser-like client of a Server: it keeps cookies, sends the console's Origin
// and, once signed in, the CSRF token.
type Client struct {
	t      testing.TB
	srv    *Server
	HTTP   *http.Client
	CSRF   string
	Origin string
	// Lang is sent as Accept-Language when set.
	Lang string
}

// Client returns a fresh, signed-out client.
func (s *Server) Client(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, srv: s, HTTP: &http.Client{Jar: jar}, Origin: s.URL}
}

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

// Do sends a request with a JSON body (nil for none) and returns the response, body read.
func (c *Client) Do(method, path string, body any, hdr ...string) (*http.Response, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, r)
	if err != nil {
		c.t.Fatalf("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Origin != "" {
		req.Header.Set("Origin", c.Origin)
	}
	if c.CSRF != "" {
		req.Header.Set("X-CSRF-Token", c.CSRF)
	}
	if c.Lang != "" {
		req.Header.Set("Accept-Language", c.Lang)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// Call sends a request and decodes a successful JSON answer into out (if not nil); it returns
// the status.
func (c *Client) Call(method, path string, body, out any) int {
	c.t.Helper()
	resp, b := c.Do(method, path, body)
	if out != nil && resp.StatusCode < 300 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

// Problem is a decoded problem+json answer.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Fields []struct {
		Field  string `json:"field"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	} `json:"fields"`
}

// Problem sends a request that must fail and returns its decoded problem document.
func (c *Client) Problem(method, path string, body any, hdr ...string) Problem {
	c.t.Helper()
	resp, b := c.Do(method, path, body, hdr...)
	if resp.StatusCode < 400 {
		c.t.Fatalf("%s %s: status %d, want an error; body %s", method, path, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		c.t.Fatalf("%s %s: content type %q, want application/problem+json; body %s", method, path, ct, b)
	}
	var p Problem
	if err := json.Unmarshal(b, &p); err != nil {
		c.t.Fatalf("%s %s: decode problem %q: %v", method, path, b, err)
	}
	if p.Status != resp.StatusCode {
		c.t.Fatalf("%s %s: problem status %d, response status %d", method, path, p.Status, resp.StatusCode)
	}
	return p
}
