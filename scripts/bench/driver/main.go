// Command driver runs Keygate's wrk benchmark (scripts/bench/run.sh builds it and calls it). It
// starts the benchmark upstream, nginx, Caddy, the engine candidates and `keygate serve` on free
// loopback ports with a temporary data dir, measures each case with wrk after a warm-up, and
// prints requests/s, p50 and p99 per case, the ratios against nginx and against the upstream
// alone, each server's memory, the upstream connections opened per request, and PASS or MISS for
// each target of issue 11 (ratios taken within each round, medians over rounds).
//
// It is a benchmark, not a test: it exits 0 whatever the figures, and non-zero only when it
// could not measure at all. Settings come from environment variables (see envSettings).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/keygate/keygate/backend/keys"
)

// settings are the knobs of a run; envSettings reads them from the environment.
type settings struct {
	Threads      int           // wrk -t
	Conns        int           // wrk -c for the throughput cases
	LatencyConns int           // wrk -c for the latency cases (added p50)
	Duration     time.Duration // wrk -d of each measured run
	Warmup       time.Duration // wrk -d of the unmeasured run before each case
	Runs         int           // rounds over all cases; each figure is the median
	WrkCPUs      string        // taskset -c list for wrk, "" for none
	ServerCPUs   string        // taskset -c list for upstream, nginx and Keygate, "" for none
	Cases        []string      // only these cases ("" = all)
	Profile      string        // write a CPU profile of Keygate under the keygate-key case here
	Markdown     string        // also write the tables as Markdown here
	JSON         string        // also write the results as JSON here
	Keep         bool          // keep the temporary directory
	QuietWait    time.Duration // how long to wait for other processes (and VMs: steal) to calm down before a case
	Retries      int           // how often to repeat a run disturbed by other processes or VMs
}

func envSettings() (settings, error) {
	s := settings{Threads: 1, Conns: 64, LatencyConns: 1, Duration: 10 * time.Second,
		Warmup: 3 * time.Second, Runs: 2, QuietWait: 30 * time.Second, Retries: 2}
	var errs []error
	num := func(name string, dst *int, min int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < min {
				errs = append(errs, fmt.Errorf("%s=%q: want an integer ≥ %d", name, v, min))
				return
			}
			*dst = n
		}
	}
	dur := func(name string, dst *time.Duration, min time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < min {
				errs = append(errs, fmt.Errorf("%s=%q: want a duration ≥ %s such as 10s", name, v, min))
				return
			}
			*dst = d
		}
	}
	num("BENCH_THREADS", &s.Threads, 1)
	num("BENCH_CONNECTIONS", &s.Conns, 1)
	num("BENCH_LATENCY_CONNECTIONS", &s.LatencyConns, 1)
	num("BENCH_RUNS", &s.Runs, 1)
	num("BENCH_RETRIES", &s.Retries, 0)
	dur("BENCH_QUIET_WAIT", &s.QuietWait, 0)
	dur("BENCH_DURATION", &s.Duration, time.Second)
	dur("BENCH_WARMUP", &s.Warmup, 0)
	s.WrkCPUs = os.Getenv("BENCH_WRK_CPUS")
	s.ServerCPUs = os.Getenv("BENCH_SERVER_CPUS")
	if v := os.Getenv("BENCH_CASES"); v != "" {
		s.Cases = strings.Split(v, ",")
	}
	s.Profile = os.Getenv("BENCH_PROFILE")
	s.Markdown = os.Getenv("BENCH_MARKDOWN")
	s.JSON = os.Getenv("BENCH_JSON")
	s.Keep = os.Getenv("BENCH_KEEP") != ""
	if s.Threads > s.Conns || s.Threads > s.LatencyConns {
		errs = append(errs, errors.New("BENCH_THREADS must not exceed BENCH_CONNECTIONS or BENCH_LATENCY_CONNECTIONS (wrk needs a connection per thread)"))
	}
	return s, errors.Join(errs...)
}

// benchCase is one wrk measurement.
type benchCase struct {
	Name    string // short id, used by BENCH_CASES
	Title   string
	Target  string // "upstream", "nginx", "caddy", "goproxy", "fasthttp", "lean", "gnet" or "keygate": whose process is measured
	Latency bool   // run with LatencyConns instead of Conns
	Want    int    // the status every answer must have
	url     func(e *env) string
	headers func(e *env) []string
}

// env is what the cases run against.
type env struct {
	upstream, nginxPass, nginxKey, keygate string // base URLs
	key, keyID, unknownKey, revokedKey     string
	// v2Key has scopes, a quota, metadata and an IP allowlist (issue 14: they must cost the
	// hot path little).
	v2Key         string
	upstreamAdmin string
	pprof         string // Keygate's pprof listener, when profiling
	keygatePID    int
	nginxPID      int
	upstreamPID   int
	bareProxy     string // the stdlib-only control proxy
	bareProxyPID  int
	caddy         string // Caddy with the key check
	caddyPID      int
	// The engine candidates (scripts/bench/candidate) by engine name: base URL and process.
	candidate    map[string]string
	candidatePID map[string]int
}

func apiKey(k func(e *env) string) func(e *env) []string {
	return func(e *env) []string { return []string{"x-api-key: " + k(e)} }
}

var cases = []benchCase{
	{Name: "direct", Title: "direct to upstream", Target: "upstream", Want: 200,
		url: func(e *env) string { return e.upstream + "/bench" }},
	{Name: "nginx-pass", Title: "nginx pass-through (no key check)", Target: "nginx", Want: 200,
		url: func(e *env) string { return e.nginxPass + "/bench" }},
	{Name: "nginx-key", Title: "nginx, valid key (map check)", Target: "nginx", Want: 200,
		url:     func(e *env) string { return e.nginxKey + "/bench" },
		headers: apiKey(func(e *env) string { return e.key })},
	{Name: "nginx-401", Title: "nginx, no key → 401", Target: "nginx", Want: 401,
		url: func(e *env) string { return e.nginxKey + "/bench" }},
	{Name: "caddy-key", Title: "Caddy, valid key (header matcher)", Target: "caddy", Want: 200,
		url:     func(e *env) string { return e.caddy + "/bench" },
		headers: apiKey(func(e *env) string { return e.key })},
	{Name: "caddy-401", Title: "Caddy, no key → 401", Target: "caddy", Want: 401,
		url: func(e *env) string { return e.caddy + "/bench" }},
	{Name: "goproxy", Title: "bare httputil.ReverseProxy (control)", Target: "goproxy", Want: 200,
		url: func(e *env) string { return e.bareProxy + "/bench" }},
	{Name: "cand-fasthttp", Title: "engine candidate: fasthttp Server + HostClient, key check", Target: "fasthttp", Want: 200,
		url:     func(e *env) string { return e.candidate["fasthttp"] + "/bench" },
		headers: apiKey(func(e *env) string { return e.key })},
	{Name: "cand-gnet", Title: "engine candidate: gnet event loops (server and upstream on one loop), key check", Target: "gnet", Want: 200,
		url:     func(e *env) string { return e.candidate["gnet"] + "/bench" },
		headers: apiKey(func(e *env) string { return e.key })},
	{Name: "cand-lean", Title: "engine candidate: net/http Server + lean upstream pool, key check", Target: "lean", Want: 200,
		url:     func(e *env) string { return e.candidate["lean"] + "/bench" },
		headers: apiKey(func(e *env) string { return e.key })},
	{Name: "keygate-open", Title: "Keygate, route with auth off", Target: "keygate", Want: 200,
		url: func(e *env) string { return e.keygate + "/open/bench" }},
	{Name: "keygate-key", Title: "Keygate, valid key", Target: "keygate", Want: 200,
		url:     func(e *env) string { return e.keygate + "/bench" },
		headers: apiKey(func(e *env) string { return e.key })},
	{Name: "keygate-key-v2", Title: "Keygate, valid key with scopes, quota, metadata and IP allowlist", Target: "keygate", Want: 200,
		url:     func(e *env) string { return e.keygate + "/bench" },
		headers: apiKey(func(e *env) string { return e.v2Key })},
	{Name: "keygate-learn", Title: "Keygate, valid key, route learning its API", Target: "keygate", Want: 200,
		url:     func(e *env) string { return e.keygate + "/learn/bench" },
		headers: apiKey(func(e *env) string { return e.key })},
	{Name: "keygate-401-missing", Title: "Keygate, no key → 401", Target: "keygate", Want: 401,
		url: func(e *env) string { return e.keygate + "/bench" }},
	{Name: "keygate-401-unknown", Title: "Keygate, unknown key → 401", Target: "keygate", Want: 401,
		url:     func(e *env) string { return e.keygate + "/bench" },
		headers: apiKey(func(e *env) string { return e.unknownKey })},
	{Name: "keygate-401-revoked", Title: "Keygate, revoked key → 401", Target: "keygate", Want: 401,
		url:     func(e *env) string { return e.keygate + "/bench" },
		headers: apiKey(func(e *env) string { return e.revokedKey })},
	{Name: "direct-lat", Title: "direct to upstream", Target: "upstream", Latency: true, Want: 200,
		url: func(e *env) string { return e.upstream + "/bench" }},
	{Name: "nginx-key-lat", Title: "nginx, valid key", Target: "nginx", Latency: true, Want: 200,
		url:     func(e *env) string { return e.nginxKey + "/bench" },
		headers: apiKey(func(e *env) string { return e.key })},
	{Name: "keygate-key-lat", Title: "Keygate, valid key", Target: "keygate", Latency: true, Want: 200,
		url:     func(e *env) string { return e.keygate + "/bench" },
		headers: apiKey(func(e *env) string { return e.key })},
}

