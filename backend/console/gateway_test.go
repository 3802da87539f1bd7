package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/testutil"
)

// fakeGateway stands in for *gateway.Server.
type fakeGateway struct{ running bool }

func (g *fakeGateway) Status() gateway.Status {
	if !g.running {
		return gateway.Status{Listen: "127.0.0.1:8787"}
	}
	t := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	return gateway.Status{Running: true, URL: "http://127.0.0.1:8787", Listen: "127.0.0.1:8787", StartedAt: &t}
}
func (g *fakeGateway) Start(context.Context) error { g.running = true; return nil }
func (g *fakeGateway) Stop(context.Context) error  { g.running = false; return nil }
func (g *fakeGateway) Gateway() *gateway.Gateway   { return nil }

func TestDesktopStartsAndStopsTheGateway(t *testing.T) {
	gw := &fakeGateway{}
	srv := testutil.NewServerWith(t, testutil.ServerOptions{Desktop: true, Gateway: gw})
	l, err := srv.Console.Local()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := console.Do[console.GatewayStatus](ctx, l, "StartGateway", console.NoInput{})
	if err != nil || !st.Running || !st.CanControl || st.URL != "http://127.0.0.1:8787" {
		t.Fatalf("start: %+v %v", st, err)
	}
	st, err = console.Do[console.GatewayStatus](ctx, l, "StopGateway", console.NoInput{})
	if err != nil || st.Running {
		t.Fatalf("stop: %+v %v", st, err)
	}
	es, _ := srv.Audit.List(ctx, audit.Filter{})
	if len(es) != 2 || es[0].Action != audit.GatewayStop || es[1].Action != audit.GatewayStart || es[0].Actor != audit.ActorLocal {
		t.Fatalf("audit: %+v", es)
	}
	if _, err := console.Do[console.GatewayStatus](ctx, l, "NoSuchOperation", console.NoInput{}); err == nil {
		t.Fatal("unknown operation ran")
	}
	if _, err := console.Do[console.GatewayStatus](ctx, l, "StartGateway", console.CreateKeyInput{}); err == nil {
		t.Fatal("wrong input type accepted")
	}
}
