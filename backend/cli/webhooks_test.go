package cli_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/seal"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/webhooks"
)

// TestWebhooksCommands: add (the secret printed once), list, deliveries, retry and remove
// from the command line. Events the commands queue wait in the outbox until a long-running
// instance on the same data directory starts; it delivers them to a real receiver, signed
// with the secret the command printed.
func TestWebhooksCommands(t *testing.T) {
	t.Setenv(seal.EnvKey, "")
	dir := t.TempDir()
	var mu sync.Mutex
	var secret string
	var got []string
	var bad []error
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhooks.Verify(secret, r.Header, b, time.Now()); err != nil {
			bad = append(bad, err)
		}
		got = append(got, string(b))
	}))
	t.Cleanup(rc.Close)

	if r := run(t, dir, "", "webhooks", "add", "ftp://nope"); r.code != 1 || !strings.Contains(r.stderr, "http://") {
		t.Fatalf("bad URL: %+v", r)
	}
	if r := run(t, dir, "", "webhooks", "add", rc.URL, "--event", "key.eaten"); r.code != 1 || !strings.Contains(r.stderr, "key.created") {
		t.Fatalf("bad event: %+v", r)
	}
	if r := run(t, dir, "", "webhooks", "add"); r.code != 2 {
		t.Fatalf("no URL: %+v", r)
	}
	if r := ok(t, dir, "", nil, "webhooks", "list"); !strings.Contains(r.stdout, "No webhook endpoints") {
		t.Fatalf("empty list: %q", r.stdout)
	}
	r := ok(t, dir, "", nil, "webhooks", "add", rc.URL+"/in", "--event", "key.created", "--event", "key.revoked")
	lines := strings.Fields(r.stdout)
	for _, w := range lines {
		if strings.HasPrefix(w, "whsec_") {
			secret = w
		}
	}
	if secret == "" || !strings.Contains(r.stdout, "key.created, key.revoked") {
		t.Fatalf("add printed %q", r.stdout)
	}
	var list struct{ Endpoints []webhooks.Endpoint }
	ok(t, dir, "", &list, "webhooks", "list", "--json")
	if len(list.Endpoints) != 1 || list.Endpoints[0].URL != rc.URL+"/in" {
		t.Fatalf("list: %+v", list)
	}
	if r := ok(t, dir, "", nil, "webhooks", "list"); strings.Contains(r.stdout, secret[6:]) || !strings.Contains(r.stdout, list.Endpoints[0].ID) {
		t.Fatalf("list shows %q", r.stdout)
	}
	// The secret is sealed with the data directory's key file, never stored in plain text.
	if fi, err := os.Stat(filepath.Join(dir, seal.FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets key file: %v", err)
	}
	db, _ := os.ReadFile(filepath.Join(dir, store.FileName))
	wal, _ := os.ReadFile(filepath.Join(dir, store.FileName+"-wal"))
	if strings.Contains(string(db)+string(wal), secret[6:]) {
		t.Fatal("the secret is in the database file")
	}

	var k struct{ ID, Key string }
	ok(t, dir, "", &k, "keys", "create", "--name", "hooked", "--json")
	ok(t, dir, "", nil, "keys", "revoke", k.ID)
	var page webhooks.DeliveryPage
	ok(t, dir, "", &page, "webhooks", "deliveries", "--status", "pending", "--json")
	if len(page.Deliveries) != 2 {
		t.Fatalf("pending after the commands: %+v", page)
	}
	if r := ok(t, dir, "", nil, "webhooks", "deliveries"); !strings.Contains(r.stdout, "key.revoked") || !strings.Contains(r.stdout, "pending") {
		t.Fatalf("deliveries table: %q", r.stdout)
	}
	if r := run(t, dir, "", "webhooks", "deliveries", "--status", "done"); r.code != 1 {
		t.Fatalf("bad status: %+v", r)
	}

	// A server starts on the data directory: it delivers what the commands queued.
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := instance.Open(context.Background(), instance.Options{Store: st, DataDir: dir, LongRunning: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Webhooks: webhooks.Options{PollEvery: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until both arrived and the server has recorded both answers (a receipt comes a
	// moment before its record).
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		var recorded int
		if err := st.Read.QueryRowContext(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'`).Scan(&recorded); err != nil {
			t.Fatal(err)
		}
		if (n == 2 && recorded == 2) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	inst.Close(context.Background())
	st.Close()
	mu.Lock()
	if len(got) != 2 || len(bad) != 0 || strings.Contains(strings.Join(got, ""), k.Key) {
		t.Fatalf("receiver got %d deliveries, %v bad", len(got), bad)
	}
	mu.Unlock()
	ok(t, dir, "", &page, "webhooks", "deliveries", "--status", "delivered", "--json")
	if len(page.Deliveries) != 2 {
		t.Fatalf("delivered: %+v", page)
	}
	var d webhooks.Delivery
	ok(t, dir, "", &d, "webhooks", "retry", page.Deliveries[0].ID, "--json")
	if d.Status != "pending" {
		t.Fatalf("retry: %+v", d)
	}
	if r := run(t, dir, "", "webhooks", "retry", "msg_nope"); r.code != 1 {
		t.Fatalf("retry unknown: %+v", r)
	}
	if r := ok(t, dir, "", nil, "webhooks", "remove", list.Endpoints[0].ID); !strings.Contains(r.stdout, list.Endpoints[0].ID) {
		t.Fatalf("remove: %q", r.stdout)
	}
	if r := run(t, dir, "", "webhooks", "remove", list.Endpoints[0].ID); r.code != 1 {
		t.Fatalf("remove again: %+v", r)
	}
	if got := auditActions(t, dir); got["webhook.add"] != 1 || got["webhook.remove"] != 1 || got["webhook.retry"] != 1 {
		t.Fatalf("audit: %v", got)
	}
}
