// Package cluster runs three `keygate serve` nodes on one PostgreSQL and one Redis (real
// processes, real servers on free loopback ports) and checks what issue #12 promises: a key
// created on one node works on the others, a revocation reaches every node within a second, a
// key limited to 10 per minute gets exactly 10 successes across the nodes, kill -9 of a node
// loses nothing acknowledged, and a PostgreSQL restart is survived without restarting a node.
package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/backend/testutil/pgtest"
	"github.com/keygate/keygate/backend/testutil/redistest"
	"github.com/keygate/keygate/tests/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}

var ctx = context.Background()

const adminEmail, adminPassword = "admin@example.com", "cluster-admin-password-1"

type cluster struct {
	t     *testing.T
	bin   string
	url   string
	nodes []*harness.Server
}

func (c *cluster) cli(stdin string, args ...string) harness.CLIResult {
	c.t.Helper()
	r, err := harness.CLI(ctx, c.bin, c.t.TempDir(), stdin, append([]string{"--database", c.url}, args...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// call sends a gateway request with key to node i and returns the status and problem code.
func call(t *testing.T, gatewayURL, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", gatewayURL+"/hello", nil)
	req.Header.Set("x-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("gateway %s: %v", gatewayURL, err)
	}
	defer resp.Body.Close()
	var p struct{ Code string }
	json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, p.Code
}

func within(t *testing.T, d time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func signIn(t *testing.T, n *harness.Server) *testutil.Client {
	t.Helper()
	c := testutil.NewClient(t, n.ConsoleURL)
	if err := c.SignIn(ctx, adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCluster(t *testing.T) {
	pg, err := pgtest.Start()
	if err != nil {
		if err == pgtest.ErrNotInstalled && os.Getenv(pgtest.EnvRequire) != "1" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	defer pg.Stop()
	if err := pg.CreateDatabase(ctx, "cluster"); err != nil {
		t.Fatal(err)
	}
	rd, err := redistest.Start()
	if err != nil {
		if err == redistest.ErrNotInstalled && os.Getenv(redistest.EnvRequire) != "1" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	defer rd.Stop()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }))
	defer upstream.Close()
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, bin: bin, url: pg.DatabaseURL("cluster")}

	// The instance: a route and an admin, written by the CLI straight into PostgreSQL.
	if r := c.cli("", "routes", "add", "/", upstream.URL); r.Code != 0 {
		t.Fatalf("routes add: %+v", r)
	}
	c.cli("", "keys", "create", "--name", "bootstrap") // makes the default organization
	var orgList struct{ Orgs []struct{ ID string } }
	json.Unmarshal([]byte(c.cli("", "orgs", "list", "--json").Stdout), &orgList)
	if len(orgList.Orgs) != 1 {
		t.Fatalf("orgs: %+v", orgList)
	}
	if r := c.cli(adminPassword+"\n", "users", "add", "--email", adminEmail, "--role", "admin", "--org", orgList.Orgs[0].ID); r.Code != 0 {
		t.Fatalf("users add: %+v", r)
	}
	for i := range 3 {
		n, err := harness.Start(bin, t.TempDir(), harness.Options{
			Args: []string{"--redis", rd.URL(), "--failed-auth-limit", "0"},
			Env:  []string{"KEYGATE_DATABASE_URL=" + c.url},
		})
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer n.Stop()
		c.nodes = append(c.nodes, n)
	}
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]

	t.Run("the nodes registry shows the cluster", func(t *testing.T) {
		var list struct {
			Nodes []struct {
				Address string
				Live    bool
			}
		}
		json.Unmarshal([]byte(c.cli("", "nodes", "list", "--json").Stdout), &list)
		live := map[string]bool{}
		for _, n := range list.Nodes {
			if n.Live {
				live[n.Address] = true
			}
		}
		for _, n := range c.nodes {
			if !live[n.GatewayURL] {
				t.Errorf("node %s is not listed as live: %+v", n.GatewayURL, list)
			}
		}
		// A fourth node without --redis is told that limits are per node.
		lone, err := harness.Start(bin, t.TempDir(), harness.Options{Env: []string{"KEYGATE_DATABASE_URL=" + c.url}})
		if err != nil {
			t.Fatal(err)
		}
		defer lone.Stop()
		deadline := time.Now().Add(5 * time.Second)
		for {
			log, _ := os.ReadFile(lone.LogPath)
			if strings.Contains(string(log), "Without --redis each node enforces rate limits on its own") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no per-node warning from a node without --redis:\n%s", log)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("created on one node, used on the others", func(t *testing.T) {
		k, err := signIn(t, a).CreateKey(ctx, "shared")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range c.nodes {
			if code, p := call(t, n.GatewayURL, k.Key); code != 200 {
				t.Fatalf("key created on A, on %s: %d %s", n.GatewayURL, code, p)
			}
		}
	})

	t.Run("revocation on A refused on B and C within 1 s", func(t *testing.T) {
		client := signIn(t, a)
		k, err := client.CreateKey(ctx, "to-revoke")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range c.nodes { // cached as valid everywhere
			call(t, n.GatewayURL, k.Key)
			call(t, n.GatewayURL, k.Key)
		}
		if err := client.RevokeKey(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		for name, n := range map[string]*harness.Server{"B": b, "C": cc} {
			took := within(t, time.Second, "node "+name+" refuses the revoked key", func() bool {
				code, p := call(t, n.GatewayURL, k.Key)
				return code == 401 && p == "REVOKED"
			})
			t.Logf("node %s refused it %v after the revoke returned on A", name, took)
		}
	})

	t.Run("a key limited to 10 per minute gets exactly 10 across three nodes", func(t *testing.T) {
		var k struct{ Key string }
		json.Unmarshal([]byte(c.cli("", "keys", "create", "--name", "limited", "--rate-limit", "10", "--rate-window", "60", "--json").Stdout), &k)
		if k.Key == "" {
			t.Fatal("keys create --rate-limit failed")
		}
		var mu sync.Mutex
		counts := map[int]int{}
		var wg sync.WaitGroup
		for i := range 45 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, _ := call(t, c.nodes[i%3].GatewayURL, k.Key)
				mu.Lock()
				counts[code]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if counts[200] != 10 || counts[429] != 35 {
			t.Fatalf("answers %v; want exactly 10 × 200 and 35 × 429", counts)
		}
	})

	t.Run("kill -9 of a node loses nothing acknowledged; the others go on", func(t *testing.T) {
		k, err := signIn(t, cc).CreateKey(ctx, "made-on-c")
		if err != nil {
			t.Fatal(err)
		}
		cc.Kill() // SIGKILL right after the acknowledgement
		<-cc.Done()
		for _, n := range []*harness.Server{a, b} {
			if code, p := call(t, n.GatewayURL, k.Key); code != 200 {
				t.Fatalf("a key acknowledged by the killed node, on %s: %d %s", n.GatewayURL, code, p)
			}
		}
	})

	t.Run("PostgreSQL restart", func(t *testing.T) {
		client := signIn(t, a)
		k, err := client.CreateKey(ctx, "before-restart")
		if err != nil {
			t.Fatal(err)
		}
		call(t, a.GatewayURL, k.Key) // verified just now on A
		unknown, _ := keys.Generate("kg")
		if err := pg.Halt(); err != nil {
			t.Fatal(err)
		}
		within(t, 10*time.Second, "A's readiness to fail", func() bool { return ready(a) == 503 })
		if code, p := call(t, a.GatewayURL, k.Key); code != 200 {
			t.Errorf("a key verified seconds ago, database down: %d %s", code, p)
		}
		if code, p := call(t, a.GatewayURL, unknown.Raw); code != 503 || p != "STORE_UNAVAILABLE" {
			t.Errorf("an unknown key, database down: %d %s; want 503 STORE_UNAVAILABLE", code, p)
		}
		if _, err := client.CreateKey(ctx, "during-outage"); err == nil || !strings.Contains(err.Error(), "503") && !strings.Contains(err.Error(), "STORE_UNAVAILABLE") {
			t.Errorf("a console write, database down: %v; want 503 STORE_UNAVAILABLE", err)
		}
		if err := pg.StartAgain(); err != nil {
			t.Fatal(err)
		}
		within(t, 20*time.Second, "A and B ready again without a restart", func() bool { return ready(a) == 200 && ready(b) == 200 })
		k2, err := client.CreateKey(ctx, "after-restart")
		if err != nil {
			t.Fatalf("console write after the restart: %v", err)
		}
		within(t, 5*time.Second, "the new key on B", func() bool { code, _ := call(t, b.GatewayURL, k2.Key); return code == 200 })
		// B listens again: a revocation on A reaches it.
		call(t, b.GatewayURL, k2.Key)
		if err := client.RevokeKey(ctx, k2.ID); err != nil {
			t.Fatal(err)
		}
		within(t, time.Second, "B refuses the key revoked after the restart", func() bool {
			code, _ := call(t, b.GatewayURL, k2.Key)
			return code == 401
		})
	})
}

func ready(n *harness.Server) int {
	resp, err := http.Get(n.ConsoleURL + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
