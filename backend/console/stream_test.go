package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/testutil"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	ID, Event, Data string
}

// openStream GETs path with the client's cookies and returns its events as they come.
func openStream(t *testing.T, c *testutil.Client, path string, hdr ...string) (*http.Response, <-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.Base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	hc := *c.HTTP
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	events := make(chan sseEvent, 1000)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" || ev.Data != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	return resp, events, func() { cancel(); resp.Body.Close() }
}

// nextEntries reads n request events within d.
func nextEntries(t *testing.T, events <-chan sseEvent, n int, d time.Duration) []gateway.Entry {
	t.Helper()
	var out []gateway.Entry
	deadline := time.After(d)
	for len(out) < n {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended after %d of %d entries", len(out), n)
			}
			if ev.Event != "request" {
				t.Fatalf("event %q (%s), want request", ev.Event, ev.Data)
			}
			var e gateway.Entry
			if err := json.Unmarshal([]byte(ev.Data), &e); err != nil {
				t.Fatal(err)
			}
			if ev.ID != fmt.Sprint(e.ID) || e.ID == 0 {
				t.Fatalf("event id %q for entry %d", ev.ID, e.ID)
			}
			out = append(out, e)
		case <-deadline:
			t.Fatalf("%d of %d entries within %s: %+v", len(out), n, d, out)
		}
	}
	return out
}

// noEntries fails if any event but a keepalive arrives within d.
func noEntries(t *testing.T, events <-chan sseEvent, d time.Duration) {
	t.Helper()
	select {
	case ev := <-events:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(d):
	}
}

// streamServer is a serve-mode console whose gateway runs in the process, with an admin.
func streamServer(t *testing.T) (*testutil.Server, *gateway.Gateway, *testutil.Client) {
	t.Helper()
	lg := &liveGateway{}
	srv := testutil.NewServerWith(t, testutil.ServerOptions{Gateway: lg})
	ctx, stop := context.WithCancel(context.Background())
	var err error
	lg.gw, err = gateway.New(ctx, gateway.Config{Store: srv.Store, Keys: srv.Keys, Routes: srv.Routes, Clock: srv.Clock})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); lg.gw.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	return srv, lg.gw, srv.Login(t, "admin@example.com")
}

// storeEntry writes a request log row as another node would (no wake-up in this process).
func storeEntry(t *testing.T, srv *testutil.Server, path string, status int) {
	t.Helper()
	if _, err := srv.Store.Write.Exec(`INSERT INTO request_log (at, request_id, method, path, status, latency_us, org_id, headers)
		VALUES (?, 'r', 'GET', ?, ?, 10, ?, '{}')`, srv.Clock.Now().UnixMilli(), path, status, srv.Org.ID); err != nil {
		t.Fatal(err)
	}
}

// TestRequestStreamFollowsAndResumes: a fresh follower gets the newest entries, then each new
// one within a second (from this process's gateway and from rows another node wrote), with the
// entry id as event id; after a disconnect, Last-Event-ID resumes with exactly the entries it
// missed — none lost, none twice — and credentials never reach the stream.
func TestRequestStreamFollowsAndResumes(t *testing.T) {
	srv, gw, admin := streamServer(t)
	for i := range 3 {
		storeEntry(t, srv, fmt.Sprintf("/old/%d", i), 404)
	}
	resp, events, closeStream := openStream(t, admin, console.RequestStreamPath+"?limit=2")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("answer %d %v", resp.StatusCode, resp.Header)
	}
	first := nextEntries(t, events, 2, 2*time.Second)
	if first[0].Path != "/old/1" || first[1].Path != "/old/2" || first[0].ID >= first[1].ID {
		t.Fatalf("snapshot %+v, want the newest two, oldest first", first)
	}

	// A request through the gateway in this process.
	start := time.Now()
	req := httptest.NewRequest("GET", "/live?token=x", nil)
	req.Header.Set("X-Api-Key", "kg_notakeybutsecretlooking0000000000000000")
	req.Header.Set("X-Private-Note", "hunter2")
	gw.ServeHTTP(httptest.NewRecorder(), req)
	got := nextEntries(t, events, 1, time.Second)
	if got[0].Path != "/live" || got[0].ID <= first[1].ID {
		t.Fatalf("live entry %+v", got[0])
	}
	t.Logf("gateway request reached the stream in %s", time.Since(start))
	if h := got[0].Headers; h.Get("X-Api-Key") != "[redacted]" || h.Get("X-Private-Note") != "[redacted]" {
		t.Fatalf("headers %v: a credential or an unlisted header value reached the stream", h)
	}
	// A row another node persisted.
	storeEntry(t, srv, "/other-node", 200)
	if got = nextEntries(t, events, 1, time.Second); got[0].Path != "/other-node" {
		t.Fatalf("other node's entry %+v", got[0])
	}
	last := got[0].ID
	closeStream()

	// Missed while disconnected: one from each source.
	gw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/missed/1", nil))
	storeEntry(t, srv, "/missed/2", 500)
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; n < 7; {
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not persist its entry")
		}
		time.Sleep(20 * time.Millisecond)
		srv.Store.Read.QueryRow(`SELECT count(*) FROM request_log`).Scan(&n)
	}
	_, events, closeStream = openStream(t, admin, console.RequestStreamPath+"?limit=2", "Last-Event-ID", fmt.Sprint(last))
	defer closeStream()
	resumed := nextEntries(t, events, 2, 2*time.Second)
	paths := []string{resumed[0].Path, resumed[1].Path}
	if !(paths[0] == "/missed/1" && paths[1] == "/missed/2" || paths[0] == "/missed/2" && paths[1] == "/missed/1") ||
		resumed[0].ID <= last || resumed[1].ID <= resumed[0].ID {
		t.Fatalf("resumed %+v after %d", resumed, last)
	}
	noEntries(t, events, 600*time.Millisecond)
}

