package gateway

import (
	"bufio"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// latencyBounds are the histogram's upper bounds in microseconds (Prometheus wants seconds;
// the handler converts).
var latencyBounds = [...]int64{250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
	1_000_000, 2_500_000, 5_000_000, 10_000_000}

// The counters every request adds to are kept in shards: shard 0 for the goroutine engines
// (fasthttp, net/http) and one for each event loop (reqState.shard), so that a loop adds only
// to memory no other core writes. A counter shared by the loops moves its cache line from one
// core to the other on nearly every request, a miss each time. A scrape sums the shards.

// maxShards bounds the shards (the loops beyond it share): a route's counters take about 5 KB
// a shard.
const maxShards = 9

// routeMetrics counts one route's answers with lock-free counters, so recording costs a few
// atomic adds on the request path.
type routeMetrics struct {
	label  string
	shards []routeCounts
}

type routeCounts struct {
	codes   [600]atomic.Uint64
	buckets [len(latencyBounds) + 1]atomic.Uint64
	sumUS   atomic.Uint64
	count   atomic.Uint64
	_       [64]byte // (the next shard's counters start on another cache line)
}

func (m *routeMetrics) observe(shard, status int, d time.Duration) {
	c := &m.shards[shard]
	if status < 100 || status >= len(c.codes) {
		status = 599
	}
	c.codes[status].Add(1)
	us := d.Microseconds()
	i := 0
	for i < len(latencyBounds) && us > latencyBounds[i] {
		i++
	}
	c.buckets[i].Add(1)
	c.sumUS.Add(uint64(max(us, 0)))
	c.count.Add(1)
}

// sum adds up one counter over the shards.
func (m *routeMetrics) sum(counter func(c *routeCounts) *atomic.Uint64) uint64 {
	var n uint64
	for i := range m.shards {
		n += counter(&m.shards[i]).Load()
	}
	return n
}

type metrics struct {
	mu      sync.Mutex
	byRoute map[string]*routeMetrics
	// shards are the request path's counters by shard (see maxShards).
	shards   []shardCounts
	upstream struct{ timeout, unavailable, clientClosed atomic.Uint64 }
	skipped  func() uint64
	cache    func() (hits, misses uint64)
}

type shardCounts struct {
	inflight atomic.Int64
	// loop counts the event loops' requests: served on a loop, checked off it (a store lookup)
	// and handed over with their connection to fasthttp.
	served, offloaded, handedOver atomic.Uint64
	// ids numbers the request ids made in this shard (see appendRequestID).
	ids atomic.Uint64
	_   [24]byte // (a shard to a cache line)
}

func newMetrics() *metrics {
	return &metrics{byRoute: map[string]*routeMetrics{}, shards: make([]shardCounts, shardsFor(runtime.GOMAXPROCS(0)))}
}

// shardsFor is how many shards serve n event loops.
func shardsFor(n int) int { return 1 + min(max(n, 1), maxShards-1) }

// loopShard is the shard of the i-th event loop (from 0).
func (m *metrics) loopShard(i int) int { return 1 + i%(len(m.shards)-1) }

// total adds up one of the shards' counters.
func (m *metrics) total(counter func(c *shardCounts) *atomic.Uint64) uint64 {
	var n uint64
	for i := range m.shards {
		n += counter(&m.shards[i]).Load()
	}
	return n
}

// inflight is how many requests are being served now.
func (m *metrics) inflight() int64 {
	var n int64
	for i := range m.shards {
		n += m.shards[i].inflight.Load()
	}
	return n
}

// forRoute returns the counters for a route label, creating them once; counters survive route
// reloads so that totals never go backwards.
func (m *metrics) forRoute(label string) *routeMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	rm := m.byRoute[label]
	if rm == nil {
		rm = &routeMetrics{label: label, shards: make([]routeCounts, len(m.shards))}
		m.byRoute[label] = rm
	}
	return rm
}

