package console_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/listen"
	"github.com/keygate/keygate/backend/testutil"
)

// freePort is a loopback port nothing listens on (at the moment it is returned).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// answers reports whether something accepts HTTP on the loopback port, and fails the test
// on an error other than a refused connection.
func answers(t *testing.T, port int) bool {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/nothing-here")
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return false
		}
		t.Fatalf("port %d: %v", port, err)
	}
	resp.Body.Close()
	return true
}

// TestPortsMoveTheGateway: over HTTP, an admin changes the gateway's port and the running
// gateway moves at once (the old port refuses, the new one answers); the console's port is
// kept for the next start; every bad port (out of range, taken, the other listener's) is 400
// VALIDATION on its field and changes nothing; members cannot change ports; each change is
// audited and stored.
func TestPortsMoveTheGateway(t *testing.T) {
	consolePort := freePort(t)
	srv := testutil.NewServerWith(t, testutil.ServerOptions{RealGateway: &gateway.Config{},
		ConsoleListen: &listen.Choice{Addr: "127.0.0.1:" + strconv.Itoa(consolePort)}})
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	srv.AddUser(t, "member@example.com", auth.RoleMember, srv.Org.ID)
	c := srv.Login(t, "admin@example.com")
	ctx := context.Background()

	var p console.Ports
	if code := c.Call("GET", "/api/v1/gateway/ports", nil, &p); code != 200 || p.Gateway.Port != 8787 || p.Gateway.Listen != "127.0.0.1:8787" ||
		p.Gateway.FixedBy != "" || p.Console.Port != 8788 || p.Console.Listen != "127.0.0.1:"+strconv.Itoa(consolePort) || !p.Console.Pending {
		t.Fatalf("defaults: %d %+v", code, p)
	}

	// A stopped gateway takes the port for its next start.
	first := freePort(t)
	if code := c.Call("PUT", "/api/v1/gateway/ports", map[string]any{"gatewayPort": first}, &p); code != 200 ||
		p.Gateway.Port != first || p.Gateway.Listen != "127.0.0.1:"+strconv.Itoa(first) || p.Gateway.Pending {
		t.Fatalf("set while stopped: %d %+v", code, p)
	}
	if err := srv.Gateway.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !answers(t, first) {
		t.Fatalf("the gateway does not answer on its port %d", first)
	}

	// A running gateway moves.
	second := freePort(t)
	if code := c.Call("PUT", "/api/v1/gateway/ports", map[string]any{"gatewayPort": second, "consolePort": consolePort}, &p); code != 200 ||
		p.Gateway.Port != second || !srv.Gateway.Status().Running || srv.Gateway.Status().Listen != "127.0.0.1:"+strconv.Itoa(second) {
		t.Fatalf("move: %d %+v %+v", code, p, srv.Gateway.Status())
	}
	if answers(t, first) {
		t.Errorf("the old port %d still answers", first)
	}
	if !answers(t, second) {
		t.Errorf("the new port %d does not answer", second)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		body        map[string]any
		field, code string
	}{
		{map[string]any{"gatewayPort": 65536}, "gatewayPort", "range"},
		{map[string]any{"gatewayPort": -1}, "gatewayPort", "range"},
		{map[string]any{"consolePort": 70000}, "consolePort", "range"},
		{map[string]any{"gatewayPort": taken}, "gatewayPort", "taken"},
		{map[string]any{"consolePort": taken}, "consolePort", "taken"},
		{map[string]any{"gatewayPort": consolePort}, "gatewayPort", "conflict"},
		{map[string]any{"consolePort": second}, "consolePort", "conflict"},
		{map[string]any{"gatewayPort": 8900, "consolePort": 8900}, "gatewayPort", "conflict"},
	} {
		pr := c.Problem("PUT", "/api/v1/gateway/ports", tc.body)
		if pr.Status != 400 || pr.Code != "VALIDATION" || len(pr.Fields) != 1 || pr.Fields[0].Field != tc.field || pr.Fields[0].Code != tc.code ||
			pr.Fields[0].Detail == "" {
			t.Errorf("%v: %+v", tc.body, pr)
		}
	}
	pr := c.Problem("PUT", "/api/v1/gateway/ports", map[string]any{"gatewayPort": taken})
	if want := fmt.Sprintf("Port %d is in use by another program. Choose another port.", taken); pr.Fields[0].Detail != want {
		t.Errorf("taken: %q, want %q", pr.Fields[0].Detail, want)
	}
	if m := srv.Login(t, "member@example.com").Problem("PUT", "/api/v1/gateway/ports", map[string]any{"gatewayPort": freePort(t)}); m.Status != 403 {
		t.Errorf("a member changed the ports: %+v", m)
	}
	if got, _ := listen.Stored(ctx, srv.Store, listen.Gateway); got != second || srv.Gateway.Status().Listen != "127.0.0.1:"+strconv.Itoa(second) || !answers(t, second) {
		t.Fatalf("a refused change changed something: stored %d, %+v", got, srv.Gateway.Status())
	}

	// The console's port is kept for the next start; the console keeps its address meanwhile.
	next := freePort(t)
	if code := c.Call("PUT", "/api/v1/gateway/ports", map[string]any{"consolePort": next}, &p); code != 200 || p.Console.Port != next ||
		!p.Console.Pending || p.Console.Listen != "127.0.0.1:"+strconv.Itoa(consolePort) || p.Gateway.Port != second {
		t.Fatalf("console port: %d %+v", code, p)
	}
	if got, _ := listen.Stored(ctx, srv.Store, listen.Console); got != next {
		t.Errorf("console port stored %d, want %d", got, next)
	}
	es, err := srv.Audit.List(ctx, audit.Filter{Action: audit.SettingsUpdate})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 || es[0].Target != "ports" || es[0].Detail != fmt.Sprintf("gateway port %d, console port %d (the console's from the next start)", second, next) {
		t.Errorf("audit: %+v", es)
	}
}

// TestPortsFixedByAFlag: a port a flag or environment variable sets cannot be changed from the
// console (400 naming what fixes it); saving the same value is no change.
func TestPortsFixedByAFlag(t *testing.T) {
	at := "127.0.0.1:" + strconv.Itoa(freePort(t))
	srv := testutil.NewServerWith(t, testutil.ServerOptions{Desktop: true, RealGateway: &gateway.Config{},
		GatewayListen: listen.Override{Addr: at, By: listen.EnvGateway}})
	l, err := srv.Console.Local()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := console.Do[console.Ports](ctx, l, "GetPorts", console.NoInput{})
	if err != nil || p.Gateway.FixedBy != listen.EnvGateway || p.Gateway.Listen != at || p.Console.Listen != "" {
		t.Fatalf("get: %+v %v", p, err)
	}
	_, err = console.Do[console.Ports](ctx, l, "UpdatePorts", console.PortsInput{GatewayPort: freePort(t)})
	if err == nil || !strings.Contains(err.Error(), `"field":"gatewayPort","code":"fixed"`) || !strings.Contains(err.Error(), "KEYGATE_LISTEN sets this address") {
		t.Fatalf("a fixed port changed: %v", err)
	}
	if _, err := console.Do[console.Ports](ctx, l, "UpdatePorts", console.PortsInput{GatewayPort: p.Gateway.Port}); err != nil {
		t.Fatalf("the same port: %v", err)
	}
	if srv.Gateway.Status().Listen != at {
		t.Fatalf("moved: %+v", srv.Gateway.Status())
	}
}
