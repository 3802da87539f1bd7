package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/nodes"
	"github.com/keygate/keygate/backend/testutil"
)

// TestListNodes: GET /api/v1/nodes shows the nodes registry — a running node with what it
// registered, and a node that went silent as gone, after the live one.
func TestListNodes(t *testing.T) {
	srv := testutil.NewServer(t)
	ctx, stop := context.WithCancel(context.Background())
	reg, done := make(chan string, 1), make(chan struct{})
	go func() {
		defer close(done)
		nodes.Heartbeat(ctx, srv.Store, nodes.Self{Version: "v9.8.7", Address: "http://127.0.0.1:8787"}, reg)
	}()
	defer func() { stop(); <-done }()
	id := <-reg
	srv.AddUser(t, "member@example.com", auth.RoleMember, srv.Org.ID)
	member := srv.Login(t, "member@example.com")

	var out console.NodeList
	if code := member.Call("GET", "/api/v1/nodes", nil, &out); code != 200 {
		t.Fatalf("list: %d", code)
	}
	if len(out.Nodes) != 1 {
		t.Fatalf("one node (this one), got %+v", out.Nodes)
	}
	n := out.Nodes[0]
	if n.ID != id || n.Version != "v9.8.7" || n.Address != "http://127.0.0.1:8787" || n.Name == "" || !n.Live ||
		n.StartedAt.IsZero() || n.LastSeenAt.Before(n.StartedAt) || time.Since(n.LastSeenAt) > time.Minute {
		t.Fatalf("node: %+v", n)
	}

	if _, err := srv.Store.Write.ExecContext(ctx, `INSERT INTO nodes (id, name, version, address, started_at, last_seen_at, requests_per_second)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, "node_silent", "old-host", "v0", "http://10.0.0.9:8787", 1, time.Now().Add(-time.Minute).UnixMilli(), 42); err != nil {
		t.Fatal(err)
	}
	if code := member.Call("GET", "/api/v1/nodes", nil, &out); code != 200 {
		t.Fatalf("list: %d", code)
	}
	if len(out.Nodes) != 2 || out.Nodes[0].ID != id || out.Nodes[1].ID != "node_silent" || out.Nodes[1].Live ||
		out.Nodes[1].RequestsPerSecond != 42 || out.Nodes[1].Name != "old-host" {
		t.Fatalf("with a silent node: %+v", out.Nodes)
	}
	// Signed out: nothing.
	if code := srv.Client(t).Call("GET", "/api/v1/nodes", nil, nil); code != 401 {
		t.Fatalf("anonymous: %d, want 401", code)
	}
}
