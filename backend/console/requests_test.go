package console_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/testutil"
)

// liveGateway is a fakeGateway whose request log is a real gateway's.
type liveGateway struct {
	fakeGateway
	gw *gateway.Gateway
}

func (g *liveGateway) Gateway() *gateway.Gateway { return g.gw }

// TestListRequestsKeepsStoredEntriesWithARepeatedRequestID: a client chooses its X-Request-Id;
// sending the same one again must not hide its older, persisted requests from the console.
func TestListRequestsKeepsStoredEntriesWithARepeatedRequestID(t *testing.T) {
	lg := &liveGateway{}
	srv := testutil.NewServerWith(t, testutil.ServerOptions{Gateway: lg})
	ctx := context.Background()
	var err error
	lg.gw, err = gateway.New(ctx, gateway.Config{Store: srv.Store, Keys: srv.Keys, Routes: srv.Routes, Clock: srv.Clock})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := srv.Store.Write.Exec(`INSERT INTO request_log (at, request_id, method, path, status, latency_us, headers)
			VALUES (?, 'dup', 'GET', '/old', 404, 10, '{}')`, srv.Clock.Now().UnixMilli()-int64(1000*(3-i))); err != nil {
			t.Fatal(err)
		}
	}
	req := httptest.NewRequest("GET", "/new", nil)
	req.Header.Set("X-Request-Id", "dup")
	lg.gw.ServeHTTP(httptest.NewRecorder(), req)

	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	var out console.RequestList
	if code := srv.Login(t, "admin@example.com").Call("GET", "/api/v1/requests", nil, &out); code != 200 {
		t.Fatalf("list: %d", code)
	}
	if len(out.Requests) != 4 || out.Requests[0].Path != "/new" {
		t.Fatalf("%d entries (%+v), want the new one and the 3 stored ones", len(out.Requests), out.Requests)
	}

	// Once the new entry is persisted too, it is still listed once.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); lg.gw.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; n < 4; {
		if time.Now().After(deadline) {
			t.Fatal("the new entry was not persisted")
		}
		time.Sleep(50 * time.Millisecond)
		srv.Store.Read.QueryRow(`SELECT count(*) FROM request_log`).Scan(&n)
	}
	stop()
	<-done
	if code := srv.Login(t, "admin@example.com").Call("GET", "/api/v1/requests", nil, &out); code != 200 || len(out.Requests) != 4 {
		t.Fatalf("after persisting: %d, %d entries", code, len(out.Requests))
	}
}
