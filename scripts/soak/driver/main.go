// Command driver is `make soak`'s load generator. It starts the benchmark upstream and
// `keygate serve`, measures the gateway's capacity with a closed loop, then:
//
//  1. soak: an open loop at 70% of that capacity for -duration, through the gateway with valid
//     keys, while keys are created and revoked through the console API; per minute it records
//     throughput, status codes, p50/p99 latency, keygate's RSS and goroutines;
//  2. overload: twice the capacity offered over 5,000 connections for -overload;
//  3. recovery: 50% of capacity right after, second by second.
//
// Latency is measured from each request's scheduled start, so a server that falls behind is
// charged for the queueing it causes. Everything listens on and targets 127.0.0.1 only.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/tests/harness"
)

func main() {
	keygate := flag.String("keygate", "bin/keygate", "keygate binary")
	upstreamBin := flag.String("upstream", "", "benchmark upstream binary (scripts/bench/upstream)")
	duration := flag.Duration("duration", 10*time.Minute, "soak duration")
	overload := flag.Duration("overload", 60*time.Second, "overload duration")
	overloadConns := flag.Int("overload-conns", 5000, "connections during the overload")
	conns := flag.Int("conns", 128, "connections for the capacity measurement and the soak")
	capTime := flag.Duration("capacity-time", 15*time.Second, "capacity measurement time")
	fraction := flag.Float64("load", 0.7, "soak load as a fraction of the measured capacity")
	out := flag.String("out", "", "also write the report (Markdown) here")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("soak: ")
	if *upstreamBin == "" {
		log.Fatal("-upstream is required")
	}
	work, err := os.MkdirTemp("", "keygate-soak-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	r, err := run(*keygate, *upstreamBin, work, config{duration: *duration, overload: *overload,
		overloadConns: *overloadConns, conns: *conns, capTime: *capTime, fraction: *fraction})
	if r != nil {
		text := r.markdown()
		fmt.Print(text)
		if *out != "" {
			os.WriteFile(*out, []byte(text), 0o644)
		}
	}
	if err != nil {
		log.Fatal(err)
	}
	if r.failed() {
		os.Exit(1)
	}
}

type config struct {
	duration, overload, capTime time.Duration
	overloadConns, conns        int
	fraction                    float64
}

// sample is one reading of the server's resources.
type sample struct {
	at         time.Time
	rssKB      int64
	goroutines int64
}

// window aggregates the requests of one minute (or second).
type window struct {
	mu        sync.Mutex
	lat       []time.Duration
	codes     map[int]int
	revoked   int // 401 answers with code REVOKED (expected: keys revoked meanwhile)
	errs      int
	errSample string
}

func newWindow() *window { return &window{codes: map[int]int{}} }

func (w *window) add(d time.Duration, code int, revoked bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.errs++
		if w.errSample == "" {
			w.errSample = err.Error()
		}
		return
	}
	w.lat = append(w.lat, d)
	w.codes[code]++
	if revoked {
		w.revoked++
	}
}

type stats struct {
	n                    int
	p50, p99, max        time.Duration
	ok, revoked, limited int
	unexpected, errs     int
	codes                map[int]int
	errSample            string
}

func (w *window) stats() stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := stats{n: len(w.lat) + w.errs, errs: w.errs, codes: map[int]int{}, errSample: w.errSample, revoked: w.revoked}
	sort.Slice(w.lat, func(i, j int) bool { return w.lat[i] < w.lat[j] })
	if n := len(w.lat); n > 0 {
		s.p50, s.p99, s.max = w.lat[n/2], w.lat[min(n-1, n*99/100)], w.lat[n-1]
	}
	for c, n := range w.codes {
		s.codes[c] = n
		switch {
		case c == 200:
			s.ok += n
		case c == 429 || c == 503:
			s.limited += n
		}
	}
	s.unexpected = len(w.lat) - s.ok - s.limited - s.revoked
	return s
}

// keyPool is the set of keys traffic uses; the churner adds and revokes keys meanwhile.
type keyPool struct {
	mu   sync.RWMutex
	keys []testutil.CreatedKey
}

func (p *keyPool) pick(r *rand.Rand) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.keys[r.IntN(len(p.keys))].Key
}