// ServeHTTP writes the metrics in the Prometheus text format (version 0.0.4).
func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	m.mu.Lock()
	rms := make([]*routeMetrics, 0, len(m.byRoute))
	for _, rm := range m.byRoute {
		rms = append(rms, rm)
	}
	m.mu.Unlock()
	sort.Slice(rms, func(i, j int) bool { return rms[i].label < rms[j].label })

	bw.WriteString("# HELP keygate_gateway_requests_total Requests answered by the gateway, by route and status code.\n")
	bw.WriteString("# TYPE keygate_gateway_requests_total counter\n")
	for _, rm := range rms {
		for code := range rm.shards[0].codes {
			if n := rm.sum(func(c *routeCounts) *atomic.Uint64 { return &c.codes[code] }); n > 0 {
				bw.WriteString(`keygate_gateway_requests_total{route="` + escapeLabel(rm.label) + `",code="` + strconv.Itoa(code) + `"} `)
				bw.WriteString(strconv.FormatUint(n, 10) + "\n")
			}
		}
	}
	bw.WriteString("# HELP keygate_gateway_request_duration_seconds Time from request to the end of the answer, by route.\n")
	bw.WriteString("# TYPE keygate_gateway_request_duration_seconds histogram\n")
	for _, rm := range rms {
		l := escapeLabel(rm.label)
		var cum uint64
		for i := range rm.shards[0].buckets {
			cum += rm.sum(func(c *routeCounts) *atomic.Uint64 { return &c.buckets[i] })
			le := "+Inf"
			if i < len(latencyBounds) {
				le = strconv.FormatFloat(float64(latencyBounds[i])/1e6, 'g', -1, 64)
			}
			bw.WriteString(`keygate_gateway_request_duration_seconds_bucket{route="` + l + `",le="` + le + `"} ` + strconv.FormatUint(cum, 10) + "\n")
		}
		bw.WriteString(`keygate_gateway_request_duration_seconds_sum{route="` + l + `"} ` +
			strconv.FormatFloat(float64(rm.sum(func(c *routeCounts) *atomic.Uint64 { return &c.sumUS }))/1e6, 'g', -1, 64) + "\n")
		bw.WriteString(`keygate_gateway_request_duration_seconds_count{route="` + l + `"} ` + strconv.FormatUint(rm.sum(countOf), 10) + "\n")
	}
	gauge(bw, "keygate_gateway_inflight_requests", "Requests being served now.", "gauge", uint64(max(m.inflight(), 0)))
	bw.WriteString("# HELP keygate_gateway_upstream_errors_total Requests that failed at the upstream, by kind.\n")
	bw.WriteString("# TYPE keygate_gateway_upstream_errors_total counter\n")
	bw.WriteString(`keygate_gateway_upstream_errors_total{kind="timeout"} ` + strconv.FormatUint(m.upstream.timeout.Load(), 10) + "\n")
	bw.WriteString(`keygate_gateway_upstream_errors_total{kind="unavailable"} ` + strconv.FormatUint(m.upstream.unavailable.Load(), 10) + "\n")
	bw.WriteString(`keygate_gateway_upstream_errors_total{kind="client_closed"} ` + strconv.FormatUint(m.upstream.clientClosed.Load(), 10) + "\n")
	bw.WriteString("# HELP keygate_gateway_loop_requests_total Requests the event loops took: served on a loop, checked off it (a store lookup), or handed over with their connection to the fasthttp server.\n")
	bw.WriteString("# TYPE keygate_gateway_loop_requests_total counter\n")
	bw.WriteString(`keygate_gateway_loop_requests_total{path="loop"} ` + strconv.FormatUint(m.total(func(c *shardCounts) *atomic.Uint64 { return &c.served }), 10) + "\n")
	bw.WriteString(`keygate_gateway_loop_requests_total{path="offloaded"} ` + strconv.FormatUint(m.total(func(c *shardCounts) *atomic.Uint64 { return &c.offloaded }), 10) + "\n")
	bw.WriteString(`keygate_gateway_loop_requests_total{path="handed_over"} ` + strconv.FormatUint(m.total(func(c *shardCounts) *atomic.Uint64 { return &c.handedOver }), 10) + "\n")
	if m.cache != nil {
		hits, misses := m.cache()
		gauge(bw, "keygate_key_cache_hits_total", "Key verifications answered from the cache.", "counter", hits)
		gauge(bw, "keygate_key_cache_misses_total", "Key verifications that read the database.", "counter", misses)
	}
	if m.skipped != nil {
		gauge(bw, "keygate_gateway_request_log_unpersisted_total",
			"Request log entries kept in memory only because more arrived than the persistence budget.", "counter", m.skipped())
	}
	// The soak test (make soak) watches this for leaks; the name is Prometheus' usual one.
	gauge(bw, "go_goroutines", "Goroutines that currently exist.", "gauge", uint64(runtime.NumGoroutine()))
}

func countOf(c *routeCounts) *atomic.Uint64 { return &c.count }

func gauge(bw *bufio.Writer, name, help, typ string, v uint64) {
	bw.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
	bw.WriteString(name + " " + strconv.FormatUint(v, 10) + "\n")
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
