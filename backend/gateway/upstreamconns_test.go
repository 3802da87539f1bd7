package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/routes"
)

// countingServer serves h and counts the connections it accepts, and the most open at once.
func countingServer(t *testing.T, h http.Handler) (srv *httptest.Server, accepted, peak *atomic.Int64) {
	t.Helper()
	accepted, peak = new(atomic.Int64), new(atomic.Int64)
	var open atomic.Int64
	srv = httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
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
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, accepted, peak
}

// TestOverloadQueuesForPooledUpstreamConnections: with more requests in flight than the
// upstream connection cap, requests wait for a pooled connection instead of dialing one each,
// and all of them are answered.
func TestOverloadQueuesForPooledUpstreamConnections(t *testing.T) {
	const capConns, inFlight = 8, 100
	e := newEnv(t, func(c *gateway.Config) { c.MaxUpstreamConns = capConns })
	slow, accepted, peak := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte("ok"))
	}))
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

// TestLoopSlowRelaysCountAgainstTheCap: an answer whose client reads slowly is read off the
// loop on a duplicate of its upstream connection; that connection still counts against the
// cap, so slow readers of large answers cannot make a loop open more upstream connections than
// its share — and every answer still arrives whole once its client reads.
func TestLoopSlowRelaysCountAgainstTheCap(t *testing.T) {
	skipUnlessLoop(t)
	const capConns, clients, size = 4, 6, 8 << 20
	e := newEnv(t, func(c *gateway.Config) { c.MaxUpstreamConns = capConns })
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4<<10)
	big, _, peak := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	e.addRoute(routes.Params{Prefix: "/big", Upstream: big.URL})
	warmLoop(t, e)

	// Clients on every loop ask for a large answer and read nothing for a while.
	conns := make([]*rawConn, clients)
	for i := range conns {
		c := dialRaw(t, e.srv.URL)
		c.c.(*net.TCPConn).SetReadBuffer(64 << 10)
		c.c.SetDeadline(time.Now().Add(60 * time.Second))
		c.write(get("/big/x", e.key.Key))
		conns[i] = c
	}
	time.Sleep(700 * time.Millisecond)
	if p := peak.Load(); p > capConns {
		t.Fatalf("%d upstream connections open at once while the clients read slowly, cap %d", p, capConns)
	}
	// Then they read: every answer arrives whole.
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
			if err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			n, err := io.Copy(io.Discard, res.Body)
			if err != nil || n != size || res.StatusCode != 200 {
				t.Errorf("client %d: %d, %d bytes of %d (%v)", i, res.StatusCode, n, size, err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > capConns {
		t.Fatalf("%d upstream connections open at once, cap %d", p, capConns)
	}
}
