package revocation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
)

// The check. Every client request carries X-Test-Phase: "after" when the client read the
// phase flag as set before it started sending. The flag is set only once Revoke (or the clock
// change) has returned, so an "after" request started its authentication — which cannot
// begin before the gateway has read the request — after the revocation was complete. Requests
// already in flight when Revoke returned are "before" and may legitimately pass.
//
// The test cannot pass by accident: the upstream must have received many "before" requests
// (so the phase header does reach it and the key did work), the clients must have sent many
// "after" requests, and every "after" answer must be the gateway's own 401 with the expected
// code (not a connection error, a 5xx or a rate limit that would hide a forward).
const (
	phaseHeader = "X-Test-Phase"
	workers     = 24
	minBefore   = 200 // forwarded before the revocation
	minAfter    = 1000
)

type rig struct {
	st     *store.Store
	keys   *keys.Service
	org    orgs.Org
	routes *routes.Service
	gw     *gateway.Gateway
	url    string       // the gateway, served by its fasthttp engine
	before atomic.Int64 // "before" requests seen by the upstream
	after  atomic.Int64 // "after" requests seen by the upstream: must stay 0
}

func newRig(t *testing.T, c clock.Clock) *rig { return newRigWith(t, c, nil) }

// newRigWith builds the rig; wrap, when set, puts a verifier between the gateway and the keys.
func newRigWith(t *testing.T, c clock.Clock, wrap func(*keys.Service) gateway.KeyVerifier) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{st: testutil.NewStore(t)}
	r.org = testutil.DefaultOrg(t, r.st)
	r.keys = keys.New(r.st, keys.WithClock(c))
	var verifier gateway.KeyVerifier = r.keys
	if wrap != nil {
		verifier = wrap(r.keys)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Header.Get(phaseHeader) {
		case "before":
			r.before.Add(1)
		case "after":
			r.after.Add(1)
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	rs := routes.New(r.st, c)
	r.routes = rs
	if _, err := rs.Add(ctx, routes.Params{Prefix: "/", Upstream: up.URL}); err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(ctx, gateway.Config{Store: r.st, Keys: verifier, Routes: rs, Clock: c,
		// Every "after" answer must be the key's own 401: the brute-force limit on failed
		// authentications per address (all clients are 127.0.0.1) would turn them into 429.
		FailedAuthLimit: -1, RequestLogKeep: -1})
	if err != nil {
		t.Fatal(err)
	}
	r.gw = gw
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := gw.FastServer()
	served := make(chan struct{})
	go func() { defer close(served); fs.Serve(ln) }()
	t.Cleanup(func() { fs.Shutdown(); <-served })
	r.url = "http://" + ln.Addr().String()
	return r
}

type tally struct {
	mu         sync.Mutex
	sentBefore int
	sentAfter  int
	okBefore   int
	afterCodes map[string]int // status and problem code of each "after" answer
	errs       []error
}

// hammer runs workers until stop is closed, tagging each request with the phase flag as it
// was read before sending.
// The returned function waits for every worker to finish.
func (r *rig) hammer(t *testing.T, key string, phaseAfter *atomic.Bool, stop <-chan struct{}) (*tally, func()) {
	t.Helper()
	tl := &tally{afterCodes: map[string]int{}}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}, Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				after := phaseAfter.Load()
				req, _ := http.NewRequest(http.MethodGet, r.url+"/resource", nil)
				req.Header.Set("x-api-key", key)
				if after {
					req.Header.Set(phaseHeader, "after")
				} else {
					req.Header.Set(phaseHeader, "before")
				}
				res, err := client.Do(req)
				if err != nil {
					tl.mu.Lock()
					tl.errs = append(tl.errs, err)
					tl.mu.Unlock()
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				tl.mu.Lock()
				if after {
					tl.sentAfter++
					var p struct{ Code string }
					json.Unmarshal(body, &p)
					tl.afterCodes[fmt.Sprintf("%d %s", res.StatusCode, p.Code)]++
				} else {
					tl.sentBefore++
					if res.StatusCode == http.StatusOK {
						tl.okBefore++
					}
				}
				tl.mu.Unlock()
			}
		}()
	}
	return tl, wg.Wait
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// outcome is what one run observed.
type outcome struct {
	tl       *tally
	before   int64 // "before" requests the upstream saw
	leaked   int64 // "after" requests the upstream saw
	attempts int
}

// run hammers, calls change (the revocation) once enough requests got through, flips the
// phase, and keeps hammering for minAfter more requests.
func (r *rig) run(t *testing.T, key string, change func()) outcome {
	t.Helper()
	var phaseAfter atomic.Bool
	stop := make(chan struct{})
	tl, wait := r.hammer(t, key, &phaseAfter, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop) // a Fatal below: stop the workers before the test ends
		}
		wait()
	}()
	waitFor(t, "requests forwarded before the revocation", 30*time.Second, func() bool { return r.before.Load() >= minBefore })

	change()
	phaseAfter.Store(true)

	sentAfter := func() int { tl.mu.Lock(); defer tl.mu.Unlock(); return tl.sentAfter }
	waitFor(t, "requests after the revocation", 60*time.Second, func() bool { return sentAfter() >= minAfter })
	close(stop)
	wait()
	if len(tl.errs) > 0 {
		t.Fatalf("client errors (a forward could hide behind them): %v", tl.errs[0])
	}
	t.Logf("before: %d sent, %d answered 200, %d reached the upstream; after: %d sent, %v; upstream saw %d after",
		tl.sentBefore, tl.okBefore, r.before.Load(), tl.sentAfter, tl.afterCodes, r.after.Load())
	return outcome{tl: tl, before: r.before.Load(), leaked: r.after.Load()}
}