type result struct {
	cfg          config
	capacity     float64
	target       float64
	minutes      []minuteRow
	overload     stats
	overloadRate float64
	overloadRSS  int64
	overloadTook time.Duration // until the last overload request was answered
	recovery     []stats
	recoveryRate float64
	created      int
	revoked      int
	churnErrs    int
	notes        []string
	// upstream connections the gateway held open at the end of the overload and after recovery
	upstreamSoak, upstreamDuring, upstreamAfter string
	loadStart, loadEnd                          string
}

type minuteRow struct {
	stats
	rps        float64
	rssKB      int64
	goroutines int64
	load       string // the machine's 1-minute load average at the end of the minute
	serverP99  string // from keygate's own latency histogram (bucket bound)
}

func (r *result) failed() bool {
	for _, m := range r.minutes {
		if m.unexpected > 0 || m.errs > 0 {
			return true
		}
	}
	return r.overload.unexpected > 0 || r.churnErrs > 0
}

func run(bin, upstreamBin, work string, cfg config) (*result, error) {
	ctx := context.Background()
	res := &result{cfg: cfg, loadStart: loadavg()}
	defer func() { res.loadEnd = loadavg() }()

	// The upstream.
	up := exec.Command(upstreamBin, "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0")
	upOut, _ := up.StdoutPipe()
	up.Stderr = os.Stderr
	if err := up.Start(); err != nil {
		return nil, fmt.Errorf("start upstream: %w", err)
	}
	defer func() { up.Process.Kill(); up.Wait() }()
	line, err := bufio.NewReader(upOut).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	upAddr, upAdmin := "", ""
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "listen="); ok {
			upAddr = v
		}
		if v, ok := strings.CutPrefix(f, "admin="); ok {
			upAdmin = v
		}
	}
	go io.Copy(io.Discard, upOut)

	// Keygate: a route to the upstream, an admin, keys.
	dir := filepath.Join(work, "data")
	if r, err := harness.CLI(ctx, bin, dir, "", "routes", "add", "/", "http://"+upAddr); err != nil || r.Code != 0 {
		return nil, fmt.Errorf("routes add: %v %s", err, r.Stderr)
	}
	const email, password = "soak@example.com", "soak-password-123"
	if err := harness.AddAdmin(ctx, bin, dir, email, password); err != nil {
		return nil, err
	}
	// The failed-authentication limit is per client address and all load comes from
	// 127.0.0.1: off, so that the 401s of revoked keys stay 401s.
	srv, err := harness.Start(bin, dir, harness.Options{LogPath: filepath.Join(work, "serve.log"),
		Args: []string{"--failed-auth-limit", "0", "--log-level", "warn"}})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	con := testutil.NewClient(nil, srv.ConsoleURL)
	if err := con.SignIn(ctx, email, password); err != nil {
		return nil, err
	}
	pool := &keyPool{}
	for i := 0; i < 16; i++ {
		k, err := con.CreateKey(ctx, fmt.Sprintf("soak-%d", i))
		if err != nil {
			return nil, err
		}
		pool.keys = append(pool.keys, k)
	}

	// Resource sampler.
	var smu sync.Mutex
	var samples []sample
	sctx, stopSampler := context.WithCancel(ctx)
	defer stopSampler()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case now := <-t.C:
				s := sample{at: now, rssKB: rssKB(srv.Pid()), goroutines: goroutines(srv.ConsoleURL)}
				smu.Lock()
				samples = append(samples, s)
				smu.Unlock()
			}
		}
	}()
	samplesBetween := func(a, b time.Time) (rss, gr int64, peakRSS int64) {
		smu.Lock()
		defer smu.Unlock()
		var n int64
		for _, s := range samples {
			if !s.at.Before(a) && s.at.Before(b) {
				rss += s.rssKB
				gr += s.goroutines
				peakRSS = max(peakRSS, s.rssKB)
				n++
			}
		}
		if n > 0 {
			rss, gr = rss/n, gr/n
		}
		return
	}

	gw := srv.GatewayURL + "/soak"

	// Capacity: a closed loop (each connection sends its next request as soon as the last is
	// answered), after a short warm-up.
	log.Printf("measuring capacity: %d connections for %v", cfg.conns, cfg.capTime)
	closedLoop(gw, pool, cfg.conns, 3*time.Second)
	n := closedLoop(gw, pool, cfg.conns, cfg.capTime)
	res.capacity = float64(n) / cfg.capTime.Seconds()
	res.target = res.capacity * cfg.fraction
	log.Printf("capacity %.0f req/s; soak at %.0f req/s for %v", res.capacity, res.target, cfg.duration)

	// Soak with key churn.
	churnCtx, stopChurn := context.WithCancel(ctx)
	var churnWG sync.WaitGroup
	churnWG.Add(1)
	go func() {
		defer churnWG.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		seq := 0
		for {
			select {
			case <-churnCtx.Done():
				return
			case <-t.C:
			}
			seq++
			k, err := con.CreateKey(churnCtx, fmt.Sprintf("churn-%d", seq))
			if err != nil {
				if churnCtx.Err() == nil {
					res.churnErrs++
					log.Printf("churn create: %v", err)
				}
				continue
			}
			res.created++
			pool.mu.Lock()
			pool.keys = append(pool.keys, k)
			old := pool.keys[0]
			pool.mu.Unlock()
			// Revoke the oldest while traffic still uses it, then take it out of the pool:
			// requests with it in between get the expected 401 REVOKED.
			if err := con.RevokeKey(churnCtx, old.ID); err != nil {
				if churnCtx.Err() == nil {
					res.churnErrs++
					log.Printf("churn revoke: %v", err)
				}
				continue
			}
			res.revoked++
			time.Sleep(50 * time.Millisecond)
			pool.mu.Lock()
			pool.keys = pool.keys[1:]
			pool.mu.Unlock()
		}
	}()
	start := time.Now()
	minutes := int((cfg.duration + time.Minute - 1) / time.Minute)
	ol := newOpenLoop(gw, pool, cfg.conns*2)
	for m := 0; m < minutes; m++ {
		d := min(time.Minute, cfg.duration-time.Duration(m)*time.Minute)
		w := newWindow()
		from := time.Now()
		h0 := scrapeHist(srv.ConsoleURL)
		took := ol.run(res.target, d, w)
		st := w.stats()
		rss, gr, _ := samplesBetween(from, time.Now())
		row := minuteRow{stats: st, rps: float64(st.n) / took.Seconds(), rssKB: rss, goroutines: gr,
			load: loadavg(), serverP99: histP99(h0, scrapeHist(srv.ConsoleURL))}
		res.minutes = append(res.minutes, row)
		log.Printf("minute %d: %.0f req/s, p50 %v p99 %v, 200=%d 401-revoked=%d other=%d errors=%d, RSS %d MiB, %d goroutines, load %s",
			m+1, row.rps, st.p50, st.p99, st.ok, st.revoked, st.unexpected, st.errs, rss/1024, gr, row.load)
	}
	stopChurn()
	churnWG.Wait()
	res.upstreamSoak = upstreamStats(upAdmin)
	ol.close()
	log.Printf("soak done in %v", time.Since(start).Round(time.Second))

	// Overload: twice the capacity over many connections.
	res.overloadRate = 2 * res.capacity
	log.Printf("overload: %.0f req/s offered over %d connections for %v", res.overloadRate, cfg.overloadConns, cfg.overload)
	ov := newOpenLoop(gw, pool, cfg.overloadConns)
	w := newWindow()
	from := time.Now()
	res.overloadTook = ov.run(res.overloadRate, cfg.overload, w)
	res.overload = w.stats()
	_, _, res.overloadRSS = samplesBetween(from, time.Now().Add(time.Second))
	res.upstreamDuring = upstreamStats(upAdmin)
	ov.close()
	log.Printf("overload: %d answered (%.0f req/s), p99 %v, 200=%d 429/503=%d other=%d errors=%d (%s), peak RSS %d MiB",
		res.overload.n, float64(res.overload.n)/res.overloadTook.Seconds(), res.overload.p99, res.overload.ok, res.overload.limited,
		res.overload.unexpected, res.overload.errs, res.overload.errSample, res.overloadRSS/1024)

	// Recovery: half the capacity, second by second.
	res.recoveryRate = res.capacity / 2
	rec := newOpenLoop(gw, pool, cfg.conns)
	for i := 0; i < 10; i++ {
		w := newWindow()
		rec.run(res.recoveryRate, time.Second, w)
		res.recovery = append(res.recovery, w.stats())
	}
	rec.close()
	res.upstreamAfter = upstreamStats(upAdmin)
	if rss, ok := lastRSS(&smu, &samples); ok {
		res.notes = append(res.notes, fmt.Sprintf("RSS after recovery: %d MiB", rss/1024))
	}
	return res, nil
}

