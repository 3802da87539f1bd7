package gateway_test

import (
	"context"
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/learn"
	"github.com/keygate/keygate/backend/routes"
)

// learnBenchEnv is the fasthttp engine in front of a JSON upstream, with a route that learns
// (/learn) beside one that does not (/plain), and a real learner behind the hook.
func learnBenchEnv(b *testing.B) (*env, fasthttp.RequestHandler, *learn.Learner) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"id":42,"name":"Rex","tags":["a","b"],"owner":{"id":7,"email":"a@example.org"},"createdAt":"2025-01-02T03:04:05Z"}`)
	}}
	go up.Serve(ln)
	b.Cleanup(func() { up.Shutdown() })
	var l *learn.Learner
	e := newEnv(b, func(c *gateway.Config) {
		c.RequestLogKeep = -1
		l = learn.New(c.Store, learn.Options{})
		c.Learner = l
	})
	url := "http://" + ln.Addr().String()
	f := false
	e.addRoute(routes.Params{Prefix: "/plain", Upstream: url, StripPrefix: true, AuthRequired: &f})
	e.addRoute(routes.Params{Prefix: "/learn", Upstream: url, StripPrefix: true, AuthRequired: &f, Learn: true})
	return e, e.gw.FastHandler(), l
}

// BenchmarkFastProxyJSON and BenchmarkFastProxyJSONLearning are the same exchange on a route
// that does not learn and on one that does: the hook's cost on the request path.
func BenchmarkFastProxyJSON(b *testing.B) {
	_, h, _ := learnBenchEnv(b)
	runFastBench(b, h, "GET /plain/pets/42?limit=10 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 200)
}

func BenchmarkFastProxyJSONLearning(b *testing.B) {
	_, h, l := learnBenchEnv(b)
	runFastBench(b, h, "GET /learn/pets/42?limit=10 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 200)
	b.StopTimer()
	if err := l.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	s := l.Stats()
	b.ReportMetric(float64(s.Dropped)/float64(max(s.Observed+s.Dropped, 1)), "dropped/obs")
}