// wrkResult is what scripts/bench/report.lua prints; times in microseconds.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	Bytes      int64   `json:"bytes"`
	P50        float64 `json:"p50_us"`
	P90        float64 `json:"p90_us"`
	P99        float64 `json:"p99_us"`
	Max        float64 `json:"max_us"`
	Mean       float64 `json:"mean_us"`
	ErrConnect int64   `json:"err_connect"`
	ErrRead    int64   `json:"err_read"`
	ErrWrite   int64   `json:"err_write"`
	ErrStatus  int64   `json:"err_status"`
	ErrTimeout int64   `json:"err_timeout"`
}

// result is one case's figures (medians over runs).
type result struct {
	Case        string           `json:"case"`
	Title       string           `json:"title"`
	Conns       int              `json:"connections"`
	RPS         float64          `json:"rps"`
	P50         float64          `json:"p50_us"`
	P99         float64          `json:"p99_us"`
	Requests    int64            `json:"requests"`
	Errors      int64            `json:"socket_errors"`
	Statuses    map[string]int64 `json:"warmup_statuses"`
	WrongStatus bool             `json:"wrong_status"`
	// NewUpstreamConns is how many TCP connections the upstream accepted between 10% and 90% of
	// the measured run; UpstreamRequests how many requests it answered then.
	NewUpstreamConns int64 `json:"new_upstream_conns"`
	UpstreamRequests int64 `json:"upstream_requests"`
	// UpstreamOpen is how many connections to the upstream were open at 90% of the run: the
	// proxy's pool (plus nothing else: wrk talks to the proxy). Dials with a steady pool size
	// would be churn; dials that grow it are the pool adapting to the load.
	UpstreamOpen   int64   `json:"upstream_open"`
	CPUPerReq      float64 `json:"server_cpu_us_per_request"` // the measured server's CPU time
	SysPerReq      float64 `json:"server_sys_us_per_request"` // the part of it spent in the kernel
	UpstreamCPUPer float64 `json:"upstream_cpu_us_per_request"`
	// TotalCPUPer is the CPU the whole request path costs: server, upstream and wrk. On an idle
	// machine where the CPUs are the limit, throughput is about cores ÷ TotalCPUPer, so ratios
	// of it predict throughput ratios even when other work disturbs the measured req/s.
	TotalCPUPer float64 `json:"total_cpu_us_per_request"`
	// Foreign is the CPU (in cores) that processes other than wrk and the servers used during
	// the measured run: other work on the machine that makes the figures noisy.
	Foreign float64 `json:"foreign_cpu_cores"`
	// Stolen is the CPU (in cores) the hypervisor gave to other machines while this one's
	// processes were ready to run (steal time in /proc/stat): on a shared host, the other noise.
	Stolen float64 `json:"stolen_cpu_cores"`
	runs   []result
}