func lastRSS(mu *sync.Mutex, s *[]sample) (int64, bool) {
	mu.Lock()
	defer mu.Unlock()
	if len(*s) == 0 {
		return 0, false
	}
	return (*s)[len(*s)-1].rssKB, true
}

func newClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, IdleConnTimeout: time.Minute,
	}}
}

// do sends one request; it returns the status and whether it was a 401 REVOKED.
func do(c *http.Client, url, key string) (int, bool, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("x-api-key", key)
	res, err := c.Do(req)
	if err != nil {
		return 0, false, err
	}
	var revoked bool
	if res.StatusCode == http.StatusOK {
		io.Copy(io.Discard, res.Body)
	} else {
		b, _ := io.ReadAll(res.Body)
		revoked = res.StatusCode == http.StatusUnauthorized && strings.Contains(string(b), `"REVOKED"`)
	}
	res.Body.Close()
	return res.StatusCode, revoked, nil
}

// closedLoop runs conns connections flat out for d and returns the requests answered 200.
func closedLoop(url string, pool *keyPool, conns int, d time.Duration) int64 {
	c := newClient(conns)
	defer c.CloseIdleConnections()
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			for time.Now().Before(deadline) {
				if code, _, err := do(c, url, pool.pick(r)); err == nil && code == 200 {
					n.Add(1)
				}
			}
		}(uint64(i))
	}
	wg.Wait()
	return n.Load()
}

