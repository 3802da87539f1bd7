package security_test

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/keygate/keygate/backend/store"
)

// retentionBounds sets the log retention to its smallest row count (1,000) and floods the
// instance with refused console requests (each an audit entry) and failed gateway requests
// (each a request-log row): neither table grows past the setting (plus one pruning round).
func retentionBounds(t *testing.T, s *suite) {
	ctx := context.Background()
	a := s.login(t, s.ip(), adminEmail)
	var cur map[string]any
	if err := a.Send(ctx, http.MethodGet, "/api/v1/gateway/settings", nil, &cur); err != nil {
		t.Fatal(err)
	}
	if cur["logRetentionDays"] != float64(90) || cur["logRetentionRows"] != float64(100000) {
		t.Errorf("default retention %v / %v, want 90 days / 100000 rows", cur["logRetentionDays"], cur["logRetentionRows"])
	}
	cur["logRetentionRows"] = 1000
	if err := a.Send(ctx, http.MethodPut, "/api/v1/gateway/settings", cur, nil); err != nil {
		t.Fatal(err)
	}
	cur["logRetentionRows"] = 10
	if err := a.Send(ctx, http.MethodPut, "/api/v1/gateway/settings", cur, nil); status(err) != http.StatusBadRequest {
		t.Errorf("retention of 10 rows: %v, want 400", err)
	}
	m := s.login(t, s.ip(), memberEmail)
	gwIP := s.ip()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client(gwIP)
			for i := 0; i < 200; i++ {
				m.Send(ctx, http.MethodPost, "/api/v1/routes", map[string]any{"prefix": "/flood", "upstream": "http://127.0.0.1:1"}, nil)
				req := s.newReq(http.MethodGet, "/public/flood", nil)
				if res, err := c.Do(req); err == nil {
					res.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	time.Sleep(2500 * time.Millisecond) // the request log is persisted once a second
	db, err := sql.Open("sqlite3", store.URI(filepath.Join(s.dir, "keygate.db"), map[string][]string{"mode": {"ro"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"audit_log", "request_log"} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d rows after 1,600 flood requests with retention 1,000 rows", table, n)
		// The audit log prunes every 200 entries; the request log with every persisted batch.
		if limit := map[string]int{"audit_log": 1000 + 200, "request_log": 1000}[table]; n > limit {
			t.Errorf("%s holds %d rows, retention is 1,000 (at most %d between prunes)", table, n, limit)
		}
	}
}
