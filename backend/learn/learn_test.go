package learn_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/learn"
	"github.com/keygate/keygate/backend/openapi"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
)

// shop is the fixture API behind a real gateway whose route /shop learns.
type shop struct {
	st      *store.Store
	learner *learn.Learner
	route   routes.Route
	gwURL   string
	// stop stops the gateway's Run (which persists the request log and the learner's shapes).
	stop func()
	up   *httptest.Server
	key  string
}

func newShop(t *testing.T, upstream http.Handler, cfg func(*gateway.Config)) *shop {
	t.Helper()
	ctx := context.Background()
	s := &shop{st: testutil.NewStore(t)}
	org := testutil.DefaultOrg(t, s.st)
	ks := keys.New(s.st)
	rs := routes.New(s.st, nil)
	s.up = httptest.NewServer(upstream)
	t.Cleanup(s.up.Close)
	var err error
	s.route, err = rs.Add(ctx, routes.Params{Prefix: "/shop", Upstream: s.up.URL, StripPrefix: true, Learn: true, QueryKeyParam: "api_key"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := ks.Create(ctx, keys.CreateParams{OrgID: org.ID, Name: "traffic", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s.key = k.Key
	s.learner = learn.New(s.st, learn.Options{QueueSize: 4096})
	c := gateway.Config{Store: s.st, Keys: ks, Routes: rs, Learner: s.learner}
	if cfg != nil {
		cfg(&c)
	}
	g, err := gateway.New(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); g.Run(runCtx) }() // runs the learner too
	// The engine keygate serve runs: fasthttp, or net/http with KEYGATE_TEST_ENGINE=nethttp.
	if os.Getenv("KEYGATE_TEST_ENGINE") == gateway.EngineNetHTTP {
		hs := httptest.NewServer(g)
		s.gwURL = hs.URL
		t.Cleanup(hs.Close)
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fs := g.FastServer()
		served := make(chan struct{})
		go func() { defer close(served); fs.Serve(ln) }()
		s.gwURL = "http://" + ln.Addr().String()
		t.Cleanup(func() {
			fs.Shutdown()
			<-served
		})
	}
	var once sync.Once
	s.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(s.stop)
	return s
}

func (s *shop) learned(t *testing.T) (*openapi3.T, learn.Inference) {
	t.Helper()
	ctx := context.Background()
	if err := s.learner.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ops, err := learn.Operations(ctx, s.st, s.route.ID)
	if err != nil {
		t.Fatal(err)
	}
	doc, inf, err := learn.Infer(ops, learn.DocOptions{Prefix: s.route.Prefix, ServerURL: s.route.Upstream})
	if err != nil {
		t.Fatal(err)
	}
	if err := openapi.Validate(ctx, doc); err != nil {
		t.Fatalf("learned document does not validate: %v", err)
	}
	return doc, inf
}

// TestLearnFixture drives the fixture API through the gateway with the traffic script and
// compares the learned document with the hand-written one: every operation found, every
// path parameter found and no literal merged away, required/optional right on ≥ 90 % of the
// fields.
func TestLearnFixture(t *testing.T) {
	s := newShop(t, newFixture(), nil)
	if err := run(context.Background(), s.gwURL+"/shop", s.key, traffic(600, 42)); err != nil {
		t.Fatal(err)
	}
	got, inf := s.learned(t)
	if st := s.learner.Stats(); st.Dropped != 0 {
		t.Errorf("%d observations dropped with a queue larger than the script", st.Dropped)
	}

	loader := openapi3.NewLoader()
	want, err := loader.LoadFromFile(filepath.Join("testdata", "fixture.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc := compare(want, got)
	t.Logf("learned from %d exchanges: %d operations (%d left out: %v)", inf.Exchanges, inf.Operations, len(inf.Unanswered), inf.Unanswered)
	t.Logf("operations found: %d/%d; path parameters found: %d/%d; literals kept: %d/%d; required/optional right: %d/%d fields (%.1f %%)",
		sc.opsFound, sc.ops, sc.paramsFound, sc.params, sc.litsKept, sc.lits, sc.reqRight, sc.fields, 100*float64(sc.reqRight)/float64(max(sc.fields, 1)))
	for _, m := range sc.misses {
		t.Logf("miss: %s", m)
	}
	if sc.opsFound != sc.ops {
		t.Errorf("found %d of %d operations", sc.opsFound, sc.ops)
	}
	if sc.paramsFound != sc.params {
		t.Errorf("found %d of %d path parameters", sc.paramsFound, sc.params)
	}
	if sc.litsKept != sc.lits {
		t.Errorf("kept %d of %d literal segments", sc.litsKept, sc.lits)
	}
	if sc.fields < 60 {
		t.Errorf("only %d fields compared: the comparison is not looking", sc.fields)
	}
	if float64(sc.reqRight) < 0.9*float64(sc.fields) {
		t.Errorf("required/optional right on %d of %d fields, want ≥ 90 %%", sc.reqRight, sc.fields)
	}
	if extra := len(got.Paths.Map()) - len(want.Paths.Map()); extra != 0 {
		t.Errorf("learned %d paths, the fixture has %d: %v", len(got.Paths.Map()), len(want.Paths.Map()), got.Paths.InMatchingOrder())
	}
	spectralLint(t, got)
}

type score struct {
	ops, opsFound       int
	params, paramsFound int
	lits, litsKept      int
	fields, reqRight    int
	misses              []string
}

var paramRE = regexp.MustCompile(`\{[^}]*\}`)

func templateKey(p string) string { return paramRE.ReplaceAllString(p, "{}") }

func compare(want, got *openapi3.T) score {
	var sc score
	gotPaths := map[string]*openapi3.PathItem{}
	gotNames := map[string]string{}
	for p, item := range got.Paths.Map() {
		gotPaths[templateKey(p)] = item
		gotNames[templateKey(p)] = p
	}
	for _, p := range sortedPaths(want) {
		item := want.Paths.Value(p)
		key := templateKey(p)
		gi := gotPaths[key]
		for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
			if strings.HasPrefix(seg, "{") {
				sc.params++
				if gi != nil {
					sc.paramsFound++
				} else {
					sc.misses = append(sc.misses, "path parameter "+seg+" of "+p)
				}
				continue
			}
			sc.lits++
			if gi != nil {
				sc.litsKept++
			} else {
				sc.misses = append(sc.misses, "literal "+seg+" of "+p)
			}
		}
		for method, op := range item.Operations() {
			sc.ops++
			var gop *openapi3.Operation
			if gi != nil {
				gop = gi.GetOperation(method)
			}
			name := method + " " + p
			if gop == nil {
				sc.misses = append(sc.misses, "operation "+name)
				continue
			}
			sc.opsFound++
			for _, pr := range op.Parameters {
				if pr.Value.In != "query" {
					continue
				}
				sc.fields++
				gp := gop.Parameters.GetByInAndName("query", pr.Value.Name)
				switch {
				case gp == nil:
					sc.misses = append(sc.misses, name+" query "+pr.Value.Name+": not learned")
				case gp.Required != pr.Value.Required:
					sc.misses = append(sc.misses, fmt.Sprintf("%s query %s: required %v, learned %v", name, pr.Value.Name, pr.Value.Required, gp.Required))
				default:
					sc.reqRight++
				}
			}
			if op.RequestBody != nil {
				var gs *openapi3.Schema
				if gop.RequestBody != nil {
					if mt := gop.RequestBody.Value.Content.Get("application/json"); mt != nil {
						gs = mt.Schema.Value
					}
				}
				compareSchema(&sc, name+" request", op.RequestBody.Value.Content.Get("application/json").Schema.Value, gs)
			}
			for st, r := range op.Responses.Map() {
				mt := r.Value.Content.Get("application/json")
				if mt == nil {
					continue
				}
				var gs *openapi3.Schema
				if gr := gop.Responses.Value(st); gr != nil {
					for ct, gm := range gr.Value.Content {
						if strings.HasPrefix(ct, "application/json") {
							gs = gm.Schema.Value
						}
					}
				}
				compareSchema(&sc, name+" "+st, mt.Schema.Value, gs)
			}
		}
	}
	return sc
}

// alt finds the alternative of s of the given type (s itself, or one of its anyOf).
func alt(s *openapi3.Schema, typ string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if s.Type.Is(typ) {
		return s
	}
	for _, a := range s.AnyOf {
		if a.Value != nil && a.Value.Type.Is(typ) {
			return a.Value
		}
	}
	return nil
}

func compareSchema(sc *score, where string, want, got *openapi3.Schema) {
	switch {
	case want.Type.Is("object"):
		g := alt(got, "object")
		for _, name := range sortedProps(want) {
			p := want.Properties[name].Value
			sc.fields++
			req := contains(want.Required, name)
			var gp *openapi3.Schema
			if g != nil && g.Properties[name] != nil {
				gp = g.Properties[name].Value
			}
			switch {
			case gp == nil:
				sc.misses = append(sc.misses, where+" ."+name+": not learned")
			case contains(g.Required, name) != req:
				sc.misses = append(sc.misses, fmt.Sprintf("%s .%s: required %v, learned %v", where, name, req, !req))
			default:
				sc.reqRight++
			}
			compareSchema(sc, where+"."+name, p, gp)
		}
	case want.Type.Is("array"):
		var gi *openapi3.Schema
		if g := alt(got, "array"); g != nil && g.Items != nil {
			gi = g.Items.Value
		}
		compareSchema(sc, where+"[]", want.Items.Value, gi)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sortedProps(s *openapi3.Schema) []string {
	var out []string
	for k := range s.Properties {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedPaths(doc *openapi3.T) []string {
	var out []string
	for p := range doc.Paths.Map() {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// spectralLint runs Spectral's spectral:oas rules on doc (skipped when the pinned Spectral in
// tools/spectral is not installed); an error or a warning fails.
func spectralLint(t *testing.T, doc *openapi3.T) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tools := filepath.Join(root, "tools", "spectral")
	bin := filepath.Join(tools, "node_modules", ".bin", "spectral")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("Spectral is not installed (%s missing): run `npm ci --prefix tools/spectral`", bin)
	}
	for _, f := range []openapi.Format{openapi.JSON, openapi.YAML} {
		b, err := openapi.Encode(doc, f)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "learned."+string(f))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, err := exec.CommandContext(ctx, bin, "lint", "--fail-severity=warn", "--ruleset", filepath.Join(tools, ".spectral.yaml"), p).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("spectral found problems in the learned document (%s): %v\n%s", f, err, out)
		}
	}
}

// TestLearnKeepsNoValues sends marked values — a secret in a body, header values, query
// values, a token in the path, a secret as an object key — and searches the database files
// and the learned document for them: none may appear.
func TestLearnKeepsNoValues(t *testing.T) {
	const mark = "Zq7MARK"
	secrets := []string{
		mark + "body9secret", mark + "hdr9value", mark + "query9value", mark + "path9token",
		mark + "key9name", mark + "resp9value", mark + "nested9value", mark + "apikey9value",
	}
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream-Secret", secrets[5])
		fmt.Fprintf(w, `{"token":%q,"user":{"password":%q},"ok":true}`, secrets[5], secrets[6])
	})
	s := newShop(t, upstream, nil)
	body := fmt.Sprintf(`{"password":%q,"profile":{"note":%q},"grants":{%q:true}}`, secrets[0], secrets[6], "sk_live_"+secrets[4])
	for i := 0; i < 5; i++ {
		req, err := http.NewRequest("POST", s.gwURL+"/shop/accounts/"+secrets[3]+"?q="+secrets[2]+"&api_key="+s.key, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant", secrets[1])
		req.Header.Set("X-Session-Token", secrets[7])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	doc, inf := s.learned(t)
	s.stop() // the request log is persisted too: none of its rows may hold a marked value either
	if inf.Operations != 1 {
		t.Fatalf("learned %d operations, want 1", inf.Operations)
	}
	var outputs [][]byte
	for _, f := range []openapi.Format{openapi.JSON, openapi.YAML} {
		b, err := openapi.Encode(doc, f)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, b)
	}
	// The learned document does know the names: the test would pass vacuously otherwise.
	for _, name := range []string{"password", "x-tenant", `"q"`, "profile", "/accounts/{accountId}"} {
		if !bytes.Contains(outputs[0], []byte(name)) {
			t.Errorf("learned document lacks %s:\n%s", name, outputs[0])
		}
	}
	// Every stored row of what was learned, on either engine; on SQLite the files too.
	rows, err := s.st.Read.Query(`SELECT route_id, method, path, shape FROM learned_operations`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, b, c, d string
		if err := rows.Scan(&a, &b, &c, &d); err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, []byte(a+b+c+d))
	}
	rows.Close()
	learned := len(outputs)
	if s.st.Dialect == store.SQLite {
		if _, err := s.st.Write.Exec(`PRAGMA wal_checkpoint(FULL)`); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(s.st.Path + "*")
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			outputs = append(outputs, b)
		}
		if len(files) == 0 {
			t.Fatal("no database file found")
		}
	}
	for i, out := range outputs {
		for _, v := range append(secrets, s.key) {
			// The request log (persisted above) shows each request's path by design: the token
			// in the path may be in the database files, never in what was learned.
			if v == secrets[3] && i >= learned {
				continue
			}
			if bytes.Contains(out, []byte(v)) {
				t.Errorf("value %q found in the store or the learned document", v)
			}
		}
	}
	var logged int
	if err := s.st.Read.QueryRow(`SELECT count(*) FROM request_log`).Scan(&logged); err != nil || logged == 0 {
		t.Errorf("the request log was not persisted (%d rows, %v): the database check would be vacuous for it", logged, err)
	}
}
