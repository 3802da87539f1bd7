package crash_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/webhooks"
	"github.com/keygate/keygate/tests/harness"
)

// TestWebhookOutboxSurvivesKill: events whose deliveries failed are in the outbox, not in
// memory. The server is killed with SIGKILL while they wait for their retry; a new server on
// the same data directory delivers every one of them, signed, once the receiver is back.
func TestWebhookOutboxSurvivesKill(t *testing.T) {
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	var mu sync.Mutex
	up := false
	var secret string
	delivered := map[string]int{}
	failedAttempts := 0
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !up {
			failedAttempts++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if err := webhooks.Verify(secret, r.Header, b, time.Now()); err != nil {
			t.Errorf("delivery does not verify: %v", err)
		}
		delivered[r.Header.Get("webhook-id")]++
	}))
	t.Cleanup(rc.Close)

	add, err := harness.CLI(ctx, bin, dir, "", "webhooks", "add", rc.URL, "--event", "key.created", "--json")
	if err != nil || add.Code != 0 {
		t.Fatalf("webhooks add: %v %+v", err, add)
	}
	var ep struct{ Secret string }
	json.Unmarshal([]byte(add.Stdout), &ep)
	mu.Lock()
	secret = ep.Secret
	mu.Unlock()

	srv, err := harness.Start(bin, dir, harness.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	for i := range n {
		r, err := harness.CLI(ctx, bin, dir, "", "keys", "create", "--name", "k"+string(rune('a'+i)))
		if err != nil || r.Code != 0 {
			t.Fatalf("keys create: %v %+v", err, r)
		}
	}
	// Wait until the server has tried (and failed) each once, then kill it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		f := failedAttempts
		mu.Unlock()
		if f >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d failed attempts before the kill", f)
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.Kill()

	mu.Lock()
	up = true
	mu.Unlock()
	srv2, err := harness.Start(bin, dir, harness.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Stop()
	// The first retry is due 5 s after the failed attempt; the lease of an attempt in flight
	// at the kill runs out after a minute.
	deadline = time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		got := len(delivered)
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart %d of %d deliveries arrived", got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r, _ := harness.CLI(ctx, bin, dir, "", "webhooks", "deliveries", "--status", "delivered", "--json")
	var page webhooks.DeliveryPage
	if err := json.Unmarshal([]byte(r.Stdout), &page); err != nil || len(page.Deliveries) != n {
		t.Fatalf("delivered rows: %v %s", err, r.Stdout)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range page.Deliveries {
		if d.Attempts < 2 || delivered[d.ID] < 1 {
			t.Fatalf("delivery %+v (received %d times)", d, delivered[d.ID])
		}
	}
}
