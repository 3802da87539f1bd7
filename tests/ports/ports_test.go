// Package ports_test checks the gateway's and the console's ports as settings end to end: the
// real keygate binary, its CLI, and `keygate serve` over sockets. The CLI stores the ports,
// serve listens on them, the console API moves the running gateway (the old port refuses, the
// new one forwards, the nodes registry follows), the CLI beside the running server moves it
// too (change feed), the change survives a restart, and $KEYGATE_LISTEN and --listen override
// the setting in that order.
package ports_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/tests/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// through sends GET /hello with key to the gateway on port: the upstream's body, or "" when
// the port refuses connections.
func through(t *testing.T, port int, key string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(port)+"/hello", nil)
	req.Header.Set("x-api-key", key)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return ""
		}
		t.Fatalf("port %d: %v", port, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("port %d: %d %s", port, resp.StatusCode, b)
	}
	return string(b)
}

func TestPortsAreSettings(t *testing.T) {
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	cli := func(args ...string) harness.CLIResult {
		t.Helper()
		r, err := harness.CLI(ctx, bin, dir, "", args...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "upstream ok") }))
	defer up.Close()
	if r := cli("routes", "add", "/", up.URL); r.Code != 0 {
		t.Fatalf("routes add: %+v", r)
	}
	var created struct{ Key string }
	if r := cli("keys", "create", "--name", "k", "--json"); r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &created) != nil || created.Key == "" {
		t.Fatalf("keys create: %+v", r)
	}
	const email, password = "admin@example.com", "a long enough password"
	if err := harness.AddAdmin(ctx, bin, dir, email, password); err != nil {
		t.Fatal(err)
	}

	// The CLI stores the ports; a bad or taken one is refused and changes nothing.
	g1, c1 := freePort(t), freePort(t)
	var ports struct {
		Gateway, Console struct {
			Port    int
			Listen  string
			FixedBy string
		}
	}
	if r := cli("gateway", "ports", "set", "--gateway-port", strconv.Itoa(g1), "--console-port", strconv.Itoa(c1), "--json"); r.Code != 0 ||
		json.Unmarshal([]byte(r.Stdout), &ports) != nil || ports.Gateway.Port != g1 || ports.Console.Port != c1 {
		t.Fatalf("ports set: %+v", r)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	taken := busy.Addr().(*net.TCPAddr).Port
	for _, bad := range [][]string{{"--gateway-port", "0"}, {"--gateway-port", "65536"}, {"--console-port", strconv.Itoa(taken)}, {"--gateway-port", strconv.Itoa(c1)}} {
		r := cli(append([]string{"gateway", "ports", "set"}, bad...)...)
		if r.Code == 0 || r.Stderr == "" {
			t.Errorf("%v accepted: %+v", bad, r)
		}
	}
	if r := cli("gateway", "ports", "set", "--console-port", strconv.Itoa(taken)); !strings.Contains(r.Stderr, "in use by another program") {
		t.Errorf("taken port: %+v", r)
	}
	busy.Close()
	if r := cli("gateway", "ports", "get", "--json"); json.Unmarshal([]byte(r.Stdout), &ports) != nil || ports.Gateway.Port != g1 || ports.Console.Port != c1 {
		t.Fatalf("a refused change changed the ports: %+v", r)
	}

	// serve listens where the settings say.
	srv, err := harness.Start(bin, dir, harness.Options{PortSettings: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Stop() }()
	if srv.GatewayURL != "http://127.0.0.1:"+strconv.Itoa(g1) || srv.ConsoleURL != "http://127.0.0.1:"+strconv.Itoa(c1) {
		t.Fatalf("serve listens on %s and %s, want ports %d and %d", srv.GatewayURL, srv.ConsoleURL, g1, c1)
	}
	if got := through(t, g1, created.Key); got != "upstream ok" {
		t.Fatalf("through the gateway: %q", got)
	}

	// The console API moves the running gateway.
	c := testutil.NewClient(nil, srv.ConsoleURL)
	if err := c.SignIn(ctx, email, password); err != nil {
		t.Fatal(err)
	}
	g2 := freePort(t)
	if err := c.Send(ctx, "PUT", "/api/v1/gateway/ports", map[string]int{"gatewayPort": g2}, &ports); err != nil {
		t.Fatal(err)
	}
	if ports.Gateway.Listen != "127.0.0.1:"+strconv.Itoa(g2) {
		t.Fatalf("after the move: %+v", ports)
	}
	if got := through(t, g1, created.Key); got != "" {
		t.Errorf("the old port %d still answers: %q", g1, got)
	}
	if got := through(t, g2, created.Key); got != "upstream ok" {
		t.Errorf("the new port %d: %q", g2, got)
	}
	// The nodes registry follows the move at the next heartbeat (every 5 s).
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		var list struct{ Nodes []struct{ Address string } }
		r := cli("nodes", "list", "--json")
		if json.Unmarshal([]byte(r.Stdout), &list) == nil && len(list.Nodes) == 1 && list.Nodes[0].Address == "http://127.0.0.1:"+strconv.Itoa(g2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes list after the move: %+v", r)
		}
	}
	// The command line beside the running server: the gateway follows on the change feed.
	g5 := freePort(t)
	if r := cli("gateway", "ports", "set", "--gateway-port", strconv.Itoa(g5)); r.Code != 0 {
		t.Fatalf("ports set beside the server: %+v", r)
	}
	for deadline := time.Now().Add(5 * time.Second); through(t, g5, created.Key) != "upstream ok"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the running gateway did not follow the command line to port %d", g5)
		}
	}
	if got := through(t, g2, created.Key); got != "" {
		t.Errorf("port %d still answers after the command line moved the gateway: %q", g2, got)
	}
	g2 = g5 // what the restart below must find
	var apiErr *testutil.APIError
	if err := c.Send(ctx, "PUT", "/api/v1/gateway/ports", map[string]int{"gatewayPort": 70000}, nil); !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Errorf("port 70000: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	// The new port survives a restart; $KEYGATE_LISTEN overrides it, and --listen overrides both.
	srv, err = harness.Start(bin, dir, harness.Options{PortSettings: true})
	if err != nil {
		t.Fatal(err)
	}
	if srv.GatewayURL != "http://127.0.0.1:"+strconv.Itoa(g2) {
		t.Fatalf("after a restart the gateway is on %s, want port %d", srv.GatewayURL, g2)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	g3, g4 := freePort(t), freePort(t)
	env := []string{"KEYGATE_LISTEN=127.0.0.1:" + strconv.Itoa(g3)}
	srv, err = harness.Start(bin, dir, harness.Options{PortSettings: true, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if srv.GatewayURL != "http://127.0.0.1:"+strconv.Itoa(g3) {
		t.Fatalf("with KEYGATE_LISTEN the gateway is on %s, want port %d", srv.GatewayURL, g3)
	}
	c = testutil.NewClient(nil, srv.ConsoleURL)
	if err := c.SignIn(ctx, email, password); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, "GET", "/api/v1/gateway/ports", nil, &ports); err != nil || ports.Gateway.FixedBy != "KEYGATE_LISTEN" || ports.Gateway.Port != g2 {
		t.Fatalf("ports with KEYGATE_LISTEN: %+v %v", ports, err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	srv, err = harness.Start(bin, dir, harness.Options{PortSettings: true, Env: env, Args: []string{"--listen", "127.0.0.1:" + strconv.Itoa(g4)}})
	if err != nil {
		t.Fatal(err)
	}
	if srv.GatewayURL != "http://127.0.0.1:"+strconv.Itoa(g4) {
		t.Fatalf("with --listen and KEYGATE_LISTEN the gateway is on %s, want port %d", srv.GatewayURL, g4)
	}
}
