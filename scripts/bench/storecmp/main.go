// Command storecmp measures one `keygate serve` node on SQLite against the same node on
// PostgreSQL (a throwaway PostgreSQL 15 from pgtest): valid-key requests per second through the
// gateway with wrk, and each node's resident memory after the run. `make bench` runs it after
// the engine comparison; the figures are in docs/performance.md and docs/deploy.md.
//
//	go run ./scripts/bench/storecmp -wrk $(command -v wrk) [-duration 10s] [-connections 64] [-runs 2]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/testutil/pgtest"
	"github.com/keygate/keygate/tests/harness"
)

func main() {
	wrk := flag.String("wrk", "wrk", "wrk binary")
	dur := flag.Duration("duration", 10*time.Second, "measured time per run")
	conns := flag.Int("connections", 64, "wrk connections")
	runs := flag.Int("runs", 2, "alternating runs per store; the median is reported")
	flag.Parse()
	if err := run(*wrk, *dur, *conns, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "storecmp:", err)
		os.Exit(1)
	}
}

type node struct {
	name string
	srv  *harness.Server
	key  string
	rps  []float64
}

func run(wrk string, dur time.Duration, conns, runs int) error {
	ctx := context.Background()
	bin, err := harness.Build()
	if err != nil {
		return err
	}
	defer harness.Cleanup()
	pg, err := pgtest.Start()
	if err != nil {
		return err
	}
	defer pg.Stop()
	if err := pg.CreateDatabase(ctx, "bench"); err != nil {
		return err
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer upstream.Close()

	tmp, err := os.MkdirTemp("", "keygate-storecmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var nodes []*node
	for _, n := range []struct{ name, db string }{{"sqlite", ""}, {"postgres", pg.DatabaseURL("bench")}} {
		dir, _ := os.MkdirTemp(tmp, n.name)
		var global []string
		var env []string
		if n.db != "" {
			global = []string{"--database", n.db}
			env = []string{"KEYGATE_DATABASE_URL=" + n.db}
		}
		if r, err := harness.CLI(ctx, bin, dir, "", append(global, "routes", "add", "/", upstream.URL)...); err != nil || r.Code != 0 {
			return fmt.Errorf("%s: routes add: %v %s", n.name, err, r.Stderr)
		}
		r, err := harness.CLI(ctx, bin, dir, "", append(global, "keys", "create", "--name", "bench", "--json")...)
		if err != nil || r.Code != 0 {
			return fmt.Errorf("%s: keys create: %v %s", n.name, err, r.Stderr)
		}
		var k struct{ Key string }
		json.Unmarshal([]byte(r.Stdout), &k)
		srv, err := harness.Start(bin, dir, harness.Options{Env: env, Args: []string{"--log-level", "error"}})
		if err != nil {
			return err
		}
		defer srv.Stop()
		nodes = append(nodes, &node{name: n.name, srv: srv, key: k.Key})
	}
	for i := 0; i < runs; i++ {
		for _, n := range nodes {
			rps, err := measure(wrk, n.srv.GatewayURL, n.key, 2*time.Second, conns) // warm-up
			if err != nil {
				return err
			}
			if rps, err = measure(wrk, n.srv.GatewayURL, n.key, dur, conns); err != nil {
				return err
			}
			n.rps = append(n.rps, rps)
		}
	}
	fmt.Printf("%-10s %12s %10s\n", "store", "req/s", "RSS MiB")
	for _, n := range nodes {
		fmt.Printf("%-10s %12.0f %10.1f\n", n.name, median(n.rps), rss(n.srv.Pid()))
	}
	fmt.Printf("postgres ÷ sqlite: %.2f× (target ≥ 0.90×)\n", median(nodes[1].rps)/median(nodes[0].rps))
	return nil
}

var reqSec = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func measure(wrk, url, key string, d time.Duration, conns int) (float64, error) {
	out, err := exec.Command(wrk, "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), "-H", "x-api-key: "+key, url+"/").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("Non-2xx")) {
		return 0, fmt.Errorf("wrk saw errors:\n%s", out)
	}
	m := reqSec.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wrk output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// rss is the resident memory of pid in MiB (Linux).
func rss(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