// TestRequestStreamFilters: a follower gets only what its filters select, also from the tail.
func TestRequestStreamFilters(t *testing.T) {
	srv, _, admin := streamServer(t)
	_, events, closeStream := openStream(t, admin, console.RequestStreamPath+"?status=5xx")
	defer closeStream()
	storeEntry(t, srv, "/ok", 200)
	storeEntry(t, srv, "/notfound", 404)
	storeEntry(t, srv, "/broken", 502)
	if got := nextEntries(t, events, 1, 2*time.Second); got[0].Path != "/broken" {
		t.Fatalf("got %+v", got[0])
	}
	noEntries(t, events, 600*time.Millisecond)
}

// TestRequestStreamRefuses: what ListRequests refuses, the stream refuses before it starts,
// as problem+json (an EventSource gives up on those); a follower whose session ends is told
// so and the stream ends.
func TestRequestStreamRefuses(t *testing.T) {
	srv, _, admin := streamServer(t)
	other, err := srv.Orgs.Create(context.Background(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	srv.AddUser(t, "outsider@example.com", auth.RoleMember, other.ID)
	outsider := srv.Login(t, "outsider@example.com")
	for _, tc := range []struct {
		name string
		c    *testutil.Client
		path string
		hdr  []string
		want int
	}{
		{"signed out", srv.Client(t), "", nil, 401},
		{"another organization", outsider, "?org=" + srv.Org.ID, nil, 403},
		{"bad status", admin, "?status=6xx", nil, 400},
		{"bad from", admin, "?from=yesterday", nil, 400},
		{"range backwards", admin, "?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", nil, 400},
		{"unknown parameter", admin, "?colour=red", nil, 400},
		{"bad Last-Event-ID", admin, "", []string{"Last-Event-ID", "-3"}, 400},
		{"negative after", admin, "?after=-1", nil, 400},
	} {
		resp, body := tc.c.Do("GET", console.RequestStreamPath+tc.path, nil, tc.hdr...)
		if resp.StatusCode != tc.want || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %s, want %d problem", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.want)
		}
	}
	if resp, _ := admin.Do("POST", console.RequestStreamPath, nil); resp.StatusCode != 405 && resp.StatusCode != 404 {
		t.Errorf("POST: %d", resp.StatusCode)
	}

	defer console.SetFollowRecheck(100 * time.Millisecond)()
	_, events, closeStream := openStream(t, admin, console.RequestStreamPath)
	defer closeStream()
	if code := admin.Call("DELETE", "/api/v1/session", nil, nil); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	select {
	case ev := <-events:
		if ev.Event != "denied" || !strings.Contains(ev.Data, `"status":401`) {
			t.Fatalf("after logout: %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream went on after its session ended")
	}
	if _, open := <-events; open {
		t.Fatal("the stream did not end")
	}
}
