package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/cli"
)

// syncBuffer is a bytes.Buffer safe to read while serve writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	created := run(t, dir, "", "keys", "create", "--name", "demo", "--json")
	var key struct{ Key string }
	if err := json.Unmarshal([]byte(created.stdout), &key); err != nil || key.Key == "" {
		t.Fatalf("keys create: %+v", created)
	}
	gw, con := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- cli.Run(ctx, []string{"--data-dir", dir, "serve", "--listen", gw, "--console-listen", con, "--demo"},
			strings.NewReader(""), &out, &errb, cli.Options{})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "Keygate console:") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "Keygate gateway:  http://"+gw) || !strings.Contains(out.String(), "http://"+con) {
		t.Fatalf("URLs not printed:\n%s", out.String())
	}
	get := func(url, k string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if k != "" {
			req.Header.Set("x-api-key", k)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("http://"+gw+"/demo/pets", ""); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	if code, body := get("http://"+gw+"/demo/pets", key.Key); code != 200 || !strings.Contains(body, "Rex") {
		t.Fatalf("with key: %d %s", code, body)
	}
	if code, body := get("http://"+con+"/metrics", ""); code != 200 || !strings.Contains(body, `keygate_gateway_requests_total{route="/demo",code="200"} 1`) {
		t.Fatalf("metrics: %d\n%s", code, body)
	}
	// A route added by the CLI (another process in real life) is live within a second.
	up := run(t, dir, "", "routes", "add", "/pets-again", "http://"+gw+"/demo", "--public")
	if up.code != 0 {
		t.Fatalf("routes add: %+v", up)
	}
	start := time.Now()
	for {
		if code, _ := get("http://"+gw+"/pets-again", ""); code != 404 {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("route not live within 1 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel() // SIGINT/SIGTERM in main
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(out.String(), "Stopped.") {
		t.Fatalf("output:\n%s", out.String())
	}
	// Usage was flushed on the way out.
	got := run(t, dir, "", "keys", "list", "--json")
	if !regexp.MustCompile(`"lastUsedAt":\s*"20`).MatchString(got.stdout) {
		t.Fatalf("usage not flushed: %s", got.stdout)
	}
}

func TestServeRefusesRemoteWithoutFlag(t *testing.T) {
	r := run(t, t.TempDir(), "", "serve", "--listen", "0.0.0.0:0")
	if r.code != 2 || !strings.Contains(r.stderr, "--allow-remote") {
		t.Fatalf("%+v", r)
	}
}

func TestRoutesCommands(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, dir, "", "routes", "list"); r.code != 0 || !strings.Contains(r.stdout, "No routes") {
		t.Fatalf("empty list: %+v", r)
	}
	if r := run(t, dir, "", "routes", "add", "/api/", "http://127.0.0.1:9000", "--strip-prefix", "--openapi", "http://127.0.0.1:9000/openapi.json"); r.code != 0 {
		t.Fatalf("add: %+v", r)
	}
	for _, bad := range [][]string{
		{"routes", "add", "/api", "http://127.0.0.1:9001"},
		{"routes", "add", "api", "http://127.0.0.1:9001"},
		{"routes", "add", "/x", "ftp://nope"},
		{"routes", "add", "/x", "http://127.0.0.1:9001", "--org", "org_missing"},
		{"routes", "remove", "/nothing"},
	} {
		r := run(t, dir, "", bad...)
		if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.HasPrefix(r.stderr, "keygate: ") {
			t.Errorf("%v: %+v", bad, r)
		}
	}
	if r := run(t, dir, "", "routes", "add", "/x"); r.code != 2 {
		t.Errorf("missing upstream: %+v", r)
	}
	r := run(t, dir, "", "routes", "list", "--json")
	var page struct{ Routes []map[string]any }
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || len(page.Routes) != 1 {
		t.Fatalf("list --json: %v %s", err, r.stdout)
	}
	list := page.Routes
	if list[0]["prefix"] != "/api" || list[0]["stripPrefix"] != true || list[0]["authRequired"] != true {
		t.Fatalf("route %v", list[0])
	}
	if !regexp.MustCompile(`/api\s+http://127.0.0.1:9000\s+key\s+yes`).MatchString(run(t, dir, "", "routes", "list").stdout) {
		t.Error("table output")
	}
	if r := run(t, dir, "", "routes", "remove", "/api"); r.code != 0 {
		t.Fatalf("remove: %+v", r)
	}
}

// TestServeExitsZeroWhenTheDrainRunsOut: SIGINT/SIGTERM drains in-flight requests for a bounded
// time; a request still running at the bound (a stuck upstream, an endless stream) is cut, and
// the stop is still a clean one: usage flushed, "Stopped.", exit 0.
func TestServeExitsZeroWhenTheDrainRunsOut(t *testing.T) {
	dir := t.TempDir()
	created := run(t, dir, "", "keys", "create", "--name", "drain", "--json")
	var key struct{ Key string }
	if err := json.Unmarshal([]byte(created.stdout), &key); err != nil || key.Key == "" {
		t.Fatalf("keys create: %+v", created)
	}
	arrived := make(chan struct{}, 1)
	stuck := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go stuck.Serve(ln)
	defer stuck.Close()

	gw, con := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- cli.Run(ctx, []string{"--data-dir", dir, "serve", "--listen", gw, "--console-listen", con,
			"--upstream", "http://" + ln.Addr().String(), "--drain-timeout", "300ms"},
			strings.NewReader(""), &out, &errb, cli.Options{})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "Keygate console:") {
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d:\n%s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	go func() {
		req, _ := http.NewRequest("GET", "http://"+gw+"/hang", nil)
		req.Header.Set("x-api-key", key.Key)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	<-arrived
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d after a drain that ran out, want 0\n%s", code, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop within its drain bound")
	}
	if !strings.Contains(out.String(), "Stopped.") || !strings.Contains(errb.String(), "did not finish") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
}

// TestRoutesCommandsAreAudited: route changes are management actions wherever they are made;
// from the command line the actor is "cli".
func TestRoutesCommandsAreAudited(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, dir, "", "routes", "add", "/api", "http://127.0.0.1:9000"); r.code != 0 {
		t.Fatalf("add: %+v", r)
	}
	if r := run(t, dir, "", "routes", "remove", "/api"); r.code != 0 {
		t.Fatalf("remove: %+v", r)
	}
	a := run(t, dir, "", "audit", "list", "--json")
	var page struct {
		Entries []struct{ Actor, Action, Target, Detail string }
	}
	if err := json.Unmarshal([]byte(a.stdout), &page); err != nil {
		t.Fatalf("audit list: %v %+v", err, a)
	}
	entries := page.Entries
	got := map[string]string{}
	for _, e := range entries {
		if e.Actor != "cli" || !strings.HasPrefix(e.Target, "rt_") || !strings.Contains(e.Detail, "/api") {
			t.Errorf("entry %+v", e)
		}
		got[e.Action] = e.Detail
	}
	if len(entries) != 2 || got["route.add"] == "" || got["route.remove"] == "" {
		t.Fatalf("entries %+v, want route.add and route.remove", entries)
	}
}
