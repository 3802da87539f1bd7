package listen_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/keygate/keygate/backend/listen"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/testutil"
)

// TestResolvePrecedence: the flag beats the environment variable, which beats the stored port
// (on the loopback host), which beats the default; an unusable stored value is ignored.
func TestResolvePrecedence(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	get := func(l listen.Listener, ov listen.Override) listen.Choice {
		t.Helper()
		c, err := listen.Resolve(ctx, st, l, ov)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := get(listen.Gateway, listen.Override{}); c != (listen.Choice{Addr: "127.0.0.1:8787"}) {
		t.Errorf("default gateway: %+v", c)
	}
	if c := get(listen.Console, listen.Override{}); c != (listen.Choice{Addr: "127.0.0.1:8788"}) {
		t.Errorf("default console: %+v", c)
	}
	if err := listen.Save(ctx, st, 9100, 0); err != nil {
		t.Fatal(err)
	}
	if c := get(listen.Gateway, listen.Override{}); c != (listen.Choice{Addr: "127.0.0.1:9100"}) {
		t.Errorf("stored: %+v", c)
	}
	if c := get(listen.Console, listen.Override{}); c.Addr != "127.0.0.1:8788" {
		t.Errorf("saving the gateway's port changed the console's: %+v", c)
	}

	t.Setenv(listen.EnvGateway, "127.0.0.1:9200")
	ov := listen.FromFlagOrEnv("listen", "127.0.0.1:8787", false, listen.EnvGateway)
	if c := get(listen.Gateway, ov); c != (listen.Choice{Addr: "127.0.0.1:9200", FixedBy: "KEYGATE_LISTEN"}) {
		t.Errorf("env: %+v", c)
	}
	ov = listen.FromFlagOrEnv("listen", "127.0.0.1:9300", true, listen.EnvGateway)
	if c := get(listen.Gateway, ov); c != (listen.Choice{Addr: "127.0.0.1:9300", FixedBy: "--listen"}) {
		t.Errorf("flag: %+v", c)
	}
}

// TestPortErrors: each refusal is a *problem.Invalid on the listener's field that errors.Is
// tells apart.
func TestPortErrors(t *testing.T) {
	for _, p := range []int{0, -1, 65536, 1 << 40} {
		if err := listen.CheckPort(listen.Console, p); !errors.Is(err, listen.ErrInvalidPort) || problem.Invalids(err)[0].Field != "consolePort" {
			t.Errorf("port %d: %v", p, err)
		}
	}
	for _, p := range []int{1, 8787, 65535} {
		if err := listen.CheckPort(listen.Gateway, p); err != nil {
			t.Errorf("port %d: %v", p, err)
		}
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	err = listen.CheckFree(listen.Gateway, busy.Addr().String())
	if !errors.Is(err, listen.ErrPortTaken) || problem.Invalids(err)[0].Code != "taken" || problem.Invalids(err)[0].Field != "gatewayPort" {
		t.Errorf("taken: %v", err)
	}
	if got := listen.WithPort("[::1]:8787", 9000); got != "[::1]:9000" {
		t.Errorf("WithPort: %s", got)
	}
}
