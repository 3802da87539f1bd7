package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/console"
)

// TestAppFollowsRequests: the window follows the request log through Wails events: entries
// persisted (here as another node would) arrive on the named event, oldest first; a bad filter
// arrives as a problem; after UnfollowRequests nothing more is emitted.
func TestAppFollowsRequests(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]followMessage{}
	old := emitEvent
	emitEvent = func(_ context.Context, name string, data any) {
		mu.Lock()
		got[name] = append(got[name], data.(followMessage))
		mu.Unlock()
	}
	t.Cleanup(func() { emitEvent = old })
	events := func(name string) []followMessage {
		mu.Lock()
		defer mu.Unlock()
		return append([]followMessage(nil), got[name]...)
	}
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("waiting for %s; events: %+v", what, got)
			}
		}
	}

	a := NewApp(t.TempDir())
	a.startup(t.Context())
	t.Cleanup(func() { a.shutdown(t.Context()) })
	insert := func(path string) {
		if _, err := a.inst.Store.Write.Exec(`INSERT INTO request_log (at, request_id, method, path, status, latency_us, org_id, headers)
			VALUES (?, 'r', 'GET', ?, 200, 10, ?, '{}')`, time.Now().UnixMilli(), path, a.inst.Org.ID); err != nil {
			t.Fatal(err)
		}
	}
	insert("/before")
	name, err := a.FollowRequests(console.FollowRequestsInput{})
	if err != nil || !strings.HasPrefix(name, "requests:") {
		t.Fatalf("follow: %q %v", name, err)
	}
	wait("the newest entry", func() bool { return len(events(name)) == 1 })
	if es := events(name)[0].Entries; len(es) != 1 || es[0].Path != "/before" {
		t.Fatalf("first event %+v", events(name)[0])
	}
	insert("/a")
	insert("/b")
	wait("the new entries", func() bool {
		n := 0
		for _, m := range events(name) {
			n += len(m.Entries)
		}
		return n == 3
	})
	var paths []string
	for _, m := range events(name) {
		for _, e := range m.Entries {
			paths = append(paths, e.Path)
		}
	}
	if strings.Join(paths, " ") != "/before /a /b" {
		t.Fatalf("paths %v", paths)
	}

	if err := a.UnfollowRequests(name); err != nil {
		t.Fatal(err)
	}
	n := len(events(name))
	insert("/after")
	time.Sleep(600 * time.Millisecond)
	if len(events(name)) != n {
		t.Fatalf("events after unfollow: %+v", events(name)[n:])
	}

	bad, err := a.FollowRequests(console.FollowRequestsInput{Status: "6xx"})
	if err != nil {
		t.Fatal(err)
	}
	wait("the problem", func() bool { return len(events(bad)) >= 1 })
	if len(events(bad)) != 1 {
		t.Fatalf("bad filter: %+v", events(bad))
	}
	if p, ok := events(bad)[0].Problem.(any); !ok || !strings.Contains(strings.ToLower(toJSON(t, p)), `"code":"validation"`) {
		t.Fatalf("bad filter: %+v", events(bad)[0])
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
