package nodes_test

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/nodes"
	"github.com/keygate/keygate/backend/testutil"
)

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	var served uint64
	run := func() (string, context.CancelFunc, chan struct{}) {
		cctx, cancel := context.WithCancel(ctx)
		reg, done := make(chan string, 1), make(chan struct{})
		go func() {
			defer close(done)
			nodes.Heartbeat(cctx, st, nodes.Self{Version: "v1", Address: "http://127.0.0.1:1", Requests: func() uint64 { return served }}, reg)
		}()
		return <-reg, cancel, done
	}
	a, stopA, doneA := run()
	b, stopB, doneB := run()
	defer func() { stopB(); <-doneB }()
	ns, err := nodes.List(ctx, st)
	if err != nil || len(ns) != 2 || !ns[0].Live || !ns[1].Live || ns[0].Version != "v1" || ns[0].Name == "" {
		t.Fatalf("two nodes: %+v %v", ns, err)
	}
	if n, _ := nodes.Others(ctx, st, a); n != 1 {
		t.Fatalf("others of a: %d", n)
	}
	// A node that stops says goodbye; one that went silent is shown as gone.
	stopA()
	<-doneA
	if _, err := st.Write.ExecContext(ctx, `INSERT INTO nodes (id, name, version, address, started_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?)`, "node_silent", "h", "v0", "http://x", 0, time.Now().Add(-time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	ns, _ = nodes.List(ctx, st)
	if len(ns) != 2 || ns[0].ID != b || !ns[0].Live || ns[1].ID != "node_silent" || ns[1].Live {
		t.Fatalf("after a stop and with a silent node: %+v", ns)
	}
	if n, _ := nodes.Others(ctx, st, b); n != 0 {
		t.Fatalf("a silent node counted as live: %d", n)
	}
}