// check asserts that nothing got through after the change and every later answer was want.
func (o outcome) check(t *testing.T, want string) {
	t.Helper()
	if o.leaked != 0 {
		t.Errorf("%d requests sent after the revocation returned were forwarded to the upstream", o.leaked)
	}
	if o.tl.okBefore < minBefore/2 || o.before < minBefore {
		t.Errorf("only %d requests succeeded before the revocation: the key never worked", o.tl.okBefore)
	}
	if o.tl.sentAfter < minAfter {
		t.Errorf("only %d requests were sent after the revocation", o.tl.sentAfter)
	}
	for code, n := range o.tl.afterCodes {
		if code != want {
			t.Errorf("%d answers after the revocation were %q, want %q", n, code, want)
		}
	}
}

func TestNothingPassesAfterRevokeReturns(t *testing.T) {
	r := newRig(t, clock.Real{})
	ctx := context.Background()
	k, err := r.keys.Create(ctx, keys.CreateParams{OrgID: r.org.ID, Name: "hammered", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r.run(t, k.Key, func() {
		if _, err := r.keys.Revoke(ctx, r.org.ID, k.ID, "under load"); err != nil {
			t.Fatal(err)
		}
	}).check(t, "401 REVOKED")
	// A second key is untouched by the first one's revocation.
	other, err := r.keys.Create(ctx, keys.CreateParams{OrgID: r.org.ID, Name: "other", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := r.keys.Verify(ctx, other.Key); !res.Valid {
		t.Errorf("other key: %+v", res)
	}
}

func TestNothingPassesFromTheExpiryInstant(t *testing.T) {
	fake := testutil.NewClock()
	r := newRig(t, fake)
	ctx := context.Background()
	k, err := r.keys.Create(ctx, keys.CreateParams{OrgID: r.org.ID, Name: "expiring", Expires: "7d", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if k.ExpiresAt == nil {
		t.Fatal("no expiry")
	}
	// One millisecond before the instant the key still works (run checks that requests pass);
	// from the instant itself nothing does.
	fake.Set(k.ExpiresAt.Add(-time.Millisecond))
	r.run(t, k.Key, func() { fake.Set(*k.ExpiresAt) }).check(t, "401 EXPIRED")
}

// TestNothingPassesAfterConsoleRevokeReturns revokes through the console API (the same
// handler the desktop window and `keygate serve` use) in the gateway's process: once the HTTP
// answer to the revoke has arrived, nothing more gets through.
func TestNothingPassesAfterConsoleRevokeReturns(t *testing.T) {
	r := newRig(t, clock.Real{})
	ctx := context.Background()
	authSvc, err := auth.New(r.st)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := console.New(console.Deps{Store: r.st, Keys: r.keys, Orgs: orgs.New(r.st, nil), Auth: authSvc,
		Audit: audit.New(r.st, nil), Routes: r.routes, Desktop: true})
	if err != nil {
		t.Fatal(err)
	}
	con := httptest.NewServer(svc.Handler(console.HandlerOptions{}))
	t.Cleanup(con.Close)
	k, err := r.keys.Create(ctx, keys.CreateParams{OrgID: r.org.ID, Name: "hammered via console", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r.run(t, k.Key, func() {
		req, _ := http.NewRequest(http.MethodPost, con.URL+"/api/v1/keys/"+k.ID+"/revoke",
			strings.NewReader(`{"org":"`+r.org.ID+`","reason":"under load"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"revoked"`) {
			t.Fatalf("console revoke: %d %s", res.StatusCode, body)
		}
	}).check(t, "401 REVOKED")
}

// staleVerifier is a deliberately broken verifier: once a key was valid it keeps answering
// "valid" from its own copy, as a cache that is not evicted on revoke would.
type staleVerifier struct {
	*keys.Service
	mu  sync.Mutex
	res map[string]keys.Result
}

func (v *staleVerifier) Verify(ctx context.Context, raw string) (keys.Result, error) {
	v.mu.Lock()
	res, ok := v.res[raw]
	v.mu.Unlock()
	if ok {
		return res, nil
	}
	res, err := v.Service.Verify(ctx, raw)
	if err == nil && res.Valid {
		v.mu.Lock()
		v.res[raw] = res
		v.mu.Unlock()
	}
	return res, err
}

// TestTheCheckCatchesAStaleCache is the control: the same harness in front of a verifier that
// keeps revoked keys alive must see requests leak through.
func TestTheCheckCatchesAStaleCache(t *testing.T) {
	r := newRigWith(t, clock.Real{}, func(s *keys.Service) gateway.KeyVerifier {
		return &staleVerifier{Service: s, res: map[string]keys.Result{}}
	})
	ctx := context.Background()
	k, err := r.keys.Create(ctx, keys.CreateParams{OrgID: r.org.ID, Name: "stale", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	o := r.run(t, k.Key, func() {
		if _, err := r.keys.Revoke(ctx, r.org.ID, k.ID, ""); err != nil {
			t.Fatal(err)
		}
	})
	if o.leaked == 0 {
		t.Fatal("the harness saw no leak through a verifier that serves revoked keys: it cannot detect one")
	}
}
