package gateway_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/routes"
)

// TestOverloadQueuesForPooledUpstreamConnections: with more requests in flight than the
// upstream connection cap, requests wait for a pooled connection instead of dialing one each,
// and all of them are answered.
func TestOverloadQueuesForPooledUpstreamConnections(t *testing.T) {
	const capConns, inFlight = 8, 100
	e := newEnv(t, func(c *gateway.Config) { c.MaxUpstreamConns = capConns })
	var accepted, open, peak atomic.Int64
	slow := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte("ok"))
	}))
	slow.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			accepted.Add(1)
			if n := open.Add(1); n > peak.Load() {
				peak.Store(n)
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	slow.Start()
	t.Cleanup(slow.Close)
	e.addRoute(routes.Params{Prefix: "/slow", Upstream: slow.URL})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inFlight}}
	run := func() {
		var wg sync.WaitGroup
		var failed atomic.Int64
		for i := 0; i < inFlight; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequestWithContext(context.Background(), "GET", e.srv.URL+"/slow/x", nil)
				req.Header.Set("x-api-key", e.key.Key)
				res, err := client.Do(req)
				if err != nil || res.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				if res != nil {
					res.Body.Close()
				}
			}()
		}
		wg.Wait()
		if n := failed.Load(); n > 0 {
			t.Fatalf("%d of %d requests failed", n, inFlight)
		}
	}
	run()
	run() // a second wave reuses the pool
	if got := peak.Load(); got > capConns {
		t.Errorf("%d upstream connections open at once, cap %d", got, capConns)
	}
	if got := accepted.Load(); got > capConns {
		t.Errorf("%d upstream connections dialed for %d requests, want at most %d (pooled)", got, 2*inFlight, capConns)
	}
}
