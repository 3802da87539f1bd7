package learn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/learn"
	"github.com/keygate/keygate/backend/openapi"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/testutil"
)

func TestSegmentKind(t *testing.T) {
	for _, c := range []struct{ seg, want string }{
		{"users", ""}, {"me", ""}, {"v2", ""}, {"line-items", ""}, {"featured", ""}, {"oauth2", ""},
		{"42", learn.KindInt}, {"0", learn.KindInt},
		{"6f1c2a7e-1b2c-4d3e-8f9a-0b1c2d3e4f5a", learn.KindUUID},
		{"deadbeef01", learn.KindHex}, {"5f2b9c0e7a1d4e3f9b8c7a6d", learn.KindHex},
		{"usr_8Fh2kQ9x", learn.KindToken}, {"SKU-1A2B3C4D", learn.KindToken},
		{"aVeryLongOpaqueBase64TokenValue", learn.KindToken}, {"a@b.example", learn.KindToken},
		{"{x}", learn.KindToken},
	} {
		if got := learn.SegmentKind(c.seg); got != c.want {
			t.Errorf("SegmentKind(%q) = %q, want %q", c.seg, got, c.want)
		}
	}
}

func TestPathKeyAndUpstreamPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/", "/"}, {"", "/"}, {"/users/", "/users"}, {"/users/42/orders", "/users/{int}/orders"},
		{"/users/me", "/users/me"}, {"/orders/6f1c2a7e-1b2c-4d3e-8f9a-0b1c2d3e4f5a/items/3", "/orders/{uuid}/items/{int}"},
	} {
		if got := learn.PathKey(c.in); got != c.want {
			t.Errorf("PathKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		path, prefix string
		strip        bool
		want         string
	}{
		{"/api/users", "/api", true, "/users"}, {"/api", "/api", true, "/"}, {"/api/users", "/api", false, "/api/users"},
		{"/users", "/", true, "/users"},
	} {
		if got := learn.UpstreamPath(c.path, c.prefix, c.strip); got != c.want {
			t.Errorf("UpstreamPath(%q, %q, %v) = %q, want %q", c.path, c.prefix, c.strip, got, c.want)
		}
	}
}

func TestShapeJSON(t *testing.T) {
	n, err := learn.ShapeJSON([]byte(`{"id":1,"price":2.5,"at":"2025-01-02T03:04:05Z","mail":"a@example.org",
		"site":"https://example.org/x","uid":"6f1c2a7e-1b2c-4d3e-8f9a-0b1c2d3e4f5a","day":"2025-01-02","tags":["a"],
		"byId":{"usr_8Fh2kQ9x":{"n":1},"usr_9Gh3kQ0y":{"n":2}},"none":null}`))
	if err != nil {
		t.Fatal(err)
	}
	formats := map[string]string{"at": "date-time", "mail": "email", "site": "uri", "uid": "uuid", "day": "date"}
	for prop, f := range formats {
		if p := n.Props[prop]; p == nil || p.Formats[f] != 1 {
			t.Errorf("%s: want format %s, got %+v", prop, f, p)
		}
	}
	if n.Props["id"].Int != 1 || n.Props["price"].Num != 1 || n.Props["none"].Null != 1 || n.Props["tags"].Items.Str != 1 {
		t.Errorf("types wrong: %+v", n.Props)
	}
	by := n.Props["byId"]
	if by.Props != nil || by.Map == nil || by.Map.Obj != 2 || by.Map.Props["n"].Int != 2 {
		t.Errorf("an object keyed by ids is a map, got %+v", by)
	}
	b, _ := json.Marshal(n)
	if strings.Contains(string(b), "usr_") || strings.Contains(string(b), "example.org") {
		t.Errorf("a shape holds a value: %s", b)
	}

	deep := strings.Repeat("[", learn.MaxDepth+1) + strings.Repeat("]", learn.MaxDepth+1)
	if _, err := learn.ShapeJSON([]byte(deep)); err == nil {
		t.Error("JSON nested deeper than MaxDepth was shaped")
	}
	for _, bad := range []string{`{"a":`, `{} {}`, `nope`} {
		if _, err := learn.ShapeJSON([]byte(bad)); err == nil {
			t.Errorf("ShapeJSON(%q) succeeded", bad)
		}
	}
	var many strings.Builder
	many.WriteString("{")
	for i := 0; i < learn.MaxProperties+20; i++ {
		fmt.Fprintf(&many, `"field_%c%c":1,`, 'a'+i/26, 'a'+i%26)
	}
	many.WriteString(`"last":1}`)
	n, err = learn.ShapeJSON([]byte(many.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Props) != learn.MaxProperties || !n.Dropped {
		t.Errorf("%d properties kept (dropped=%v), want %d and dropped", len(n.Props), n.Dropped, learn.MaxProperties)
	}
}

func observe(method, path, query string, status int, req, resp string) learn.Observation {
	ob := learn.Observation{RouteID: "rt_x", Method: method, Path: path, RawQuery: query, Status: status}
	if req != "" {
		ob.RequestType, ob.RequestBody, ob.RequestHasBody = "application/json", []byte(req), true
	}
	if resp != "" {
		ob.ResponseType, ob.ResponseBody = "application/json", []byte(resp)
	}
	return ob
}

// infer merges observations the way the learner does and infers a validated document.
func infer(t *testing.T, obs ...learn.Observation) *openapi3.T {
	t.Helper()
	ops := map[string]*learn.Operation{}
	var list []*learn.Operation
	for _, ob := range obs {
		op := learn.Shape(ob)
		if cur, ok := ops[op.Key()]; ok {
			cur.Merge(op)
			continue
		}
		ops[op.Key()] = op
		list = append(list, op)
	}
	doc, _, err := learn.Infer(list, learn.DocOptions{Prefix: "/x", ServerURL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	if err := openapi.Validate(context.Background(), doc); err != nil {
		b, _ := openapi.Encode(doc, openapi.YAML)
		t.Fatalf("%v\n%s", err, b)
	}
	return doc
}

func TestInferSchemas(t *testing.T) {
	doc := infer(t,
		observe("GET", "/items/1", "", 200, "", `{"v":1,"n":null,"u":"a","w":1}`),
		observe("GET", "/items/2", "", 200, "", `{"v":2.5,"n":"x","u":3}`),
		observe("GET", "/items/me", "", 200, "", `{"me":true}`),
		observe("GET", "/items/3", "", 404, "", `{"error":"no"}`),
		observe("GET", "/nothing/here", "", 404, "", `{"error":"no"}`),
	)
	if doc.Paths.Value("/items/{itemId}") == nil || doc.Paths.Value("/items/me") == nil {
		t.Fatalf("paths %v, want /items/{itemId} and /items/me", doc.Paths.InMatchingOrder())
	}
	if doc.Paths.Value("/nothing/here") != nil {
		t.Error("an operation that never succeeded is in the document")
	}
	op := doc.Paths.Value("/items/{itemId}").Get
	if op.Responses.Value("404") == nil {
		t.Error("the 404 seen is not documented")
	}
	s := op.Responses.Value("200").Value.Content.Get("application/json").Schema.Value
	if !s.Properties["v"].Value.Type.Is("number") {
		t.Errorf("integers and numbers together should be number, got %v", s.Properties["v"].Value.Type)
	}
	if n := s.Properties["n"].Value; !n.Type.Is("string") || !n.Nullable {
		t.Errorf("null and string should be a nullable string, got %+v", n)
	}
	if u := s.Properties["u"].Value; len(u.AnyOf) != 2 {
		t.Errorf("string and integer should be anyOf, got %+v", u)
	}
	if want := []string{"n", "u", "v"}; fmt.Sprint(s.Required) != fmt.Sprint(want) {
		t.Errorf("required %v, want %v (w was seen once)", s.Required, want)
	}
	if p := op.Parameters.GetByInAndName("path", "itemId"); p == nil || !p.Schema.Value.Type.Is("integer") {
		t.Errorf("path parameter itemId (integer) missing: %+v", op.Parameters)
	}
}

func TestInferQueryAndRequest(t *testing.T) {
	doc := infer(t,
		observe("POST", "/things", "dry=true&tag=a&tag=b&n=3", 201, `{"name":"a","size":1}`, `{"id":1}`),
		observe("POST", "/things", "dry=false&n=4.5&at=2025-01-02T03:04:05Z", 201, `{"name":"b"}`, `{"id":2}`),
		observe("POST", "/things", "", 400, `{"size":"x"}`, `{"error":"bad"}`),
	)
	op := doc.Paths.Value("/things").Post
	for name, want := range map[string]string{"dry": "boolean", "n": "number", "tag": "array", "at": "string"} {
		p := op.Parameters.GetByInAndName("query", name)
		if p == nil || !p.Schema.Value.Type.Is(want) {
			t.Errorf("query %s: want %s, got %+v", name, want, p)
			continue
		}
		if p.Required != (name == "dry" || name == "n") {
			t.Errorf("query %s: required %v", name, p.Required)
		}
	}
	rb := op.RequestBody.Value
	s := rb.Content.Get("application/json").Schema.Value
	if !rb.Required || fmt.Sprint(s.Required) != "[name]" || !s.Properties["size"].Value.Type.Is("integer") {
		t.Errorf("request body from accepted requests only: required %v, schema %+v", rb.Required, s)
	}
}

func TestLearnerBounds(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	rs := routes.New(st, nil)
	r, err := rs.Add(ctx, routes.Params{Prefix: "/b", Upstream: "http://127.0.0.1:9", Learn: true})
	if err != nil {
		t.Fatal(err)
	}
	l := learn.New(st, learn.Options{QueueSize: 2, MaxOperations: 3})
	for i := 0; i < 5; i++ {
		l.Observe(learn.Observation{RouteID: r.ID, Method: "GET", Path: fmt.Sprintf("/p%c", 'a'+i), Status: 200})
	}
	if s := l.Stats(); s.Observed != 2 || s.Dropped != 3 {
		t.Fatalf("stats %+v, want 2 observed and 3 dropped: Observe must not block", s)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(runCtx) }()
	for i := 0; i < 6; i++ {
		l.Observe(learn.Observation{RouteID: r.ID, Method: "GET", Path: fmt.Sprintf("/q%c", 'a'+i), Status: 200})
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Run(ctx); err != learn.ErrRunning {
		t.Errorf("a second Run: %v, want ErrRunning", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ops, err := learn.Operations(ctx, st, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 3 || l.Stats().Overflow == 0 {
		t.Errorf("%d operations kept (overflow %d), want 3 and some overflow", len(ops), l.Stats().Overflow)
	}
	if err := rs.Remove(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if ops, _ := learn.Operations(ctx, st, r.ID); len(ops) != 0 {
		t.Errorf("%d operations survive their route", len(ops))
	}
}

func TestDiff(t *testing.T) {
	learned := infer(t,
		observe("GET", "/items/1", "limit=3", 200, "", `{"id":1,"tags":[{"name":"a","color":"red"}],"extra":{"deep":true}}`),
		observe("POST", "/items", "", 201, `{"name":"a"}`, `{"id":2}`),
	)
	current, err := openapi3.NewLoader().LoadFromData([]byte(`{"openapi":"3.0.3","info":{"title":"x","version":"1"},
		"servers":[{"url":"http://127.0.0.1:9"}],
		"paths":{"/items/{id}":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":
		{"type":"object","properties":{"id":{"type":"integer"},"tags":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"}}}}}}}}}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	ch := learn.Diff(learned, current)
	if fmt.Sprint(ch.Operations) != "[{POST /items}]" {
		t.Errorf("new operations %v, want POST /items only (GET /items/{itemId} is /items/{id})", ch.Operations)
	}
	var fields []string
	for _, f := range ch.Fields {
		fields = append(fields, f.In+" "+f.Name)
	}
	if want := "[query limit response 200 extra response 200 tags[].color]"; fmt.Sprint(fields) != want {
		t.Errorf("new fields %v, want %s", fields, want)
	}
	if all := learn.Diff(learned, nil); len(all.Operations) != 2 || len(all.Fields) != 0 {
		t.Errorf("against no document everything is new: %+v", all)
	}
}