// openLoop sends requests at a fixed rate from a fixed set of workers, each with one
// connection at a time; a request's latency counts from its scheduled start.
type openLoop struct {
	url     string
	pool    *keyPool
	c       *http.Client
	work    chan time.Time
	wg      sync.WaitGroup
	window  atomic.Pointer[window]
	backlog atomic.Int64
}

func newOpenLoop(url string, pool *keyPool, workers int) *openLoop {
	o := &openLoop{url: url, pool: pool, c: newClient(workers), work: make(chan time.Time, workers*4)}
	for i := 0; i < workers; i++ {
		o.wg.Add(1)
		go func(seed uint64) {
			defer o.wg.Done()
			r := rand.New(rand.NewPCG(seed, 11))
			for at := range o.work {
				code, revoked, err := do(o.c, o.url, o.pool.pick(r))
				if w := o.window.Load(); w != nil {
					w.add(time.Since(at), code, revoked, err)
				}
			}
		}(uint64(i))
	}
	return o
}

// run schedules rate requests a second for d into w and returns how long it took until the
// last of them was answered. When every worker is busy and the queue is full the schedule
// still advances: those requests start late and are charged for it.
func (o *openLoop) run(rate float64, d time.Duration, w *window) time.Duration {
	o.window.Store(w)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	next := start
	for next.Sub(start) < d {
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		// Batch everything due now (sleep granularity is coarser than the interval).
		now := time.Now()
		for !next.After(now) && next.Sub(start) < d {
			o.work <- next
			next = next.Add(interval)
		}
	}
	// Let the requests already sent finish into this window.
	for len(o.work) > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	return time.Since(start)
}

func (o *openLoop) close() {
	close(o.work)
	o.wg.Wait()
	o.c.CloseIdleConnections()
}

