package keys_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/tests/harness"
)

// TestImportedBetterAuthKeysOverSockets: keys imported from Better Auth's apikey table (rows the
// plugin's own hasher made, backend/keys/keyfile/testdata) by the CLI beside a running server
// work at its gateway with their original secrets — scopes from permissions, the quota from
// remaining with its refill, disabled and expired as they were — while a random string that is not a Keygate
// key is refused with 401 quickly, before the import without a lookup (MALFORMED), after it
// by its hash (NOT_FOUND).
func TestImportedBetterAuthKeysOverSockets(t *testing.T) {
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{bin: bin, dir: filepath.Join(t.TempDir(), "data")}
	var leaked atomic.Value // a credential header the upstream received
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		for _, h := range []string{"Authorization", "X-Api-Key"} {
			if v := req.Header.Get(h); v != "" {
				leaked.Store(h + ": " + v)
			}
		}
		io.WriteString(w, "upstream ok")
	}))
	t.Cleanup(up.Close)
	r.cli(t, "routes", "add", "/files", up.URL, "--scope", "files:write")
	r.cli(t, "routes", "add", "/admin", up.URL, "--scope", "users:write")
	r.srv, err = harness.Start(bin, r.dir, harness.Options{Args: []string{"--failed-auth-limit", "0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.srv.Stop() })

	get := func(path, key string) answer {
		t.Helper()
		req, _ := http.NewRequest("GET", r.srv.GatewayURL+path, nil)
		req.Header.Set("X-Api-Key", key)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		a := answer{status: resp.StatusCode, quota: resp.Header.Get("X-Keygate-Quota-Remaining"), ctype: resp.Header.Get("Content-Type")}
		if strings.HasPrefix(a.ctype, "application/problem+json") {
			b, _ := io.ReadAll(resp.Body)
			if i := strings.Index(string(b), `"code":"`); i >= 0 {
				a.code = strings.SplitN(string(b)[i+8:], `"`, 2)[0]
			}
		}
		return a
	}
	random := func() string {
		b := make([]byte, 24)
		rand.Read(b)
		return "ba_" + hex.EncodeToString(b)
	}
	quick := func(want string) {
		t.Helper()
		for range 20 {
			start := time.Now()
			a := get("/files", random())
			if a.status != 401 || a.code != want {
				t.Fatalf("a random string: %+v, want 401 %s", a, want)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("a random string took %v", d)
			}
		}
	}
	quick("MALFORMED")

	secret := func(c string) string { return "ba_" + strings.Repeat(c, 64) }
	out := r.cli(t, "keys", "import", filepath.Join("..", "..", "backend", "keys", "keyfile", "testdata", "betterauth.json"), "--format", "better-auth")
	if !strings.Contains(out, "Imported 3 keys") {
		t.Fatalf("import printed %q", out)
	}
	// The server sees the CLI's import through the store's revision (polled).
	eventually(t, "the imported key works at the gateway", func() bool { return get("/admin", secret("A")).code == "INSUFFICIENT_SCOPE" })
	if a := get("/admin", secret("A")); a.status != 403 {
		t.Fatalf("missing scope users:write: %+v", a)
	}
	// remaining 3, refilled to 100 every hour since its creation in 2025 (no lastRefillAt):
	// the first request refills it, as Better Auth would, and the count goes down from there.
	for i, want := range []string{"99", "98"} {
		if a := get("/files", secret("A")); a.status != 200 || a.quota != want {
			t.Fatalf("request %d with the imported key: %+v, want 200 with %s left", i+1, a, want)
		}
	}
	// Sent as a Bearer token, the imported key (no Keygate shape) is stripped like any key.
	req, _ := http.NewRequest("GET", r.srv.GatewayURL+"/files", nil)
	req.Header.Set("Authorization", "Bearer "+secret("A"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Keygate-Quota-Remaining") != "97" {
		t.Fatalf("the imported key as a Bearer token: %d", resp.StatusCode)
	}
	if v := leaked.Load(); v != nil {
		t.Fatalf("the upstream received the credential %q", v)
	}
	if a := get("/files", secret("B")); a.status != 403 || a.code != "DISABLED" {
		t.Fatalf("the disabled Better Auth key: %+v", a)
	}
	if a := get("/files", secret("C")); a.status != 401 || a.code != "EXPIRED" {
		t.Fatalf("the expired Better Auth key: %+v", a)
	}
	quick("NOT_FOUND")
	if n := r.hits.Load(); n != 3 {
		t.Fatalf("the upstream got %d requests, want 3", n)
	}
}

// TestExportImportBetweenInstancesOverSockets: keys exported from one instance (a Keygate key
// with scopes and a quota, a rolled one, and imported Better Auth keys) and imported into another,
// running one by the CLI beside it: the original secrets pass that gateway, with their state.
func TestExportImportBetweenInstancesOverSockets(t *testing.T) {
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	src := &rig{bin: bin, dir: filepath.Join(t.TempDir(), "src")}
	native := src.createKey(t, "--quota", "5", "--scope", "files:read")
	old := src.createKey(t)
	var rolled created
	if err := json.Unmarshal([]byte(src.cli(t, "keys", "roll", old.ID, "--grace", "1h", "--json")), &rolled); err != nil || rolled.Key == "" {
		t.Fatalf("roll: %v", err)
	}
	src.cli(t, "keys", "import", filepath.Join("..", "..", "backend", "keys", "keyfile", "testdata", "betterauth.json"))
	file := filepath.Join(t.TempDir(), "keys.json")
	src.cli(t, "keys", "export", "--out", file)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{native.Key, old.Key, rolled.Key} {
		if strings.Contains(string(b), s) {
			t.Fatal("the export holds a secret")
		}
	}

	dst := newRig(t)
	dst.cli(t, "keys", "import", file)
	eventually(t, "the moved Keygate key works at the other gateway", func() bool { return dst.call(t, native.Key, "").status == 200 })
	if a := dst.call(t, native.Key, ""); a.status != 200 || a.quota != "3" {
		t.Fatalf("the moved key's quota (5, one used above): %+v, want 3 left", a)
	}
	for name, key := range map[string]string{"the rolled key's old secret (in its grace)": old.Key, "its new secret": rolled.Key,
		"an imported Better Auth secret": "ba_" + strings.Repeat("A", 64)} {
		if a := dst.call(t, key, ""); a.status != 200 {
			t.Errorf("%s at the other gateway: %+v", name, a)
		}
	}
	if a := dst.call(t, "ba_"+strings.Repeat("B", 64), ""); a.status != 403 || a.code != "DISABLED" {
		t.Errorf("the disabled Better Auth key moved enabled: %+v", a)
	}
}
