package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
)

// TestRequestLogMasksImportedKeys: an imported key with no shape (it looks like a word), sent
// in User-Agent, in the path and as X-Request-Id, is masked in the in-memory log and in the
// rows written (read back without a finder, so the rows themselves hold no secret), on the
// engine under test (KEYGATE_TEST_ENGINE=nethttp for the other).
func TestRequestLogMasksImportedKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	secret := "imported-plain-key"
	if _, err := e.keys.Import(ctx, e.org.ID, "test", []keys.Record{{Name: "imported", Foreign: true,
		Secrets: []keys.Secret{{Hash: sha256.Sum256([]byte(secret))}}}}, false); err != nil {
		t.Fatal(err)
	}
	sent := []struct {
		path string
		hdr  map[string]string
	}{
		{"/ua", map[string]string{"x-api-key": e.key.Key, "User-Agent": "sdk/2.1 (" + secret + ")"}},
		{"/items/" + secret + "/x", map[string]string{"x-api-key": e.key.Key}},
		{"/rid", map[string]string{"x-api-key": e.key.Key, "X-Request-Id": secret}},
		{"/valid", map[string]string{"x-api-key": secret, "User-Agent": "token=" + secret}},
	}
	for _, s := range sent {
		res := e.do("GET", s.path, s.hdr, nil)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d", s.path, res.StatusCode)
		}
	}
	holds := func(where string, es []gateway.Entry) {
		t.Helper()
		b, _ := json.Marshal(es)
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the imported key: %s", where, b)
		}
		if n := strings.Count(string(b), gateway.Redacted); n < len(sent) {
			t.Errorf("%s: %d values masked, want at least %d: %s", where, n, len(sent), b)
		}
	}
	holds("the in-memory log", e.gw.Requests(gateway.Filter{}))
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := gateway.QueryRequests(ctx, e.st, gateway.Filter{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) >= len(sent) {
			holds("the rows written", rows)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows persisted, want %d", len(rows), len(sent))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
