// Package keys_test checks keys v2 (issue 14) end to end: the real keygate binary, its CLI
// beside the running server, and the gateway over sockets — disabled keys, IP allowlists (the
// socket's address, X-Forwarded-For only from a trusted proxy), quotas exact under 64
// concurrent clients with the remaining count in X-Keygate-Quota-Remaining, and edits that
// reach the next requests.
package keys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/tests/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}

type rig struct {
	bin, dir string
	srv      *harness.Server
	hits     atomic.Int64 // requests the upstream received
}

// newRig starts keygate serve with a route / to a counting upstream; serveArgs are extra flags.
func newRig(t *testing.T, serveArgs ...string) *rig {
	t.Helper()
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{bin: bin, dir: filepath.Join(t.TempDir(), "data")}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.hits.Add(1)
		io.WriteString(w, "upstream ok")
	}))
	t.Cleanup(up.Close)
	r.cli(t, "routes", "add", "/", up.URL)
	r.srv, err = harness.Start(bin, r.dir, harness.Options{Args: append([]string{"--failed-auth-limit", "0"}, serveArgs...)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.srv.Stop() })
	return r
}

// cli runs a command that must succeed and returns its stdout.
func (r *rig) cli(t *testing.T, args ...string) string {
	t.Helper()
	res, err := harness.CLI(context.Background(), r.bin, r.dir, "", args...)
	if err != nil || res.Code != 0 {
		t.Fatalf("keygate %s: exit %d %v\n%s%s", strings.Join(args, " "), res.Code, err, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

type created struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

func (r *rig) createKey(t *testing.T, args ...string) created {
	t.Helper()
	var c created
	if err := json.Unmarshal([]byte(r.cli(t, append([]string{"keys", "create", "--json", "--name", "k"}, args...)...)), &c); err != nil || c.Key == "" {
		t.Fatalf("keys create: %v", err)
	}
	return c
}

// answer is what the gateway said.
type answer struct {
	status int
	code   string // the problem's code, "" for an upstream answer
	quota  string // X-Keygate-Quota-Remaining
	ctype  string
}

// call sends GET /thing with key from the local address from (default 127.0.0.1) with extra
// headers, over a fresh connection.
func (r *rig) call(t *testing.T, key, from string, header ...string) answer {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	if from != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		tr.DialContext = d.DialContext
	}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", r.srv.GatewayURL+"/thing", nil)
	req.Header.Set("X-Api-Key", key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, quota: resp.Header.Get("X-Keygate-Quota-Remaining"), ctype: resp.Header.Get("Content-Type")}
	if strings.HasPrefix(a.ctype, "application/problem+json") {
		var p struct{ Code string }
		json.NewDecoder(resp.Body).Decode(&p)
		a.code = p.Code
	}
	return a
}

// eventually retries until f holds: a change the CLI makes beside the running server reaches
// it through the store's revision, polled every 200 ms (store.PollEvery).
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5 s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDisableEnableOverSockets(t *testing.T) {
	r := newRig(t)
	k := r.createKey(t)
	if a := r.call(t, k.Key, ""); a.status != 200 {
		t.Fatalf("fresh key: %+v", a)
	}
	out := r.cli(t, "keys", "disable", k.ID)
	if !strings.Contains(out, k.ID) {
		t.Errorf("keys disable printed %q", out)
	}
	eventually(t, "the disabled key is refused", func() bool { return r.call(t, k.Key, "").code == "DISABLED" })
	a := r.call(t, k.Key, "")
	if a.status != 403 || !strings.HasPrefix(a.ctype, "application/problem+json") {
		t.Errorf("disabled: %+v", a)
	}
	var got struct{ Status string }
	json.Unmarshal([]byte(r.cli(t, "keys", "get", k.ID, "--json")), &got)
	if got.Status != "disabled" {
		t.Errorf("keys get status %q", got.Status)
	}
	r.cli(t, "keys", "enable", k.ID)
	eventually(t, "the enabled key passes", func() bool { return r.call(t, k.Key, "").status == 200 })
	r.cli(t, "keys", "disable", k.ID)
	// Until the server hears of the change (its SQLite poll, ~200 ms) the key may still pass;
	// once it has refused the key, no later request reaches the upstream.
	eventually(t, "disabled again", func() bool { return r.call(t, k.Key, "").code == "DISABLED" })
	before := r.hits.Load()
	for i := range 5 {
		if a := r.call(t, k.Key, ""); a.code != "DISABLED" {
			t.Errorf("request %d after the refusal: %+v", i+1, a)
		}
	}
	if n := r.hits.Load() - before; n != 0 {
		t.Errorf("the upstream got %d requests of a disabled key after it was refused", n)
	}
}

func TestIPAllowlistOverSockets(t *testing.T) {
	// 127.0.0.2 is a trusted proxy; every other loopback address is a client.
	r := newRig(t, "--trusted-proxy", "127.0.0.2")
	k := r.createKey(t, "--allow-ip", "10.0.0.0/8", "--allow-ip", "127.0.0.3", "--allow-ip", "2001:db8::/32")
	for _, c := range []struct {
		name, from string
		header     []string
		want       int
	}{
		{"socket not allowed", "127.0.0.1", nil, 403},
		{"socket allowed", "127.0.0.3", nil, 200},
		{"X-Forwarded-For from an untrusted peer is ignored", "127.0.0.1", []string{"X-Forwarded-For", "10.1.2.3"}, 403},
		{"X-Forwarded-For from the allowed client itself changes nothing", "127.0.0.3", []string{"X-Forwarded-For", "192.0.2.1"}, 200},
		{"trusted proxy, allowed client", "127.0.0.2", []string{"X-Forwarded-For", "10.1.2.3"}, 200},
		{"trusted proxy, allowed IPv6 client", "127.0.0.2", []string{"X-Forwarded-For", "2001:db8::7"}, 200},
		{"trusted proxy, the rightmost untrusted address counts", "127.0.0.2", []string{"X-Forwarded-For", "10.1.2.3, 192.0.2.1"}, 403},
		{"trusted proxy, client not allowed", "127.0.0.2", []string{"X-Forwarded-For", "192.0.2.1"}, 403},
		{"trusted proxy without X-Forwarded-For is the client", "127.0.0.2", nil, 403},
	} {
		a := r.call(t, k.Key, c.from, c.header...)
		if a.status != c.want || c.want == 403 && a.code != "IP_NOT_ALLOWED" {
			t.Errorf("%s: %+v, want %d", c.name, a, c.want)
		}
	}
	// An edit of the allowlist reaches the next requests.
	r.cli(t, "keys", "update", k.ID, "--allow-ip", "127.0.0.1")
	eventually(t, "the new allowlist", func() bool { return r.call(t, k.Key, "127.0.0.1").status == 200 })
	if a := r.call(t, k.Key, "127.0.0.3"); a.code != "IP_NOT_ALLOWED" {
		t.Errorf("old allowlist still in force: %+v", a)
	}
	r.cli(t, "keys", "update", k.ID, "--allow-ip", "")
	eventually(t, "no allowlist", func() bool { return r.call(t, k.Key, "127.0.0.3").status == 200 })
}

func TestQuotaExactUnder64Clients(t *testing.T) {
	r := newRig(t)
	const quota = 100
	k := r.createKey(t, "--quota", strconv.Itoa(quota))
	before := r.hits.Load()
	var mu sync.Mutex
	counts := map[int]int{}
	remaining := map[string]int{}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				req, _ := http.NewRequest("GET", r.srv.GatewayURL+"/thing", nil)
				req.Header.Set("X-Api-Key", k.Key)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				counts[resp.StatusCode]++
				remaining[fmt.Sprint(resp.StatusCode, "/", resp.Header.Get("X-Keygate-Quota-Remaining"))]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if counts[200] != quota || counts[429] != 256-quota {
		t.Errorf("answers %v, want %d × 200 and %d × 429", counts, quota, 256-quota)
	}
	if n := r.hits.Load() - before; n != quota {
		t.Errorf("the upstream got %d requests, want exactly %d", n, quota)
	}
	for i := range quota {
		if remaining[fmt.Sprint("200/", i)] != 1 {
			t.Errorf("remaining %d was given %d times", i, remaining[fmt.Sprint("200/", i)])
		}
	}
	if remaining["429/0"] != 256-quota {
		t.Errorf("429 answers without X-Keygate-Quota-Remaining: 0: %v", remaining)
	}
	a := r.call(t, k.Key, "")
	if a.status != 429 || a.code != "QUOTA_EXCEEDED" || a.quota != "0" {
		t.Errorf("used up: %+v", a)
	}
	// The console shows the count; a new quota set beside the running server applies.
	var got struct{ QuotaRemaining *int64 }
	eventually(t, "the count written behind", func() bool {
		json.Unmarshal([]byte(r.cli(t, "keys", "get", k.ID, "--json")), &got)
		return got.QuotaRemaining != nil && *got.QuotaRemaining == 0
	})
	r.cli(t, "keys", "update", k.ID, "--quota", "3")
	eventually(t, "the new quota", func() bool { return r.call(t, k.Key, "").status == 200 })
	for i, want := range []int{200, 200, 429} {
		if a := r.call(t, k.Key, ""); a.status != want {
			t.Errorf("request %d after the edit: %+v, want %d", i, a, want)
		}
	}
	r.cli(t, "keys", "update", k.ID, "--quota", "none")
	eventually(t, "no quota", func() bool { a := r.call(t, k.Key, ""); return a.status == 200 && a.quota == "" })
}

func TestEditsOverTheCLI(t *testing.T) {
	r := newRig(t)
	k := r.createKey(t, "--expires", time.Now().UTC().Format("2006-01-02"))
	res, err := harness.CLI(context.Background(), r.bin, r.dir, "", "keys", "update", k.ID, "--expires", "2001-01-01")
	if err != nil || res.Code == 0 || !strings.Contains(res.Stderr, "past") {
		t.Errorf("a past expiry: exit %d %q", res.Code, res.Stderr)
	}
	r.cli(t, "keys", "update", k.ID, "--expires", "never", "--scope", "orders:read", "--meta", "plan=pro")
	var got struct {
		ExpiresAt *string
		Scopes    []string
		Metadata  map[string]string
	}
	json.Unmarshal([]byte(r.cli(t, "keys", "get", k.ID, "--json")), &got)
	if got.ExpiresAt != nil || len(got.Scopes) != 1 || got.Metadata["plan"] != "pro" {
		t.Errorf("after update: %+v", got)
	}
	if a := r.call(t, k.Key, ""); a.status != 200 || a.quota != "" {
		t.Errorf("key without quota: %+v", a)
	}
}
