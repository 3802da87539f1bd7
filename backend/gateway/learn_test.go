package gateway_test

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/learn"
	"github.com/keygate/keygate/backend/routes"
)

// recordingLearner keeps what the gateway hands it.
type recordingLearner struct {
	mu  sync.Mutex
	obs []learn.Observation
}

func (l *recordingLearner) Observe(ob learn.Observation) {
	l.mu.Lock()
	l.obs = append(l.obs, ob)
	l.mu.Unlock()
}

func (l *recordingLearner) take() []learn.Observation {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.obs
	l.obs = nil
	return out
}

// await takes the observations once n have arrived (or after 2 s): the gateway hands an
// exchange over when the response has been streamed, which can be just after the client read it.
func (l *recordingLearner) await(n int) []learn.Observation {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		l.mu.Lock()
		have := len(l.obs)
		l.mu.Unlock()
		if have >= n {
			break
		}
	}
	return l.take()
}

// Only routes that learn are observed, only exchanges the upstream answered, with the key
// parameter gone from the query and bodies bounded.
func TestLearnHook(t *testing.T) {
	rec := &recordingLearner{}
	e := newEnv(t, func(c *gateway.Config) { c.Learner = rec })
	e.addRoute(routes.Params{Prefix: "/l", Upstream: e.up.URL, StripPrefix: true, Learn: true, QueryKeyParam: "k"})
	key := map[string]string{"X-Api-Key": e.key.Key, "Content-Type": "application/json"}

	e.do("POST", "/plain?x=1", key, strings.NewReader(`{"a":1}`)).Body.Close()
	e.do("POST", "/l/things?x=1", nil, strings.NewReader(`{"a":1}`)).Body.Close() // 401: the gateway's answer
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("observed %d exchanges of a route that does not learn or that the upstream never saw", len(got))
	}

	e.do("POST", "/l/things/42?x=1&k="+e.key.Key, map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"a":1}`)).Body.Close()
	got := rec.await(1)
	if len(got) != 1 {
		t.Fatalf("observed %d exchanges, want 1", len(got))
	}
	ob := got[0]
	if ob.Path != "/things/42" || ob.RawQuery != "x=1" || ob.Status != 200 || string(ob.RequestBody) != `{"a":1}` ||
		!ob.RequestHasBody || !strings.HasPrefix(ob.ResponseType, "application/json") || len(ob.ResponseBody) == 0 {
		t.Errorf("observation %+v", ob)
	}

	big := `{"s":"` + strings.Repeat("x", learn.MaxBody) + `"}`
	res := e.do("PUT", "/l/big", key, strings.NewReader(big))
	io.Copy(io.Discard, res.Body) // the echo is as big as the body: read it all, or the exchange ends as 499
	res.Body.Close()
	got = rec.await(1)
	if len(got) != 1 || !got[0].RequestTruncated || len(got[0].RequestBody) != learn.MaxBody {
		t.Fatalf("a body over MaxBody: %d observations, truncated=%v, MaxBody bytes kept=%v", len(got), len(got) == 1 && got[0].RequestTruncated, len(got) == 1 && len(got[0].RequestBody) == learn.MaxBody)
	}

	e.do("POST", "/l/form", map[string]string{"X-Api-Key": e.key.Key, "Content-Type": "text/plain"}, strings.NewReader("hello")).Body.Close()
	got = rec.await(1)
	if len(got) != 1 || got[0].RequestBody != nil || !got[0].RequestHasBody {
		t.Fatalf("a non-JSON body is not copied: %+v", got)
	}
}
