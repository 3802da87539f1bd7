package instance_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/listen"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
)

// TestOpenWiresOneInstance: the services share one store, the default organization exists,
// the console runs operations over them and starts the gateway; Close stops everything.
func TestOpenWiresOneInstance(t *testing.T) {
	ctx := context.Background()
	inst, err := instance.Open(ctx, instance.Options{DataDir: t.TempDir(), Desktop: true, LongRunning: true,
		Auth:    []auth.Option{auth.WithPasswordParams(testutil.CheapPasswords)},
		Gateway: &gateway.Config{Listen: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Org.ID == "" || inst.Gateway == nil {
		t.Fatalf("default org %+v, gateway %v", inst.Org, inst.Gateway)
	}
	l, err := inst.Console.Local()
	if err != nil {
		t.Fatal(err)
	}
	created, err := console.Do[keys.Created](ctx, l, "CreateKey", console.CreateKeyInput{Name: "wired"})
	if err != nil {
		t.Fatal(err)
	}
	if k, err := inst.Keys.Get(ctx, inst.Org.ID, created.ID); err != nil || k.Name != "wired" {
		t.Fatalf("the key service does not see the console's key: %+v %v", k, err)
	}
	st, err := console.Do[console.GatewayStatus](ctx, l, "StartGateway", console.NoInput{})
	if err != nil || !st.Running || inst.Documents("test", nil).GatewayURL() != st.URL {
		t.Fatalf("gateway: %+v %v", st, err)
	}

	if err := inst.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if inst.Gateway.URL() != "" {
		t.Fatal("the gateway still runs after Close")
	}
	if err := inst.Store.Read.PingContext(ctx); err == nil {
		t.Fatal("Close left the store it opened open")
	}
}

// TestOpenKeepsTheCallersStore: a store handed in is the caller's to close.
func TestOpenKeepsTheCallersStore(t *testing.T) {
	st := testutil.NewStore(t)
	inst, err := instance.Open(context.Background(), instance.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Gateway != nil {
		t.Fatal("a gateway was built without Options.Gateway")
	}
	if err := inst.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Read.PingContext(context.Background()); err != nil {
		t.Fatalf("Close closed the caller's store: %v", err)
	}
}

// TestGatewayFollowsItsPortSetting: a long-running instance whose gateway port is the setting
// moves its running gateway when the stored port changes (as `keygate gateway ports set` in
// another process does), on both store engines' change feeds; one fixed by a flag does not.
func TestGatewayFollowsItsPortSetting(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	free := func() int { return freePort(t) }
	first, second := free(), free()
	inst := startOnStoredPort(t, st, first)
	if err := listen.Save(ctx, st, second, 0); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); inst.Gateway.Status().Listen != "127.0.0.1:"+strconv.Itoa(second); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not follow its stored port: %+v", inst.Gateway.Status())
		}
	}
	if !inst.Gateway.Status().Running {
		t.Fatal("the gateway stopped on its way to the new port")
	}

	fixed := "127.0.0.1:" + strconv.Itoa(free())
	other, err := instance.Open(ctx, instance.Options{Store: st, LongRunning: true, Gateway: &gateway.Config{},
		GatewayListen: listen.Override{Addr: fixed, By: "--listen"}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if err := listen.Save(ctx, st, free(), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the change feed has spoken by now (SQLite polls every 200 ms)
	if got := other.Gateway.Status().Listen; got != fixed {
		t.Fatalf("a gateway fixed by a flag followed the setting: %s", got)
	}
}

// TestGatewayRetriesABusyPort: a stored port another program still holds leaves the gateway
// where it is, and the gateway moves there once the port is free, without another change.
func TestGatewayRetriesABusyPort(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	firstPort := freePort(t)
	inst := startOnStoredPort(t, st, firstPort)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busyPort := busy.Addr().(*net.TCPAddr).Port
	if err := listen.Save(ctx, st, busyPort, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond) // the feed has spoken, the move failed
	if got := inst.Gateway.Status().Listen; got != "127.0.0.1:"+strconv.Itoa(firstPort) || !inst.Gateway.Status().Running {
		t.Fatalf("with its new port busy the gateway is at %s (running %v), want still at %d", got, inst.Gateway.Status().Running, firstPort)
	}
	busy.Close()
	want := "127.0.0.1:" + strconv.Itoa(busyPort)
	for deadline := time.Now().Add(10 * time.Second); inst.Gateway.Status().Listen != want; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway never moved to its port once it was free: %+v", inst.Gateway.Status())
		}
	}
}

// freePort is a loopback port nothing listens on at the moment.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startOnStoredPort stores port as the gateway's, opens a long-running instance (closed when the
// test ends) and starts its gateway, which must listen there.
func startOnStoredPort(t *testing.T, st *store.Store, port int) *instance.Instance {
	t.Helper()
	ctx := context.Background()
	if err := listen.Save(ctx, st, port, 0); err != nil {
		t.Fatal(err)
	}
	inst, err := instance.Open(ctx, instance.Options{Store: st, LongRunning: true, Gateway: &gateway.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close(ctx) })
	if err := inst.Gateway.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := inst.Gateway.Status().Listen; got != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("the gateway listens on %s, want the stored port %d", got, port)
	}
	return inst
}
