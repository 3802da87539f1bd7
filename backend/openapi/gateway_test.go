package openapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/openapi"
)

var gatewayOpts = openapi.GatewayOptions{
	ServerURL:  "http://127.0.0.1:8787",
	ConsoleURL: "http://127.0.0.1:8788",
	Version:    "test",
	Load:       openapi.LoadOptions{BaseDir: "testdata"},
}

// fixtureRoutes exercise every way a route can end up in the gateway document.
func fixtureRoutes() []openapi.Route {
	return []openapi.Route{
		{Prefix: "/pets", Upstream: "http://127.0.0.1:9000", StripPrefix: true, OpenAPISource: "upstream/pets-3.0.yaml", AuthRequired: true, ValidateRequests: true},
		{Prefix: "/pets31", Upstream: "http://127.0.0.1:9001", StripPrefix: true, OpenAPISource: "upstream/pets-3.1.json", AuthRequired: true, OrgBound: true},
		{Prefix: "/shop", Upstream: "http://127.0.0.1:9002", OpenAPISource: "upstream/shop.yaml", AuthRequired: true, MaxBodyBytes: 1 << 20},
		{Prefix: "/shop/legacy", Upstream: "http://127.0.0.1:9003"},
		{Prefix: "/split", Upstream: "http://127.0.0.1:9004/v1", StripPrefix: true, OpenAPISource: "upstream/split/main.yaml", AuthRequired: true},
		{Prefix: "/broken", Upstream: "http://127.0.0.1:9005", OpenAPISource: "upstream/bad.yaml", AuthRequired: true},
		{Prefix: "/missing", Upstream: "http://127.0.0.1:9005", OpenAPISource: "upstream/nope.yaml", AuthRequired: true},
		{Prefix: "/tuples", Upstream: "http://127.0.0.1:9005", OpenAPISource: "upstream/unexpressible-3.1.yaml", AuthRequired: true},
		{Prefix: "/unreachable", Upstream: "http://127.0.0.1:9005", OpenAPISource: "http://127.0.0.1:1/openapi.json", AuthRequired: true},
	}
}

func buildGateway(t *testing.T) (*openapi3.T, []openapi.Issue) {
	t.Helper()
	doc, issues, err := openapi.Gateway(context.Background(), fixtureRoutes(), gatewayOpts)
	if err != nil {
		t.Fatalf("Gateway: %v", err)
	}
	return doc, issues
}

func TestGatewayGolden(t *testing.T) {
	doc, issues := buildGateway(t)
	if err := openapi.Validate(context.Background(), doc); err != nil {
		t.Fatalf("the generated document is not valid: %v", err)
	}
	for _, f := range []openapi.Format{openapi.JSON, openapi.YAML} {
		b, err := openapi.Encode(doc, f)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "gateway."+string(f), b)
	}
	var lines []string
	for _, i := range issues {
		lines = append(lines, i.String())
	}
	golden(t, "gateway-issues.txt", []byte(strings.Join(lines, "\n")+"\n"))
}

func TestGatewayIsStable(t *testing.T) {
	a, _ := buildGateway(t)
	b, _ := buildGateway(t)
	ja, _ := openapi.Encode(a, openapi.JSON)
	jb, _ := openapi.Encode(b, openapi.JSON)
	if string(ja) != string(jb) {
		t.Fatal("two builds from the same routes differ")
	}
}