func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func goroutines(consoleURL string) int64 {
	res, err := http.Get(consoleURL + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func (r *result) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Soak (%s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Capacity (closed loop, %d connections, valid keys): **%.0f req/s**. Soak at %.0f%%: %.0f req/s for %v "+
		"over %d connections; meanwhile %d keys created and %d revoked through the console API (%d errors).\n\n",
		r.cfg.conns, r.capacity, r.cfg.fraction*100, r.target, r.cfg.duration, r.cfg.conns*2, r.created, r.revoked, r.churnErrs)
	fmt.Fprintf(&b, "Machine load average (1 min) at the start: %s; %d CPUs.\n\n", r.loadStart, runtime.NumCPU())
	b.WriteString("Latency is the client's, from each request's scheduled start; \"server p99\" is the bound of the bucket of keygate's own histogram (/metrics) holding the 99th percentile.\n\n")
	b.WriteString("| minute | req/s | p50 | p99 | max | server p99 | 200 | 401 REVOKED | other status | errors | RSS MiB | goroutines | load |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, m := range r.minutes {
		fmt.Fprintf(&b, "| %d | %.0f | %s | %s | %s | %s | %d | %d | %d | %d | %.1f | %d | %s |\n", i+1, m.rps, ms(m.p50), ms(m.p99), ms(m.max),
			m.serverP99, m.ok, m.revoked, m.unexpected, m.errs, float64(m.rssKB)/1024, m.goroutines, m.load)
	}
	fmt.Fprintf(&b, "\nUpstream connections at the end of the soak: %s.\n", r.upstreamSoak)
	if n := len(r.minutes); n > 0 {
		f, l := r.minutes[0], r.minutes[n-1]
		fmt.Fprintf(&b, "\nFirst vs last minute: RSS %.1f → %.1f MiB, goroutines %d → %d, p99 %s → %s.\n",
			float64(f.rssKB)/1024, float64(l.rssKB)/1024, f.goroutines, l.goroutines, ms(f.p99), ms(l.p99))
	}
	o := r.overload
	fmt.Fprintf(&b, "\nOverload: %.0f req/s offered (2× capacity) over %d connections for %v: %d answered in %v (%.0f req/s), "+
		"200: %d, 429/503: %d, other status: %d, errors: %d; p50 %s, p99 %s; peak RSS %.1f MiB.\n",
		r.overloadRate, r.cfg.overloadConns, r.cfg.overload, o.n, r.overloadTook.Round(time.Second), float64(o.n)/r.overloadTook.Seconds(), o.ok, o.limited,
		o.unexpected, o.errs, ms(o.p50), ms(o.p99), float64(r.overloadRSS)/1024)
	fmt.Fprintf(&b, "Upstream connections (bench upstream's /stats) at the end of the overload: %s; after recovery: %s.\n",
		r.upstreamDuring, r.upstreamAfter)
	if o.errSample != "" {
		fmt.Fprintf(&b, "First client error: `%s`.\n", o.errSample)
	}
	fmt.Fprintf(&b, "\nRecovery at %.0f req/s, second by second (p99): ", r.recoveryRate)
	for i, s := range r.recovery {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ms(s.p99))
		if s.errs > 0 || s.unexpected > 0 {
			fmt.Fprintf(&b, " (%d errors, %d other)", s.errs, s.unexpected)
		}
	}
	b.WriteString(".\n")
	for _, n := range r.notes {
		b.WriteString(n + ".\n")
	}
	return b.String()
}

// scrapeHist reads keygate's request-duration histogram, summed over routes: bucket bound →
// cumulative count.
func scrapeHist(consoleURL string) map[string]uint64 {
	out := map[string]uint64{}
	res, err := http.Get(consoleURL + "/metrics")
	if err != nil {
		return out
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "keygate_gateway_request_duration_seconds_bucket{") {
			continue
		}
		_, rest, _ := strings.Cut(l, `le="`)
		le, rest, _ := strings.Cut(rest, `"`)
		n, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(rest, "}")), 10, 64)
		out[le] += n
	}
	return out
}

// histP99 returns the bound of the bucket holding the 99th percentile of the requests counted
// between two scrapes.
func histP99(a, b map[string]uint64) string {
	type bucket struct {
		le  float64
		raw string
		n   uint64
	}
	var bs []bucket
	for le, n := range b {
		v, err := strconv.ParseFloat(le, 64)
		if le == "+Inf" {
			v, err = 1e18, nil
		}
		if err == nil {
			bs = append(bs, bucket{v, le, n - a[le]})
		}
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	if len(bs) == 0 || bs[len(bs)-1].n == 0 {
		return "?"
	}
	total := bs[len(bs)-1].n
	for _, x := range bs {
		if x.n*100 >= total*99 {
			if x.raw == "+Inf" {
				return "> last bucket"
			}
			return "≤ " + ms(time.Duration(x.le*float64(time.Second)))
		}
	}
	return "?"
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// upstreamStats returns the upstream's connection counters as "open N (M accepted since start)".
func upstreamStats(admin string) string {
	res, err := http.Get("http://" + admin + "/stats")
	if err != nil {
		return "?"
	}
	defer res.Body.Close()
	var st struct{ Conns, Open, Requests int64 }
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return "?"
	}
	return fmt.Sprintf("%d open (%d accepted since start)", st.Open, st.Conns)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
