package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/routes"
)

// benchEnv is a gateway with a tiny upstream; the benchmarks call ServeHTTP directly so that
// the allocations reported are the gateway's and the upstream transport's, not a client's.
func benchEnv(b *testing.B) (*env, http.Handler) {
	b.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	}))
	b.Cleanup(up.Close)
	e := newEnv(b, func(c *gateway.Config) { c.RequestLogKeep = -1 })
	f := false
	if _, err := e.routes.Put(context.Background(), routes.Params{Prefix: "/", Upstream: up.URL}); err != nil {
		b.Fatal(err)
	}
	e.addRoute(routes.Params{Prefix: "/open", Upstream: up.URL, AuthRequired: &f})
	return e, e.gw
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func runBench(b *testing.B, h http.Handler, path string, hdr http.Header, want int) {
	req := httptest.NewRequest("GET", path, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := req.Clone(context.Background())
		r.Header = hdr.Clone()
		rec := &statusRecorder{discardWriter: discardWriter{h: http.Header{}}}
		h.ServeHTTP(rec, r)
		if rec.status != want {
			b.Fatalf("status %d, want %d", rec.status, want)
		}
	}
}

type statusRecorder struct {
	discardWriter
	status int
}

func (w *statusRecorder) WriteHeader(c int) { w.status = c }
func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return len(b), nil
}

func BenchmarkProxyValidKey(b *testing.B) {
	e, h := benchEnv(b)
	runBench(b, h, "/pets", http.Header{"X-Api-Key": {e.key.Key}, "Accept": {"*/*"}}, 200)
}

func BenchmarkProxyBearerKey(b *testing.B) {
	e, h := benchEnv(b)
	runBench(b, h, "/pets", http.Header{"Authorization": {"Bearer " + e.key.Key}, "Accept": {"*/*"}}, 200)
}

func BenchmarkProxyAuthOff(b *testing.B) {
	_, h := benchEnv(b)
	runBench(b, h, "/open/pets", http.Header{"Accept": {"*/*"}}, 200)
}

func BenchmarkProxyMissingKey(b *testing.B) {
	_, h := benchEnv(b)
	runBench(b, h, "/pets", http.Header{"Accept": {"*/*"}}, 401)
}

func BenchmarkProxyUnknownKey(b *testing.B) {
	e, h := benchEnv(b)
	e.gw = nil
	k, _ := keys.Generate("kg")
	g, err := gateway.New(context.Background(), gateway.Config{Store: e.st, Keys: e.keys, Routes: e.routes, FailedAuthLimit: -1,
		RequestLogKeep: -1})
	if err != nil {
		b.Fatal(err)
	}
	_ = h
	runBench(b, g, "/pets", http.Header{"X-Api-Key": {k.Raw}}, 401)
}

func BenchmarkExtractCredential(b *testing.B) {
	h := http.Header{"Authorization": {"Bearer kg_0123456789abcdefghijABCDEFGHIJ01abcdef"}, "Cookie": {"a=b"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gateway.ExtractCredential(h, "", gateway.CredentialSources{Cookie: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// fastBenchEnv is a gateway on the fasthttp engine with a fasthttp upstream (which allocates
// next to nothing, so the figures are the gateway's own).
func fastBenchEnv(b *testing.B, opts ...envOption) (*env, fasthttp.RequestHandler) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("ok")
	}}
	go up.Serve(ln)
	b.Cleanup(func() { up.Shutdown() })
	e := newEnv(b, append([]envOption{func(c *gateway.Config) { c.RequestLogKeep = -1 }}, opts...)...)
	f := false
	url := "http://" + ln.Addr().String()
	if _, err := e.routes.Put(context.Background(), routes.Params{Prefix: "/", Upstream: url}); err != nil {
		b.Fatal(err)
	}
	e.addRoute(routes.Params{Prefix: "/open", Upstream: url, AuthRequired: &f})
	return e, e.gw.FastHandler()
}

// runFastBench feeds the handler a parsed request per iteration, as the server does.
func runFastBench(b *testing.B, h fasthttp.RequestHandler, head string, want int) {
	raw := []byte(head)
	rd := bytes.NewReader(raw)
	br := bufio.NewReader(rd)
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rd.Reset(raw)
		br.Reset(rd)
		ctx.Request.Reset()
		ctx.Response.Reset()
		if err := ctx.Request.Read(br); err != nil {
			b.Fatal(err)
		}
		h(&ctx)
		if s := ctx.Response.StatusCode(); s != want {
			b.Fatalf("status %d, want %d", s, want)
		}
	}
}

func BenchmarkFastProxyValidKey(b *testing.B) {
	e, h := fastBenchEnv(b)
	runFastBench(b, h, "GET /pets HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nx-api-key: "+e.key.Key+"\r\n\r\n", 200)
}

// BenchmarkFastProxyValidKeyV2 is BenchmarkFastProxyValidKey with a key that has scopes,
// metadata, an IP allowlist and a quota (issue 14: within 5 % of the plain key).
func BenchmarkFastProxyValidKeyV2(b *testing.B) {
	e, h := fastBenchEnv(b)
	q := int64(1_000_000_000_000)
	k, err := e.keys.Create(context.Background(), keys.CreateParams{OrgID: e.org.ID, Name: "v2", CreatedBy: "test",
		Scopes: []string{"orders:read", "invoices:*"}, Metadata: map[string]string{"plan": "pro", "customer": "bench"},
		AllowIPs: []string{"10.0.0.0/8", "127.0.0.0/8", "::1"}, Quota: &q})
	if err != nil {
		b.Fatal(err)
	}
	runFastBench(b, h, "GET /pets HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nx-api-key: "+k.Key+"\r\n\r\n", 200)
}

func BenchmarkFastProxyAuthOff(b *testing.B) {
	_, h := fastBenchEnv(b)
	runFastBench(b, h, "GET /open/pets HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 200)
}

func BenchmarkFastProxyMissingKey(b *testing.B) {
	_, h := fastBenchEnv(b)
	runFastBench(b, h, "GET /pets HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 401)
}

// BenchmarkFastProxyUnknownKey presents a well-formed key the store does not have: the
// negative cache answers it.
func BenchmarkFastProxyUnknownKey(b *testing.B) {
	// The brute-force limit would answer 429 after a few failures; the 401 path is measured.
	_, h := fastBenchEnv(b, func(c *gateway.Config) { c.FailedAuthLimit = -1 })
	other, err := keys.Generate("kg")
	if err != nil {
		b.Fatal(err)
	}
	runFastBench(b, h, "GET /pets HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nx-api-key: "+other.Raw+"\r\n\r\n", 401)
}
