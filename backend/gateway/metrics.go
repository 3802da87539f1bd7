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

// routeMetrics counts one route's answers with lock-free counters, so recording costs a few
// atomic adds on the request path.
type routeMetrics struct {
	label   string
	codes   [600]atomic.Uint64
	buckets [len(latencyBounds) + 1]atomic.Uint64
	sumUS   atomic.Uint64
	count   atomic.Uint64
}

func (m *routeMetrics) observe(status int, d time.Duration) {
	if status < 100 || status >= len(m.codes) {
		status = 599
	}
	m.codes[status].Add(1)
	us := d.Microseconds()
	i := 0
	for i < len(latencyBounds) && us > latencyBounds[i] {
		i++
	}
	m.buckets[i].Add(1)
	m.sumUS.Add(uint64(max(us, 0)))
	m.count.Add(1)
}

type metrics struct {
	mu       sync.Mutex
	byRoute  map[string]*routeMetrics
	inflight atomic.Int64
	upstream struct{ timeout, unavailable, clientClosed atomic.Uint64 }
	// loop counts the event loops' requests: served on a loop, checked off it (a store lookup)
	// and handed over with their connection to fasthttp.
	loop    struct{ served, offloaded, handedOver atomic.Uint64 }
	skipped func() uint64
	cache   func() (hits, misses uint64)
}

func newMetrics() *metrics {
	return &metrics{byRoute: map[string]*routeMetrics{}}
}

// forRoute returns the counters for a route label, creating them once; counters survive route
// reloads so that totals never go backwards.
func (m *metrics) forRoute(label string) *routeMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	rm := m.byRoute[label]
	if rm == nil {
		rm = &routeMetrics{label: label}
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
		for code := range rm.codes {
			if n := rm.codes[code].Load(); n > 0 {
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
		for i := range rm.buckets {
			cum += rm.buckets[i].Load()
			le := "+Inf"
			if i < len(latencyBounds) {
				le = strconv.FormatFloat(float64(latencyBounds[i])/1e6, 'g', -1, 64)
			}
			bw.WriteString(`keygate_gateway_request_duration_seconds_bucket{route="` + l + `",le="` + le + `"} ` + strconv.FormatUint(cum, 10) + "\n")
		}
		bw.WriteString(`keygate_gateway_request_duration_seconds_sum{route="` + l + `"} ` +
			strconv.FormatFloat(float64(rm.sumUS.Load())/1e6, 'g', -1, 64) + "\n")
		bw.WriteString(`keygate_gateway_request_duration_seconds_count{route="` + l + `"} ` + strconv.FormatUint(rm.count.Load(), 10) + "\n")
	}
	gauge(bw, "keygate_gateway_inflight_requests", "Requests being served now.", "gauge", uint64(max(m.inflight.Load(), 0)))
	bw.WriteString("# HELP keygate_gateway_upstream_errors_total Requests that failed at the upstream, by kind.\n")
	bw.WriteString("# TYPE keygate_gateway_upstream_errors_total counter\n")
	bw.WriteString(`keygate_gateway_upstream_errors_total{kind="timeout"} ` + strconv.FormatUint(m.upstream.timeout.Load(), 10) + "\n")
	bw.WriteString(`keygate_gateway_upstream_errors_total{kind="unavailable"} ` + strconv.FormatUint(m.upstream.unavailable.Load(), 10) + "\n")
	bw.WriteString(`keygate_gateway_upstream_errors_total{kind="client_closed"} ` + strconv.FormatUint(m.upstream.clientClosed.Load(), 10) + "\n")
	bw.WriteString("# HELP keygate_gateway_loop_requests_total Requests the event loops took: served on a loop, checked off it (a store lookup), or handed over with their connection to the fasthttp server.\n")
	bw.WriteString("# TYPE keygate_gateway_loop_requests_total counter\n")
	bw.WriteString(`keygate_gateway_loop_requests_total{path="loop"} ` + strconv.FormatUint(m.loop.served.Load(), 10) + "\n")
	bw.WriteString(`keygate_gateway_loop_requests_total{path="offloaded"} ` + strconv.FormatUint(m.loop.offloaded.Load(), 10) + "\n")
	bw.WriteString(`keygate_gateway_loop_requests_total{path="handed_over"} ` + strconv.FormatUint(m.loop.handedOver.Load(), 10) + "\n")
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

func gauge(bw *bufio.Writer, name, help, typ string, v uint64) {
	bw.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
	bw.WriteString(name + " " + strconv.FormatUint(v, 10) + "\n")
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
