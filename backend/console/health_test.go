package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/testutil"
)

type runningGateway struct{ running bool }

func (g *runningGateway) Status() gateway.Status          { return gateway.Status{Running: g.running} }
func (g *runningGateway) Start(ctx context.Context) error { return nil }
func (g *runningGateway) Stop(ctx context.Context) error  { return nil }
func (g *runningGateway) Gateway() *gateway.Gateway       { return nil }

func probe(t *testing.T, srv *testutil.Server, method, path, host string) (int, console.Health) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, want JSON", method, path, ct)
	}
	var h console.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, h
}

func TestHealthAndReadiness(t *testing.T) {
	gw := &runningGateway{running: true}
	srv := testutil.NewServerWith(t, testutil.ServerOptions{Gateway: gw,
		Handler: console.HandlerOptions{AllowedHosts: []string{"localhost:1"}}})

	// A load balancer probes by address: the Host allowlist does not apply to the probes.
	if code, h := probe(t, srv, "GET", "/healthz", "10.0.0.7:8788"); code != 200 || h.Status != "ok" {
		t.Fatalf("healthz: %d %+v", code, h)
	}
	code, h := probe(t, srv, "GET", "/readyz", "10.0.0.7:8788")
	if code != 200 || h.Status != "ready" || h.Store != "ok" || h.Gateway != "running" || h.Engine == "" {
		t.Fatalf("readyz: %d %+v", code, h)
	}
	if code, _ := probe(t, srv, "POST", "/readyz", ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /readyz: %d", code)
	}

	gw.running = false
	if code, h := probe(t, srv, "GET", "/readyz", ""); code != 503 || h.Status != "unavailable" || h.Gateway != "stopped" {
		t.Fatalf("readyz with the gateway stopped: %d %+v", code, h)
	}
	gw.running = true
	srv.Store.Read.Close() // the database stops answering
	if code, h := probe(t, srv, "GET", "/readyz", ""); code != 503 || h.Store != "unreachable" {
		t.Fatalf("readyz without a store: %d %+v", code, h)
	}
	if code, h := probe(t, srv, "GET", "/healthz", ""); code != 200 || h.Status != "ok" {
		t.Fatalf("healthz without a store (the process still lives): %d %+v", code, h)
	}
	// Everything else still goes through the Host check.
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/session", nil)
	req.Host = "10.0.0.7:8788"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("the API answered a foreign Host: %d", resp.StatusCode)
	}
}