// issueFor finds the issue of a route whose message contains all of parts.
func issueFor(issues []openapi.Issue, route, kind string, parts ...string) bool {
	for _, i := range issues {
		if i.Route != route || i.Kind != kind {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(i.Message, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestGatewayReportsEveryProblem(t *testing.T) {
	doc, issues := buildGateway(t)
	cases := []struct {
		route, kind string
		parts       []string
	}{
		{"/broken", openapi.IssueLoad, []string{"upstream/bad.yaml", "yaml", "line"}},
		{"/missing", openapi.IssueLoad, []string{"upstream/nope.yaml", "file not found"}},
		{"/tuples", openapi.IssueLoad, []string{"prefixItems", "no OpenAPI 3.0 form"}},
		{"/unreachable", openapi.IssueLoad, []string{"http://127.0.0.1:1/openapi.json", "connection refused"}},
		{"/shop", openapi.IssueConflict, []string{"/admin/stats", "outside the route's prefix /shop"}},
		{"/shop", openapi.IssueConflict, []string{"/shop/legacy/report", "longer route /shop/legacy"}},
		{"/shop", openapi.IssueConflict, []string{"schemas/Problem", "shop_Problem"}},
		{"/shop", openapi.IssueConflict, []string{"operationId listPets", "shop_listPets"}},
		{"/pets31", openapi.IssueConflict, []string{"schemas/Pet", "pets31_Pet"}},
		{"/pets31", openapi.IssueNote, []string{"webhook"}},
		{"/pets", openapi.IssueNote, []string{"upstreamKey", "replaced by Keygate's"}},
	}
	for _, c := range cases {
		if !issueFor(issues, c.route, c.kind, c.parts...) {
			t.Errorf("no %s issue for route %s mentioning %q; issues:\n%v", c.kind, c.route, c.parts, issues)
		}
	}
	// What was reported is also in the document, on the route's tag.
	for _, tag := range doc.Tags {
		if tag.Name == "/broken" && !strings.Contains(tag.Description, "bad.yaml") {
			t.Errorf("tag /broken does not say why its document failed: %q", tag.Description)
		}
		if tag.Name == "/shop" && !strings.Contains(tag.Description, "/admin/stats") {
			t.Errorf("tag /shop does not mention the left-out path: %q", tag.Description)
		}
	}
}

func TestGatewayPlacesPathsAndAppliesKeygate(t *testing.T) {
	doc, _ := buildGateway(t)
	if got := doc.Servers[0].URL; got != "http://127.0.0.1:8787" {
		t.Errorf("server = %q, want the gateway URL", got)
	}
	for _, name := range []string{"ApiKeyHeader", "BearerKey", "SessionCookie"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("security scheme %s missing", name)
		}
	}
	if s := doc.Components.SecuritySchemes["ApiKeyHeader"].Value; s.Type != "apiKey" || s.In != "header" || s.Name != "x-api-key" {
		t.Errorf("ApiKeyHeader = %+v", s)
	}
	if s := doc.Components.SecuritySchemes["BearerKey"].Value; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("BearerKey = %+v", s)
	}
	if doc.Components.SecuritySchemes["upstreamKey"] != nil {
		t.Error("the upstream's own security scheme leaked into the document")
	}
	wantPaths := []string{
		"/pets/pets", "/pets/pets/{petId}", // strip prefix: /pets + /pets
		"/pets31/pets", "/pets31/pets/{petId}",
		"/shop/orders",        // not stripped: the upstream's own /shop/orders
		"/split/things",       // upstream base path /v1 cut off the route upstream
		"/shop/legacy/{path}", // no document: catch-all
		"/broken/{path}", "/missing/{path}", "/tuples/{path}", "/unreachable/{path}",
	}
	got := doc.Paths.Keys()
	slices.Sort(got)
	slices.Sort(wantPaths)
	if !slices.Equal(got, wantPaths) {
		t.Errorf("paths = %v\nwant    %v", got, wantPaths)
	}

	tags := map[string]bool{}
	for _, tg := range doc.Tags {
		tags[tg.Name] = true
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if len(op.Tags) != 1 || !tags[op.Tags[0]] || !strings.HasPrefix(path, op.Tags[0]) {
				t.Errorf("%s: tags %v, want its route's tag", where, op.Tags)
			}
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", where)
			}
			want := []string{"502", "504"}
			if !strings.HasPrefix(path, "/shop/legacy") { // the only route without auth
				want = append(want, "401", "429")
				if op.Security == nil || len(*op.Security) != 3 {
					t.Errorf("%s: security %v, want the three Keygate schemes", where, op.Security)
				}
			} else if op.Security == nil || len(*op.Security) != 0 {
				t.Errorf("%s: a route without auth should have empty security, got %v", where, op.Security)
			}
			for _, status := range want {
				r := op.Responses.Value(status)
				if r == nil || r.Value == nil || r.Value.Content.Get(openapi.ProblemMediaType) == nil {
					t.Errorf("%s: no %s response with %s", where, status, openapi.ProblemMediaType)
				}
			}
		}
	}
	// Route options add their answers.
	if op := doc.Paths.Value("/pets31/pets").Get; op.Responses.Value("403") == nil {
		t.Error("an organization-bound route should document 403")
	}
	if op := doc.Paths.Value("/shop/orders").Get; op.Responses.Value("413") == nil {
		t.Error("a route with a body limit should document 413")
	}
	if op := doc.Paths.Value("/pets/pets").Post; op.Responses.Value("400").Value.Content.Get(openapi.ProblemMediaType) == nil ||
		op.Responses.Value("400").Value.Content.Get("application/json") == nil {
		t.Error("a validating route's 400 should offer the upstream's body and problem+json")
	}
	// The shop's own 401 response is kept, with Keygate's problem body added beside it.
	r401 := doc.Paths.Value("/shop/orders").Get.Responses.Value("401").Value
	if r401.Content.Get("application/json") == nil || r401.Content.Get(openapi.ProblemMediaType) == nil {
		t.Error("the upstream's own 401 should be kept and extended")
	}
	// A renamed component is referred to under its new name.
	b, _ := json.Marshal(doc.Paths.Value("/pets31/pets/{petId}"))
	if !strings.Contains(string(b), "#/components/schemas/pets31_Pet") {
		t.Errorf("/pets31 still refers to the clashing Pet: %s", b)
	}
	if doc.Components.Schemas["Error"] == nil || doc.Components.Schemas["pets31_Error"] != nil {
		t.Error("identical Error schemas should be shared, not renamed")
	}
	// The split document's other file was inlined as components.
	b, _ = json.Marshal(doc.Paths.Value("/split/things"))
	if strings.Contains(string(b), "schemas.yaml") {
		t.Errorf("an external $ref is left in the document: %s", b)
	}
}

func TestGatewayNeedsServerURL(t *testing.T) {
	if _, _, err := openapi.Gateway(context.Background(), nil, openapi.GatewayOptions{}); err == nil {
		t.Fatal("no error without a gateway url")
	}
}

func TestGatewayWithNoRoutesIsValid(t *testing.T) {
	doc, issues, err := openapi.Gateway(context.Background(), nil, gatewayOpts)
	if err != nil || len(issues) != 0 {
		t.Fatalf("err %v, issues %v", err, issues)
	}
	if doc.Paths.Len() != 0 {
		t.Errorf("paths = %v", doc.Paths.Keys())
	}
}

func TestGatewayRefusesDuplicatePrefixes(t *testing.T) {
	routes := []openapi.Route{{Prefix: "/a", Upstream: "http://x"}, {Prefix: "/a/", Upstream: "http://y"}}
	if _, _, err := openapi.Gateway(context.Background(), routes, gatewayOpts); err == nil {
		t.Fatal("two routes with the same prefix were accepted")
	}
}

func TestGatewayRootCatchAll(t *testing.T) {
	doc, _, err := openapi.Gateway(context.Background(), []openapi.Route{{Prefix: "/", Upstream: "http://x", AuthRequired: true}}, gatewayOpts)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Paths.Value("/{path}") == nil {
		t.Fatalf("paths = %v, want /{path}", doc.Paths.Keys())
	}
}