func main() {
	var (
		keygateBin  = flag.String("keygate", "", "keygate binary (empty: skip the Keygate cases)")
		upstreamBin = flag.String("upstream", "", "benchmark upstream binary (required)")
		bareBin     = flag.String("bareproxy", "", "control proxy binary (empty: skip the goproxy case)")
		nginxBin    = flag.String("nginx", "nginx", "nginx binary (empty: skip the nginx cases)")
		caddyBin    = flag.String("caddy", "", "caddy binary (empty: skip the Caddy cases)")
		candBin     = flag.String("candidate", "", "engine candidate binary (empty: skip the cand-* cases)")
		gnetBin     = flag.String("gnet", "", "event-loop engine candidate binary, scripts/bench/gnetcand (empty: skip cand-gnet)")
		wrkBin      = flag.String("wrk", "wrk", "wrk binary")
		dir         = flag.String("scripts", "scripts/bench", "directory holding nginx.conf.tmpl, report.lua and statuses.lua")
	)
	flag.Parse()
	s, err := envSettings()
	if err != nil {
		fatal(err)
	}
	for _, n := range s.Cases {
		if !knownCase(strings.TrimSpace(n)) {
			var names []string
			for _, c := range cases {
				names = append(names, c.Name)
			}
			fatal(fmt.Errorf("BENCH_CASES: no case %q; the cases are %s", n, strings.Join(names, ", ")))
		}
	}
	if *upstreamBin == "" {
		fatal(errors.New("-upstream is required"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &runner{s: s, wrk: *wrkBin, scripts: *dir}
	code := r.run(ctx, binaries{keygate: *keygateBin, upstream: *upstreamBin, nginx: *nginxBin, bare: *bareBin,
		caddy: *caddyBin, candidate: *candBin, gnet: *gnetBin})
	os.Exit(code)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(2)
}

type runner struct {
	s       settings
	wrk     string
	scripts string
	tmp     string
	procs   []*proc
	wrkCPU  *time.Duration // set by wrkRun when not nil
	notes   []string
}

func (r *runner) note(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintln(os.Stderr, "bench: note:", msg)
	for _, n := range r.notes {
		if n == msg {
			return
		}
	}
	r.notes = append(r.notes, msg)
}

// binaries are the programs a run measures; an empty one skips its cases.
type binaries struct {
	keygate, upstream, nginx, bare, caddy, candidate, gnet string
}

func (r *runner) run(ctx context.Context, bins binaries) int {
	keygateBin, upstreamBin, nginxBin, bareBin := bins.keygate, bins.upstream, bins.nginx, bins.bare
	var err error
	r.tmp, err = os.MkdirTemp("", "keygate-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	defer r.cleanup()

	e := &env{}
	if err := r.startUpstream(ctx, upstreamBin, e); err != nil {
		fmt.Fprintln(os.Stderr, "bench: start upstream:", err)
		return 2
	}
	have := map[string]bool{"upstream": true}
	// A well-formed key (right shape and checksum) that no data dir holds.
	unknown, err := keys.Generate("kg")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	e.unknownKey = unknown.Raw
	if keygateBin != "" {
		if err := r.startKeygate(ctx, keygateBin, e); err != nil {
			r.note("Keygate cases skipped: %v", err)
		} else {
			have["keygate"] = true
		}
	}
	if e.key == "" { // nginx still needs a key to check against
		e.key, e.keyID = unknown.Raw, "key_bench"
	}
	if nginxBin != "" {
		if err := r.startNginx(ctx, nginxBin, e); err != nil {
			r.note("nginx cases skipped: %v", err)
		} else {
			have["nginx"] = true
		}
	}

	if bareBin != "" {
		if err := r.startBareProxy(ctx, bareBin, e); err != nil {
			r.note("goproxy case skipped: %v", err)
		} else {
			have["goproxy"] = true
		}
	}
	if bins.caddy != "" {
		if err := r.startCaddy(ctx, bins.caddy, e); err != nil {
			r.note("Caddy cases skipped: %v", err)
		} else {
			have["caddy"] = true
		}
	}
	e.candidate, e.candidatePID = map[string]string{}, map[string]int{}
	for _, engine := range []string{"fasthttp", "lean", "gnet"} {
		bin := bins.candidate
		if engine == "gnet" {
			bin = bins.gnet // a module of its own (scripts/bench/gnetcand)
		}
		if bin != "" {
			if err := r.startCandidate(ctx, bin, engine, e); err != nil {
				r.note("candidate %s skipped: %v", engine, err)
			} else {
				have[engine] = true
			}
		}
	}

	selected := selectCases(r.s.Cases, have)
	if len(selected) == 0 {
		fmt.Fprintln(os.Stderr, "bench: no case to run")
		return 2
	}
	fmt.Printf("bench: wrk -t%d -c%d (latency cases -c%d) -d%s after a %s warm-up, %d run(s); %d CPUs; wrk cpus %q, server cpus %q\n",
		r.s.Threads, r.s.Conns, r.s.LatencyConns, r.s.Duration, r.s.Warmup, r.s.Runs, runtime.NumCPU(),
		r.s.WrkCPUs, r.s.ServerCPUs)

	results := map[string]*result{}
	for run := 0; run < r.s.Runs; run++ {
		for _, c := range runOrder(selected, run) {
			if ctx.Err() != nil {
				return 130
			}
			res, err := r.measureQuietly(ctx, c, e, run == r.s.Runs-1)
			if err != nil {
				r.note("case %s failed: %v", c.Name, err)
				continue
			}
			fmt.Fprintf(os.Stderr, "bench: run %d %-20s %10.0f req/s  p50 %s  p99 %s\n", run+1, c.Name, res.RPS,
				ms(res.P50), ms(res.P99))
			if results[c.Name] == nil {
				results[c.Name] = &result{}
			}
			results[c.Name].runs = append(results[c.Name].runs, res)
		}
	}
	var rs []result
	for _, c := range selected {
		if agg := results[c.Name]; agg != nil {
			rs = append(rs, median(agg.runs))
		}
	}
	mem := r.memory(e, have)
	out := report(r.s, rs, mem, r.notes)
	if !have["keygate"] {
		keygateBin = ""
	}
	if !have["nginx"] {
		nginxBin = ""
	}
	if !have["caddy"] {
		bins.caddy = ""
	}
	setup := describeSetup(ctx, r.wrk, nginxBin, bins.caddy, keygateBin, r.s)
	out.text = "\n" + setup + out.text
	out.markdown = "```\n" + setup + "```\n\n" + out.markdown
	fmt.Print(out.text)
	if r.s.Markdown != "" {
		if err := os.WriteFile(r.s.Markdown, []byte(out.markdown), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}
	if r.s.JSON != "" {
		b, _ := json.MarshalIndent(map[string]any{"settings": r.s, "results": rs, "memory": mem,
			"targets": out.targets, "notes": r.notes}, "", "  ")
		if err := os.WriteFile(r.s.JSON, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}
	return 0
}

// describeSetup says what the figures were measured on: machine, kernel and tool versions.
func describeSetup(ctx context.Context, wrk, nginx, caddy, keygate string, s settings) string {
	var b strings.Builder
	cpu := "unknown CPU"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(info), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	first := func(name string, args ...string) string {
		out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return line
	}
	fmt.Fprintf(&b, "machine: %d CPUs (%s), %s\n", runtime.NumCPU(), cpu, first("uname", "-sr"))
	if mem, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(mem), "\n")
		fmt.Fprintf(&b, "memory:  %s\n", strings.Join(strings.Fields(line)[1:], " "))
	}
	fmt.Fprintf(&b, "wrk:     %s\n", strings.TrimSpace(strings.SplitN(first(wrk, "-v"), "Copyright", 2)[0]))
	if nginx != "" {
		fmt.Fprintf(&b, "nginx:   %s\n", first(nginx, "-v"))
	}
	if caddy != "" {
		fmt.Fprintf(&b, "caddy:   %s\n", first(caddy, "version"))
	}
	if keygate != "" {
		_, built, _ := strings.Cut(first("go", "version", keygate), ": ")
		fmt.Fprintf(&b, "keygate: %s, built with %s\n", first(keygate, "version"), built)
	}
	fmt.Fprintf(&b, "wrk -t%d -c%d (latency cases -c%d), -d%s per case after a %s warm-up, %d run(s); wrk cpus %q, server cpus %q\n",
		s.Threads, s.Conns, s.LatencyConns, s.Duration, s.Warmup, s.Runs, s.WrkCPUs, s.ServerCPUs)
	return b.String()
}

func knownCase(name string) bool {
	for _, c := range cases {
		if c.Name == name {
			return true
		}
	}
	return false
}

func selectCases(only []string, have map[string]bool) []benchCase {
	want := map[string]bool{}
	for _, n := range only {
		want[strings.TrimSpace(n)] = true
	}
	var out []benchCase
	for _, c := range cases {
		if have[c.Target] && (len(want) == 0 || want[c.Name]) {
			out = append(out, c)
		}
	}
	return out
}

// pairedOrder is the order the cases run in, so that the two cases of each ratio target run
// one after the other: a ratio of two runs minutes apart took the machine's drift between them
// (on shared vCPUs every process's CPU per request moves by 10–20 % within minutes) as part of
// the figure. Cases not named keep their place after these.
var pairedOrder = []string{
	"direct", "nginx-pass", "keygate-open", "keygate-key", "nginx-key", "keygate-key-v2", "keygate-learn",
	"keygate-401-missing", "nginx-401", "keygate-401-unknown", "keygate-401-revoked",
	"caddy-key", "caddy-401", "goproxy", "cand-fasthttp", "cand-gnet", "cand-lean",
	"direct-lat", "nginx-key-lat", "keygate-key-lat",
}

// runOrder is the order of round run (from 0): pairedOrder, backwards in every other round,
// so that neither case of a pair always runs first.
func runOrder(selected []benchCase, run int) []benchCase {
	rank := map[string]int{}
	for i, n := range pairedOrder {
		rank[n] = i + 1
	}
	out := slices.Clone(selected)
	slices.SortStableFunc(out, func(a, b benchCase) int {
		ra, rb := rank[a.Name], rank[b.Name]
		if ra == 0 {
			ra = len(pairedOrder) + 1
		}
		if rb == 0 {
			rb = len(pairedOrder) + 1
		}
		return ra - rb
	})
	if run%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// cleanup stops every process started, politely first.
func (r *runner) cleanup() {
	for i := len(r.procs) - 1; i >= 0; i-- {
		p := r.procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	if r.s.Keep {
		fmt.Fprintln(os.Stderr, "bench: kept", r.tmp)
		return
	}
	_ = os.RemoveAll(r.tmp)
}

// command builds a server command, pinned with taskset when BENCH_SERVER_CPUS is set, in its
// own process group so that cleanup reaches its children (nginx workers).
func (r *runner) command(bin string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if r.s.ServerCPUs != "" {
		cmd = exec.Command("taskset", append([]string{"-c", r.s.ServerCPUs, bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// startAnnounced starts a helper that prints "NAME key=value ..." when ready and returns its
// process and those values.
func (r *runner) startAnnounced(ctx context.Context, bin string, args ...string) (*proc, map[string]string, error) {
	cmd := r.command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = os.Stderr
	p, err := r.start(cmd)
	if err != nil {
		return nil, nil, err
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		vals := map[string]string{}
		for _, f := range strings.Fields(l) {
			if k, v, ok := strings.Cut(f, "="); ok {
				vals[k] = v
			}
		}
		return p, vals, nil
	case <-time.After(10 * time.Second):
		return nil, nil, fmt.Errorf("%s printed no address within 10s", filepath.Base(bin))
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

func (r *runner) startUpstream(ctx context.Context, bin string, e *env) error {
	p, vals, err := r.startAnnounced(ctx, bin)
	if err != nil {
		return err
	}
	e.upstreamPID = p.cmd.Process.Pid
	if vals["listen"] == "" || vals["admin"] == "" {
		return fmt.Errorf("upstream announced %v, want listen= and admin=", vals)
	}
	e.upstream, e.upstreamAdmin = "http://"+vals["listen"], "http://"+vals["admin"]
	return nil
}

func (r *runner) startBareProxy(ctx context.Context, bin string, e *env) error {
	p, vals, err := r.startAnnounced(ctx, bin, "-upstream", e.upstream)
	if err != nil {
		return err
	}
	e.bareProxyPID = p.cmd.Process.Pid
	if vals["listen"] == "" {
		return fmt.Errorf("bareproxy announced %v, want listen=", vals)
	}
	e.bareProxy = "http://" + vals["listen"]
	return probe(ctx, e.bareProxy+"/bench", nil, 200)
}

// startCandidate starts one engine prototype (scripts/bench/candidate) doing nginx's key check.
func (r *runner) startCandidate(ctx context.Context, bin, engine string, e *env) error {
	p, vals, err := r.startAnnounced(ctx, bin, "-engine", engine, "-upstream", e.upstream, "-key", e.key, "-key-id", e.keyID)
	if err != nil {
		return err
	}
	if vals["listen"] == "" {
		return fmt.Errorf("candidate announced %v, want listen=", vals)
	}
	e.candidatePID[engine] = p.cmd.Process.Pid
	e.candidate[engine] = "http://" + vals["listen"]
	if err := probe(ctx, e.candidate[engine]+"/bench", []string{"x-api-key: " + e.key}, 200); err != nil {
		return err
	}
	return probe(ctx, e.candidate[engine]+"/bench", nil, 401)
}

// startCaddy runs Caddy with scripts/bench/Caddyfile.tmpl: header matcher + reverse_proxy.
func (r *runner) startCaddy(ctx context.Context, bin string, e *env) error {
	dir := filepath.Join(r.tmp, "caddy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	listen, err := freePort()
	if err != nil {
		return err
	}
	tmpl, err := template.ParseFiles(filepath.Join(r.scripts, "Caddyfile.tmpl"))
	if err != nil {
		return err
	}
	var conf bytes.Buffer
	err = tmpl.Execute(&conf, map[string]string{"Listen": listen, "Upstream": strings.TrimPrefix(e.upstream, "http://"),
		"Key": e.key, "KeyID": e.keyID})
	if err != nil {
		return err
	}
	confPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := r.command(bin, "run", "--config", confPath, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Caddy keeps its state under $HOME / XDG dirs: keep them in the run's temporary directory.
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	p, err := r.start(cmd)
	if err != nil {
		return err
	}
	e.caddyPID = cmd.Process.Pid
	if err := waitListening(ctx, listen, p); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "stderr.log"))
		return fmt.Errorf("%w\n%s", err, b)
	}
	e.caddy = "http://" + listen
	if err := probe(ctx, e.caddy+"/bench", []string{"x-api-key: " + e.key}, 200); err != nil {
		return err
	}
	return probe(ctx, e.caddy+"/bench", nil, 401)
}

// freePort asks the kernel for a free loopback port. Another process could take it before the
// server binds it; on a benchmark machine that is rare enough.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(ctx context.Context, addr string, p *proc) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v", filepath.Base(p.cmd.Path), p.cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("nothing listens on %s after 20s", addr)
}

// proc is a started server; done is closed when it has exited.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// start starts cmd and remembers it for cleanup.
func (r *runner) start(cmd *exec.Cmd) (*proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	r.procs = append(r.procs, p)
	return p, nil
}

func (r *runner) startNginx(ctx context.Context, bin string, e *env) error {
	dir := filepath.Join(r.tmp, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pass, err := freePort()
	if err != nil {
		return err
	}
	key, err := freePort()
	if err != nil {
		return err
	}
	tmpl, err := template.ParseFiles(filepath.Join(r.scripts, "nginx.conf.tmpl"))
	if err != nil {
		return err
	}
	var conf bytes.Buffer
	err = tmpl.Execute(&conf, map[string]string{"Dir": dir, "Upstream": strings.TrimPrefix(e.upstream, "http://"),
		"PassListen": pass, "KeyListen": key, "Key": e.key, "KeyID": e.keyID})
	if err != nil {
		return err
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := r.command(bin, "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", confPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := r.start(cmd)
	if err != nil {
		return err
	}
	e.nginxPID = cmd.Process.Pid
	for _, a := range []string{pass, key} {
		if err := waitListening(ctx, a, p); err != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "stderr.log"))
			return fmt.Errorf("%w\n%s", err, b)
		}
	}
	e.nginxPass, e.nginxKey = "http://"+pass, "http://"+key
	if err := probe(ctx, e.nginxKey+"/bench", []string{"x-api-key: " + e.key}, 200); err != nil {
		return err
	}
	return probe(ctx, e.nginxKey+"/bench", nil, 401)
}

// keygateCLI runs a short keygate command against the benchmark's data dir.
func (r *runner) keygateCLI(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"--data-dir", filepath.Join(r.tmp, "data")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("keygate %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func (r *runner) createKey(ctx context.Context, bin, name string) (id, key string, err error) {
	out, err := r.keygateCLI(ctx, bin, "keys", "create", "--name", name, "--json")
	if err != nil {
		return "", "", err
	}
	var k struct{ ID, Key string }
	if err := json.Unmarshal(out, &k); err != nil || k.ID == "" || k.Key == "" {
		return "", "", fmt.Errorf("keys create --json printed %d bytes without id and key", len(out))
	}
	return k.ID, k.Key, nil
}

func (r *runner) startKeygate(ctx context.Context, bin string, e *env) error {
	var err error
	if e.keyID, e.key, err = r.createKey(ctx, bin, "bench"); err != nil {
		return err
	}
	revokedID, revoked, err := r.createKey(ctx, bin, "bench-revoked")
	if err != nil {
		return err
	}
	if _, err := r.keygateCLI(ctx, bin, "keys", "revoke", revokedID, "--reason", "benchmark"); err != nil {
		return err
	}
	e.revokedKey = revoked
	// A quota no benchmark can use up, so every request takes from it.
	out, err := r.keygateCLI(ctx, bin, "keys", "create", "--name", "bench-v2", "--json",
		"--scope", "orders:read", "--scope", "invoices:*", "--meta", "plan=pro", "--meta", "customer=bench",
		"--allow-ip", "127.0.0.0/8", "--allow-ip", "::1", "--quota", "1000000000000")
	if err != nil {
		return err
	}
	var v2 struct{ Key string }
	if err := json.Unmarshal(out, &v2); err != nil || v2.Key == "" {
		return fmt.Errorf("keys create --json printed %d bytes without key", len(out))
	}
	e.v2Key = v2.Key
	if _, err := r.keygateCLI(ctx, bin, append([]string{"routes", "add", "/open", e.upstream}, openRouteFlags...)...); err != nil {
		return err
	}
	// The same upstream behind a route that learns its API from the traffic (issue 16: learning
	// must cost the hot path little).
	if _, err := r.keygateCLI(ctx, bin, "routes", "add", "/learn", e.upstream, "--learn"); err != nil {
		return err
	}
	listen, err := freePort()
	if err != nil {
		return err
	}
	console, err := freePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(r.tmp, "keygate.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := r.command(bin, "--data-dir", filepath.Join(r.tmp, "data"), "serve", "--listen", listen,
		"--console-listen", console, "--upstream", e.upstream,
		// The brute-force limit would turn the unknown- and revoked-key cases into 429s after 30
		// failures a minute from 127.0.0.1; the 401 path is what these cases measure.
		"--failed-auth-limit", "0")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	if v := os.Getenv("BENCH_KEYGATE_ENV"); v != "" { // e.g. "GOGC=400 GOMAXPROCS=2", for experiments
		cmd.Env = append(cmd.Env, strings.Fields(v)...)
	}
	if r.s.Profile != "" {
		pp, err := freePort()
		if err != nil {
			return err
		}
		cmd.Env = append(cmd.Env, "KEYGATE_PPROF="+pp)
		e.pprof = "http://" + pp
	}
	p, err := r.start(cmd)
	if err != nil {
		return err
	}
	e.keygatePID = cmd.Process.Pid
	if err := waitListening(ctx, listen, p); err != nil {
		b, _ := os.ReadFile(logPath)
		return fmt.Errorf("%w\n%s", err, b)
	}
	e.keygate = "http://" + listen
	for _, p := range []struct {
		path    string
		headers []string
		want    int
	}{
		{"/bench", []string{"x-api-key: " + e.key}, 200},
		{"/bench", []string{"x-api-key: " + e.v2Key}, 200},
		{"/open/bench", nil, 200},
		{"/learn/bench", []string{"x-api-key: " + e.key}, 200},
		{"/bench", nil, 401},
		{"/bench", []string{"x-api-key: " + e.unknownKey}, 401},
		{"/bench", []string{"x-api-key: " + e.revokedKey}, 401},
	} {
		if err := probe(ctx, e.keygate+p.path, p.headers, p.want); err != nil {
			return err
		}
	}
	return nil
}

// openRouteFlags make `keygate routes add` create a route that needs no key.
var openRouteFlags = []string{"--public"}

// probe retries a request until it answers want (a route may take up to a second to appear).
func probe(ctx context.Context, url string, headers []string, want int) error {
	var last string
	for i := 0; i < 40; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("GET %s answered %s, want %d", url, last, want)
}

type upstreamStats struct {
	Conns    int64 `json:"conns"`
	Open     int64 `json:"open"`
	Requests int64 `json:"requests"`
}

func (e *env) upstreamStats(ctx context.Context) (upstreamStats, error) {
	var s upstreamStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.upstreamAdmin+"/stats", nil)
	if err != nil {
		return s, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// wrkRun runs wrk once and returns its JSON summary and, with statuses, the count per status.
func (r *runner) wrkRun(ctx context.Context, c benchCase, e *env, d time.Duration, statuses bool) (wrkResult, map[string]int64, error) {
	conns := r.s.Conns
	if c.Latency {
		conns = r.s.LatencyConns
	}
	script := "report.lua"
	if statuses {
		script = "statuses.lua"
	}
	args := []string{"-t", strconv.Itoa(r.s.Threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(int(math.Ceil(d.Seconds()))) + "s", "--timeout", "5s",
		"-s", filepath.Join(r.scripts, script)}
	if c.headers != nil {
		for _, h := range c.headers(e) {
			args = append(args, "-H", h)
		}
	}
	args = append(args, c.url(e))
	var cmd *exec.Cmd
	if r.s.WrkCPUs != "" {
		cmd = exec.CommandContext(ctx, "taskset", append([]string{"-c", r.s.WrkCPUs, r.wrk}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, r.wrk, args...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return wrkResult{}, nil, fmt.Errorf("wrk: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if r.wrkCPU != nil {
		*r.wrkCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	var res wrkResult
	var st map[string]int64
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "WRKJSON "); ok {
			if err := json.Unmarshal([]byte(v), &res); err != nil {
				return res, nil, fmt.Errorf("parse wrk summary %q: %w", v, err)
			}
		}
		if v, ok := strings.CutPrefix(line, "WRKSTATUS "); ok {
			if err := json.Unmarshal([]byte(v), &st); err != nil {
				return res, nil, fmt.Errorf("parse wrk statuses %q: %w", v, err)
			}
		}
	}
	if !statuses && res.DurationUS == 0 {
		return res, nil, fmt.Errorf("wrk printed no summary:\n%s", out)
	}
	return res, st, nil
}

// noisy is how many CPU cores other processes may use during a run before it is measured again.
const noisy = 0.1

// measureQuietly waits (up to BENCH_QUIET_WAIT) until other processes leave the CPUs alone,
// then measures; a run disturbed by other work is repeated up to BENCH_RETRIES times and the
// least disturbed one kept. The machine may be shared (builds, tests), and a benchmark on two
// cores is only meaningful when wrk and the servers have them to themselves.
func (r *runner) measureQuietly(ctx context.Context, c benchCase, e *env, last bool) (result, error) {
	var best result
	for attempt := 0; attempt <= r.s.Retries; attempt++ {
		r.waitQuiet(ctx, e)
		res, err := r.measure(ctx, c, e, last)
		if err != nil {
			return res, err
		}
		if attempt == 0 || res.disturbance() < best.disturbance() {
			best = res
		}
		if res.disturbance() <= noisy {
			break
		}
		if attempt < r.s.Retries {
			fmt.Fprintf(os.Stderr, "bench: %s: other processes used %.2f cores, the hypervisor took %.2f; measuring again\n",
				c.Name, res.Foreign, res.Stolen)
		}
	}
	if best.disturbance() > noisy {
		fmt.Fprintf(os.Stderr, "bench: %s: other processes used %.2f CPU cores, the hypervisor took %.2f, even in the least disturbed run\n",
			c.Name, best.Foreign, best.Stolen)
	}
	return best, nil
}

// disturbance is the CPU (cores) others took during a run: other processes and other machines.
func (res result) disturbance() float64 { return res.Foreign + res.Stolen }

// waitQuiet waits until other processes, and other machines on the host, use less than noisy
// cores over half a second.
func (r *runner) waitQuiet(ctx context.Context, e *env) {
	deadline := time.Now().Add(r.s.QuietWait)
	for {
		ours := r.allPIDs(e)
		all0, steal0 := machineTicks()
		ours0, t0 := cpuTicks(ours), time.Now()
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		all1, steal1 := machineTicks()
		busy := float64(all1-all0-(cpuTicks(ours)-ours0)+steal1-steal0) * tickUS / float64(time.Since(t0).Microseconds())
		if busy <= noisy || time.Now().After(deadline) {
			return
		}
	}
}

// wrkTimed is the measured run; it also returns wrk's own CPU time.
func (r *runner) wrkTimed(ctx context.Context, c benchCase, e *env) (wrkResult, time.Duration, error) {
	var cpu time.Duration
	r.wrkCPU = &cpu
	defer func() { r.wrkCPU = nil }()
	w, _, err := r.wrkRun(ctx, c, e, r.s.Duration, false)
	return w, cpu, err
}

// measure warms a case up (counting statuses), then runs it for real.
func (r *runner) measure(ctx context.Context, c benchCase, e *env, last bool) (result, error) {
	res := result{Case: c.Name, Title: c.Title, Conns: r.s.Conns}
	if c.Latency {
		res.Conns = r.s.LatencyConns
	}
	if r.s.Warmup > 0 {
		_, st, err := r.wrkRun(ctx, c, e, r.s.Warmup, true)
		if err != nil {
			return res, fmt.Errorf("warm-up: %w", err)
		}
		res.Statuses = st
		for code, n := range st {
			if code != strconv.Itoa(c.Want) && n > 0 {
				res.WrongStatus = true
				r.note("%s: warm-up answers %v, want only %d", c.Name, st, c.Want)
				break
			}
		}
	}
	t0 := time.Now()
	// Upstream connections are counted between 10% and 90% of the measured run: at its start a
	// proxy may redial the few upstream connections it closed when the previous wrk run hung up
	// mid-request, which says nothing about its steady state.
	window := make(chan [2]upstreamStats, 1)
	go func() {
		var w [2]upstreamStats
		for i, at := range []float64{0.1, 0.9} {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(float64(r.s.Duration)*at) - time.Since(t0)):
			}
			s, err := e.upstreamStats(ctx)
			if err != nil {
				return
			}
			w[i] = s
		}
		window <- w
	}()
	pids := r.serverPIDs(c.Target, e)
	ours := r.allPIDs(e)
	all0, steal0 := machineTicks()
	cpu0, up0, ours0 := cpuTicks(pids), cpuTicks([]int{e.upstreamPID}), cpuTicks(ours)
	sys0, upSys0 := sysTicks(pids), sysTicks([]int{e.upstreamPID})
	var prof chan error
	if last && c.Name == "keygate-key" && r.s.Profile != "" && e.pprof != "" {
		prof = make(chan error, 1)
		go func() { prof <- fetchProfile(ctx, e.pprof, r.s.Duration, r.s.Profile) }()
	}
	w, wrkCPU, err := r.wrkTimed(ctx, c, e)
	if err != nil {
		return res, err
	}
	all1, steal1 := machineTicks()
	cpu1, up1, ours1 := cpuTicks(pids), cpuTicks([]int{e.upstreamPID}), cpuTicks(ours)
	sys1, upSys1 := sysTicks(pids), sysTicks([]int{e.upstreamPID})
	elapsed := time.Since(t0)
	foreign := float64(all1-all0-(ours1-ours0))*tickUS - float64(wrkCPU.Microseconds())
	res.Foreign = math.Max(0, foreign/float64(elapsed.Microseconds()))
	res.Stolen = float64(steal1-steal0) * tickUS / float64(elapsed.Microseconds())
	var steady [2]upstreamStats
	select {
	case steady = <-window:
	default:
		return res, errors.New("could not read the upstream's connection count during the run")
	}
	if prof != nil {
		if err := <-prof; err != nil {
			r.note("CPU profile: %v", err)
		} else {
			fmt.Fprintln(os.Stderr, "bench: CPU profile of keygate-key written to", r.s.Profile)
		}
	}
	res.Requests = w.Requests
	res.RPS = float64(w.Requests) / (float64(w.DurationUS) / 1e6)
	res.P50, res.P99 = w.P50, w.P99
	res.Errors = w.ErrConnect + w.ErrRead + w.ErrWrite + w.ErrTimeout
	if w.Requests > 0 {
		res.CPUPerReq = float64(cpu1-cpu0) * tickUS / float64(w.Requests)
		res.UpstreamCPUPer = float64(up1-up0) * tickUS / float64(w.Requests)
		res.SysPerReq = float64(sys1-sys0) * tickUS / float64(w.Requests)
		res.TotalCPUPer = res.CPUPerReq + res.UpstreamCPUPer + float64(wrkCPU.Microseconds())/float64(w.Requests)
		if c.Target == "upstream" {
			res.SysPerReq = float64(upSys1-upSys0) * tickUS / float64(w.Requests)
		}
	}
	if c.Target == "upstream" {
		res.CPUPerReq = res.UpstreamCPUPer
		res.TotalCPUPer -= res.UpstreamCPUPer // counted once
	}
	res.NewUpstreamConns = steady[1].Conns - steady[0].Conns
	res.UpstreamRequests = steady[1].Requests - steady[0].Requests
	res.UpstreamOpen = steady[1].Open
	wantBad := int64(0)
	if c.Want != 200 {
		wantBad = w.Requests
	}
	if w.ErrStatus != wantBad {
		res.WrongStatus = true
		r.note("%s: %d of %d answers were not 2xx/3xx, want %d", c.Name, w.ErrStatus, w.Requests, wantBad)
	}
	if res.Errors > 0 {
		r.note("%s: %d socket errors (connect %d, read %d, write %d, timeout %d)", c.Name, res.Errors,
			w.ErrConnect, w.ErrRead, w.ErrWrite, w.ErrTimeout)
	}
	return res, nil
}

func fetchProfile(ctx context.Context, base string, d time.Duration, path string) error {
	secs := int(d.Seconds()) - 1
	if secs < 1 {
		secs = 1
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof answered %s (is the pprof listener built in? see docs/performance.md)", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tickUS is one clock tick (USER_HZ, 100 on Linux) in microseconds.
const tickUS = 1e6 / 100

// serverPIDs are the processes whose CPU a case charges to the server under test: Keygate, or
// nginx's master and workers.
func (r *runner) serverPIDs(target string, e *env) []int {
	switch target {
	case "keygate":
		return []int{e.keygatePID}
	case "nginx":
		return append([]int{e.nginxPID}, children(e.nginxPID)...)
	case "goproxy":
		return []int{e.bareProxyPID}
	case "caddy":
		return []int{e.caddyPID}
	case "fasthttp", "lean", "gnet":
		return []int{e.candidatePID[target]}
	}
	return []int{e.upstreamPID}
}

// allPIDs are every server process of the benchmark.
func (r *runner) allPIDs(e *env) []int {
	var out []int
	for _, p := range r.procs {
		out = append(out, p.cmd.Process.Pid)
		out = append(out, children(p.cmd.Process.Pid)...)
	}
	return out
}

// machineTicks reads the machine's CPU time from the cpu line of /proc/stat (0 for what it
// cannot read): busy is what all processes spent in user and system mode (interrupt time is
// left out because the kernel charges it to no process), steal the time its CPUs were ready to
// run while the hypervisor ran other machines.
func machineTicks() (busy, steal int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var f [9]int64 // cpu user nice system idle iowait irq softirq steal
	for i, v := range strings.Fields(line) {
		if i > 0 && i < len(f) {
			f[i], _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return f[1] + f[2] + f[3], f[8]
}

func children(ppid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if f := statFields(pid); len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			out = append(out, pid)
		}
	}
	return out
}

// statFields returns /proc/PID/stat from field 3 (state) on, so f[0] is state, f[1] ppid,
// f[11] utime and f[12] stime.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// sysTicks is the kernel-mode part of cpuTicks.
func sysTicks(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		if f := statFields(pid); len(f) >= 13 {
			s, _ := strconv.ParseInt(f[12], 10, 64)
			sum += s
		}
	}
	return sum
}

func cpuTicks(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		f := statFields(pid)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		sum += u + s
	}
	return sum
}

// memoryKiB reads VmRSS and VmHWM (peak) from /proc/PID/status, summed over pids.
func memoryKiB(pids []int) (rss, peak int64) {
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			n, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "VmRSS:":
				rss += n
			case "VmHWM:":
				peak += n
			}
		}
	}
	return rss, peak
}

type memory struct {
	Process string `json:"process"`
	RSSKiB  int64  `json:"rss_kib"`
	PeakKiB int64  `json:"peak_kib"`
}

func (r *runner) memory(e *env, have map[string]bool) []memory {
	var out []memory
	for _, t := range []string{"keygate", "nginx", "caddy", "goproxy", "fasthttp", "lean", "gnet", "upstream"} {
		if !have[t] {
			continue
		}
		rss, peak := memoryKiB(r.serverPIDs(t, e))
		name := map[string]string{"keygate": "Keygate", "nginx": "nginx (master + workers)", "caddy": "Caddy",
			"goproxy": "bare ReverseProxy", "fasthttp": "candidate fasthttp", "lean": "candidate lean", "gnet": "candidate gnet",
			"upstream": "upstream"}[t]
		out = append(out, memory{Process: name, RSSKiB: rss, PeakKiB: peak})
	}
	return out
}

// median takes each figure's median over runs (so one noisy run does not decide).
func median(runs []result) result {
	out := runs[len(runs)-1]
	pick := func(get func(r result) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = get(r)
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	out.RPS = pick(func(r result) float64 { return r.RPS })
	out.P50 = pick(func(r result) float64 { return r.P50 })
	out.P99 = pick(func(r result) float64 { return r.P99 })
	out.CPUPerReq = pick(func(r result) float64 { return r.CPUPerReq })
	out.SysPerReq = pick(func(r result) float64 { return r.SysPerReq })
	out.TotalCPUPer = pick(func(r result) float64 { return r.TotalCPUPer })
	out.UpstreamCPUPer = pick(func(r result) float64 { return r.UpstreamCPUPer })
	out.Foreign = pick(func(r result) float64 { return r.Foreign })
	out.Stolen = pick(func(r result) float64 { return r.Stolen })
	var conns, reqs, errs int64
	for _, r := range runs {
		conns += r.NewUpstreamConns
		reqs += r.UpstreamRequests
		errs += r.Errors
		out.WrongStatus = out.WrongStatus || r.WrongStatus
	}
	out.NewUpstreamConns, out.UpstreamRequests, out.Errors = conns, reqs, errs
	out.runs = runs
	return out
}

func ms(us float64) string { return fmt.Sprintf("%.2f ms", us/1000) }

// maxDialsPerRequest is where "no new upstream connection per request" ends.
const maxDialsPerRequest = 1e-4

// target is one goal of issue 11 and how the run did against it.
type target struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Goal     string `json:"goal"`
	Verdict  string `json:"verdict"` // PASS, MISS or N/A
	Detail   string `json:"detail,omitempty"`
	// CPUModel is the ratio predicted from CPU per request (see result.TotalCPUPer).
	CPUModel string `json:"cpu_model,omitempty"`
}

type output struct {
	text, markdown string
	targets        []target
}

func report(s settings, rs []result, mem []memory, notes []string) output {
	by := map[string]result{}
	for _, r := range rs {
		by[r.Case] = r
	}
	// A ratio is taken within each round (the two cases ran minutes apart at most, under the
	// same conditions) and the median over rounds is reported.
	ratio := func(a, b string) (float64, bool) {
		ra, oka := by[a]
		rb, okb := by[b]
		if !oka || !okb || rb.RPS == 0 {
			return 0, false
		}
		if len(ra.runs) == 0 || len(ra.runs) != len(rb.runs) {
			return ra.RPS / rb.RPS, true
		}
		var rs []float64
		for i := range ra.runs {
			if rb.runs[i].RPS > 0 {
				rs = append(rs, ra.runs[i].RPS/rb.runs[i].RPS)
			}
		}
		if len(rs) == 0 {
			return 0, false
		}
		sort.Float64s(rs)
		if len(rs)%2 == 1 {
			return rs[len(rs)/2], true
		}
		return (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2, true
	}
	fmtRatio := func(a, b string) string {
		if v, ok := ratio(a, b); ok {
			return fmt.Sprintf("%.2f×", v)
		}
		return "–"
	}

	var text, md strings.Builder
	tw := tabwriter.NewWriter(&text, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(&text)
	header := []string{"case", "conns", "req/s", "p50", "p99", "÷ nginx", "÷ direct", "CPU µs/req (user+sys)", "path CPU µs/req", "upstream dials", "dials/req", "other CPU", "stolen CPU"}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	fmt.Fprintln(&md, "| "+strings.Join(header, " | ")+" |")
	fmt.Fprintln(&md, "|"+strings.Repeat("---|", len(header)))
	for _, r := range rs {
		vsNginx, vsDirect := "", ""
		switch r.Case {
		case "keygate-key-lat":
			vsNginx = fmtRatio(r.Case, "nginx-key-lat")
			vsDirect = fmtRatio(r.Case, "direct-lat")
		case "keygate-open", "goproxy":
			vsNginx = fmtRatio(r.Case, "nginx-pass")
			vsDirect = fmtRatio(r.Case, "direct")
		case "keygate-key", "caddy-key", "cand-fasthttp", "cand-lean", "cand-gnet":
			vsNginx = fmtRatio(r.Case, "nginx-key")
			vsDirect = fmtRatio(r.Case, "direct")
		case "keygate-401-missing", "keygate-401-unknown", "keygate-401-revoked", "caddy-401":
			vsNginx = fmtRatio(r.Case, "nginx-401")
		case "nginx-pass", "nginx-key":
			vsDirect = fmtRatio(r.Case, "direct")
		case "nginx-key-lat":
			vsDirect = fmtRatio(r.Case, "direct-lat")
		}
		perReq := "–"
		if r.UpstreamRequests > 0 {
			perReq = fmt.Sprintf("%.6f", float64(r.NewUpstreamConns)/float64(r.UpstreamRequests))
		}
		newConns := fmt.Sprintf("%d (open %d)", r.NewUpstreamConns, r.UpstreamOpen)
		name := r.Case
		if r.WrongStatus {
			name += " (!)"
		}
		row := []string{name, strconv.Itoa(r.Conns), fmt.Sprintf("%.0f", r.RPS), ms(r.P50), ms(r.P99),
			vsNginx, vsDirect, fmt.Sprintf("%.1f (%.0f+%.0f)", r.CPUPerReq, r.CPUPerReq-r.SysPerReq, r.SysPerReq),
			fmt.Sprintf("%.1f", r.TotalCPUPer), newConns, perReq, fmt.Sprintf("%.2f", r.Foreign), fmt.Sprintf("%.2f", r.Stolen)}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		fmt.Fprintln(&md, "| "+strings.Join(row, " | ")+" |")
	}
	tw.Flush()
	fmt.Fprintln(&text, "\n÷ nginx: proxies with a key vs nginx with a key; 401s vs nginx's own 401; the auth-off route and goproxy vs")
	fmt.Fprintln(&text, "nginx pass-through; ratios are taken within each round, then the median over rounds;")
	fmt.Fprintln(&text, "CPU µs/req: CPU time of the server under test (all nginx processes) per request; path CPU: the same")
	fmt.Fprintln(&text, "plus the upstream's and wrk's; other CPU: cores used")
	fmt.Fprintln(&text, "by other processes during the run, stolen CPU: cores the hypervisor gave other machines (noise);")
	fmt.Fprintln(&text, "upstream dials: TCP connections the upstream accepted")
	fmt.Fprintln(&text, "between 10% and 90% of the run (steady state), and how many were open at 90%; (!) = unexpected statuses.")

	fmt.Fprintln(&text)
	fmt.Fprintln(&md)
	fmt.Fprintln(&md, "| process | RSS after the run | peak RSS |")
	fmt.Fprintln(&md, "|---|---|---|")
	for _, m := range mem {
		fmt.Fprintf(&text, "%-26s RSS %6.1f MiB (peak %.1f MiB)\n", m.Process+":", float64(m.RSSKiB)/1024, float64(m.PeakKiB)/1024)
		fmt.Fprintf(&md, "| %s | %.1f MiB | %.1f MiB |\n", m.Process, float64(m.RSSKiB)/1024, float64(m.PeakKiB)/1024)
	}

	var noisyCases []string
	for _, r := range rs {
		if r.disturbance() > noisy {
			noisyCases = append(noisyCases, fmt.Sprintf("%s (%.2f + %.2f stolen)", r.Case, r.Foreign, r.Stolen))
		}
	}
	if len(noisyCases) > 0 {
		notes = append(notes, "other processes or machines took CPU (cores, median) during "+strings.Join(noisyCases, ", ")+
			": those figures are lower than this machine gives when idle")
	}
	ts := targets(by, ratio, mem)
	fmt.Fprintln(&text, "\ntargets (issue 11):")
	fmt.Fprintln(&md)
	fmt.Fprintln(&md, "| target | measured | goal | result | predicted from CPU/req |")
	fmt.Fprintln(&md, "|---|---|---|---|---|")
	tw = tabwriter.NewWriter(&text, 0, 0, 2, ' ', 0)
	for _, t := range ts {
		v := t.Verdict
		if t.Detail != "" {
			v += " (" + t.Detail + ")"
		}
		model := t.CPUModel
		if model == "" {
			model = "–"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\tCPU model %s\n", t.Name, t.Measured, t.Goal, v, model)
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s |\n", t.Name, t.Measured, t.Goal, v, model)
	}
	tw.Flush()
	fmt.Fprintln(&text, "  (CPU model: the ratio of total CPU per request — server + upstream + wrk — which is what")
	fmt.Fprintln(&text, "  req/s would show on an idle machine where the CPUs are the limit; it resists noise.)")
	if len(notes) > 0 {
		fmt.Fprintln(&text, "\nnotes:")
		fmt.Fprintln(&md, "\nNotes:")
		for _, n := range notes {
			fmt.Fprintln(&text, "  -", n)
			fmt.Fprintln(&md, "-", n)
		}
	}
	return output{text: text.String(), markdown: md.String(), targets: ts}
}

func targets(by map[string]result, ratio func(a, b string) (float64, bool), mem []memory) []target {
	var ts []target
	ratioTarget := func(name, a, b string, goal, stretch float64) {
		t := target{Name: name, Goal: fmt.Sprintf("≥ %.2f×", goal)}
		if stretch > 0 {
			t.Goal += fmt.Sprintf(" (stretch ≥ %.2f×)", stretch)
		}
		v, ok := ratio(a, b)
		if ra, rb := by[a], by[b]; ok && ra.TotalCPUPer > 0 && rb.TotalCPUPer > 0 {
			t.CPUModel = fmt.Sprintf("%.2f×", rb.TotalCPUPer/ra.TotalCPUPer)
		}
		switch {
		case !ok:
			t.Measured, t.Verdict = "–", "N/A"
			t.Detail = "not measured"
		case by[a].WrongStatus || by[b].WrongStatus:
			t.Measured, t.Verdict = fmt.Sprintf("%.2f×", v), "N/A"
			t.Detail = "unexpected statuses, see notes"
		case v >= goal:
			t.Measured, t.Verdict = fmt.Sprintf("%.2f×", v), "PASS"
			if stretch > 0 && v >= stretch {
				t.Detail = "stretch met"
			}
		default:
			t.Measured, t.Verdict = fmt.Sprintf("%.2f×", v), "MISS"
			t.Detail = fmt.Sprintf("short by %.2f×, %.0f%% below", goal-v, (goal-v)/goal*100)
		}
		ts = append(ts, t)
	}
	ratioTarget("valid key: Keygate ÷ nginx-key req/s", "keygate-key", "nginx-key", 0.85, 1.0)
	ratioTarget("401 no key: Keygate ÷ nginx answering 401 itself", "keygate-401-missing", "nginx-401", 0.8, 0)
	ratioTarget("401 unknown key: Keygate ÷ nginx answering 401 itself", "keygate-401-unknown", "nginx-401", 0.8, 0)
	ratioTarget("auth on ÷ auth off req/s (Keygate)", "keygate-key", "keygate-open", 0.95, 0)
	ratioTarget("learning on ÷ off req/s (Keygate, valid key)", "keygate-learn", "keygate-key", 0.90, 0)
	ratioTarget("scopes+quota+allowlist ÷ plain valid key req/s (Keygate)", "keygate-key-v2", "keygate-key", 0.95, 0)

	const maxAddedP50 = 0.15 // ms
	t := target{Name: "added p50 at one connection vs direct (Keygate, valid key)", Goal: fmt.Sprintf("≤ %.2f ms", maxAddedP50)}
	k, okK := by["keygate-key-lat"]
	d, okD := by["direct-lat"]
	if okK && okD {
		added := (k.P50 - d.P50) / 1000
		t.Measured = fmt.Sprintf("%.3f ms at -c%d", added, k.Conns)
		if added <= maxAddedP50 {
			t.Verdict = "PASS"
		} else {
			t.Verdict = "MISS"
			t.Detail = fmt.Sprintf("over by %.3f ms", added-maxAddedP50)
		}
	} else {
		t.Measured, t.Verdict, t.Detail = "–", "N/A", "not measured"
	}
	ts = append(ts, t)

	const maxCPU = 30.0 // µs per proxied request
	t = target{Name: "CPU µs per proxied request (Keygate process, valid key)", Goal: fmt.Sprintf("≤ %.0f µs", maxCPU)}
	if k, ok := by["keygate-key"]; ok && k.CPUPerReq > 0 {
		t.Measured = fmt.Sprintf("%.1f µs (%.0f user + %.0f kernel)", k.CPUPerReq, k.CPUPerReq-k.SysPerReq, k.SysPerReq)
		if k.CPUPerReq <= maxCPU {
			t.Verdict = "PASS"
		} else {
			t.Verdict = "MISS"
			t.Detail = fmt.Sprintf("over by %.1f µs", k.CPUPerReq-maxCPU)
		}
	} else {
		t.Measured, t.Verdict, t.Detail = "–", "N/A", "not measured"
	}
	ts = append(ts, t)

	const maxRSSMiB = 60.0
	t = target{Name: "RSS after the bench (Keygate)", Goal: fmt.Sprintf("≤ %.0f MiB", maxRSSMiB)}
	t.Measured, t.Verdict, t.Detail = "–", "N/A", "not measured"
	for _, m := range mem {
		if m.Process == "Keygate" && m.RSSKiB > 0 {
			rss := float64(m.RSSKiB) / 1024
			t.Measured, t.Detail = fmt.Sprintf("%.1f MiB (peak %.1f)", rss, float64(m.PeakKiB)/1024), ""
			if rss <= maxRSSMiB {
				t.Verdict = "PASS"
			} else {
				t.Verdict = "MISS"
				t.Detail = fmt.Sprintf("over by %.1f MiB", rss-maxRSSMiB)
			}
		}
	}
	ts = append(ts, t)

	t = target{Name: "upstream dials per request at steady state (Keygate)", Goal: "0 (< 0.0001)"}
	var conns, reqs int64
	measured := false
	for _, n := range []string{"keygate-open", "keygate-key", "keygate-key-lat"} {
		if r, ok := by[n]; ok {
			measured = true
			conns += r.NewUpstreamConns
			reqs += r.UpstreamRequests
		}
	}
	perReq := float64(conns) / math.Max(1, float64(reqs))
	switch {
	case !measured:
		t.Measured, t.Verdict, t.Detail = "–", "N/A", "not measured"
	case conns == 0:
		t.Measured, t.Verdict = fmt.Sprintf("0 new connections in %d requests", reqs), "PASS"
	case perReq < maxDialsPerRequest:
		// A busy machine can delay the goroutine that returns a connection to the pool long
		// enough for the next request to dial: the pool grows by one, once. That is not a
		// dial per request.
		t.Measured = fmt.Sprintf("%d new connections in %d requests (%.6f per request)", conns, reqs, perReq)
		t.Verdict, t.Detail = "PASS", "pool growth, fewer than 1 per 10,000 requests"
	default:
		t.Measured = fmt.Sprintf("%d new connections in %d requests (%.6f per request)", conns, reqs, perReq)
		t.Verdict = "MISS"
	}
	ts = append(ts, t)
	return ts
}
