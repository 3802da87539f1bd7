package openapi_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/openapi"
)

const scopedDoc = `openapi: 3.0.3
info: {title: Pets, version: "1"}
servers: [{url: /v1}]
x-keygate-scopes: [pets:read]
paths:
  /pets:
    get:
      responses: {"200": {description: ok}}
    post:
      x-keygate-scopes: [pets:write]
      responses: {"201": {description: created}}
  /pets/{petId}:
    parameters: [{name: petId, in: path, required: true, schema: {type: string}}]
    delete:
      x-keygate-scopes: [pets:write, pets:delete]
      responses: {"204": {description: gone}}
  /health:
    get:
      x-keygate-scopes: []
      responses: {"200": {description: ok}}
`

func TestDeclaredScopes(t *testing.T) {
	ctx := context.Background()
	up, err := openapi.LoadUpstreamData(ctx, "pets.yaml", []byte(scopedDoc))
	if err != nil {
		t.Fatal(err)
	}
	r := openapi.Route{Prefix: "/api", Upstream: "http://127.0.0.1:9000/v1", StripPrefix: true, AuthRequired: true}
	def, ops, err := openapi.DeclaredScopes(r, up)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(def, []string{"pets:read"}) {
		t.Errorf("default %v", def)
	}
	want := []openapi.OperationScopes{
		{Method: "GET", Path: "/api/health", Scopes: []string{}},
		{Method: "POST", Path: "/api/pets", Scopes: []string{"pets:write"}},
		{Method: "DELETE", Path: "/api/pets/{petId}", Scopes: []string{"pets:write", "pets:delete"}},
	}
	if !reflect.DeepEqual(ops, want) {
		t.Errorf("operations\n got %+v\nwant %+v", ops, want)
	}

	for name, bad := range map[string]string{
		"top level string": strings.Replace(scopedDoc, "x-keygate-scopes: [pets:read]", "x-keygate-scopes: pets:read", 1),
		"operation number": strings.Replace(scopedDoc, "x-keygate-scopes: [pets:write]", "x-keygate-scopes: [1]", 1),
	} {
		up, err := openapi.LoadUpstreamData(ctx, "bad.yaml", []byte(bad))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, _, err := openapi.DeclaredScopes(r, up); err == nil || !strings.Contains(err.Error(), "x-keygate-scopes") {
			t.Errorf("%s: %v, want an error naming x-keygate-scopes", name, err)
		}
	}
}

// TestGatewayShowsRequiredScopes: the generated document shows, on each operation, what the
// gateway asks: the route's scopes plus the operation's own (or the document's default).
func TestGatewayShowsRequiredScopes(t *testing.T) {
	ctx := context.Background()
	up, err := openapi.LoadUpstreamData(ctx, "pets.yaml", []byte(scopedDoc))
	if err != nil {
		t.Fatal(err)
	}
	r := openapi.Route{Prefix: "/api", Upstream: "http://127.0.0.1:9000/v1", StripPrefix: true, AuthRequired: true,
		OpenAPISource: "pets.yaml", Scopes: []string{"api:use"}}
	def, ops, err := openapi.DeclaredScopes(r, up)
	if err != nil {
		t.Fatal(err)
	}
	r.DocumentScopes = &openapi.DocumentScopes{Default: def, Operations: ops}
	opts := gatewayOpts
	opts.Loader = func(context.Context, string) (*openapi.Upstream, error) { return up, nil }
	doc, _, err := openapi.Gateway(ctx, []openapi.Route{r, {Prefix: "/open", Upstream: "http://127.0.0.1:9001", AuthRequired: true}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method, path string
		want         []string
	}{
		{"GET", "/api/pets", []string{"api:use", "pets:read"}},
		{"POST", "/api/pets", []string{"api:use", "pets:write"}},
		{"DELETE", "/api/pets/{petId}", []string{"api:use", "pets:delete", "pets:write"}},
		{"GET", "/api/health", []string{"api:use"}},
	} {
		op := doc.Paths.Find(tt.path).GetOperation(tt.method)
		if op == nil {
			t.Fatalf("%s %s missing", tt.method, tt.path)
		}
		var got []string
		for _, v := range op.Extensions[openapi.ScopesExtension].([]any) {
			got = append(got, v.(string))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s: x-keygate-scopes %v, want %v", tt.method, tt.path, got, tt.want)
		}
		if !strings.Contains(op.Description, "Required key scopes:") || !strings.Contains(op.Description, "`"+tt.want[len(tt.want)-1]+"`") {
			t.Errorf("%s %s: description %q does not name the scopes", tt.method, tt.path, op.Description)
		}
		if ref := op.Responses.Status(403); ref == nil || ref.Ref != "#/components/responses/InsufficientScope" {
			t.Errorf("%s %s: 403 is %+v, want InsufficientScope", tt.method, tt.path, ref)
		}
	}
	// A route without scopes shows none and no 403 for them.
	for _, op := range doc.Paths.Find("/open/{path}").Operations() {
		if _, ok := op.Extensions[openapi.ScopesExtension]; ok || op.Responses.Status(403) != nil {
			t.Errorf("unscoped route: %+v", op)
		}
	}
	if err := openapi.Validate(ctx, doc); err != nil {
		t.Fatal(err)
	}
}
