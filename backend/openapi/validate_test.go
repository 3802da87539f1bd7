package openapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/openapi"
)

func petsValidator(t *testing.T) *openapi.RequestValidator {
	t.Helper()
	r := openapi.Route{Prefix: "/pets", Upstream: "http://127.0.0.1:9000", StripPrefix: true,
		OpenAPISource: "upstream/pets-3.0.yaml", AuthRequired: true, ValidateRequests: true}
	v, err := openapi.LoadRequestValidator(context.Background(), r, loadOpts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRequestValidation(t *testing.T) {
	v := petsValidator(t)
	var seenBody string
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seenBody = string(b)
		w.WriteHeader(http.StatusTeapot)
	})
	cases := []struct {
		name, method, target, body string
		want                       int
		field                      string
	}{
		{"valid query", "GET", "/pets/pets?limit=10", "", http.StatusTeapot, ""},
		{"query out of range", "GET", "/pets/pets?limit=1000", "", 400, "limit"},
		{"query not a number", "GET", "/pets/pets?limit=ten", "", 400, "limit"},
		{"path parameter not a number", "GET", "/pets/pets/abc", "", 400, "petId"},
		{"valid body", "POST", "/pets/pets", `{"name":"Rex"}`, http.StatusTeapot, ""},
		{"body missing a required field", "POST", "/pets/pets", `{"tag":"dog"}`, 400, "name"},
		{"body field too long", "POST", "/pets/pets", `{"name":"` + strings.Repeat("x", 65) + `"}`, 400, "name"},
		{"body not JSON", "POST", "/pets/pets", `{`, 400, "body"},
		{"body missing", "POST", "/pets/pets", ``, 400, "body"},
		{"undocumented path passes", "GET", "/pets/elsewhere", "", http.StatusTeapot, ""},
		{"undocumented method passes", "DELETE", "/pets/pets", "", http.StatusTeapot, ""},
		{"x-api-key is not the document's business", "GET", "/pets/pets", "", http.StatusTeapot, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seenBody = ""
			req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("x-api-key", "kg_whatever")
			rec := httptest.NewRecorder()
			v.Middleware(upstream).ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, c.want, rec.Body)
			}
			if c.want != 400 {
				if seenBody != c.body {
					t.Errorf("upstream got body %q, want %q", seenBody, c.body)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != openapi.ProblemMediaType {
				t.Errorf("content type %q", ct)
			}
			var p struct {
				Status int
				Code   string
				Detail string
				Fields []openapi.FieldError
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Status != 400 || p.Code != "VALIDATION" || len(p.Fields) == 0 {
				t.Fatalf("problem = %+v", p)
			}
			found := false
			for _, f := range p.Fields {
				found = found || f.Field == c.field
			}
			if !found || !strings.Contains(p.Detail, c.field) {
				t.Errorf("problem %+v does not name %q", p, c.field)
			}
		})
	}
}

// Without validation (the route option off), the gateway does not wrap the handler, so the
// same invalid request reaches the upstream: this pins what "off" means.
func TestRequestValidationOffPassesEverything(t *testing.T) {
	reached := false
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true })
	rec := httptest.NewRecorder()
	upstream.ServeHTTP(rec, httptest.NewRequest("GET", "/pets/pets?limit=1000", nil))
	if !reached {
		t.Fatal("not reached")
	}
	v := petsValidator(t)
	if err := v.Check(httptest.NewRequest("GET", "/pets/pets?limit=1000", nil)); err == nil {
		t.Fatal("the validator accepted what it should refuse")
	}
}

func TestRequestValidatorNeedsADocument(t *testing.T) {
	_, err := openapi.LoadRequestValidator(context.Background(), openapi.Route{Prefix: "/x"}, loadOpts)
	if !errors.Is(err, openapi.ErrNoDocument) {
		t.Fatalf("err = %v", err)
	}
	_, err = openapi.LoadRequestValidator(context.Background(), openapi.Route{Prefix: "/x", OpenAPISource: "upstream/bad.yaml"}, loadOpts)
	if !errors.Is(err, openapi.ErrSourceInvalid) {
		t.Fatalf("err = %v", err)
	}
}

func TestRequestValidationWithoutStrip(t *testing.T) {
	r := openapi.Route{Prefix: "/shop", Upstream: "http://127.0.0.1:9002", OpenAPISource: "upstream/shop.yaml", ValidateRequests: true}
	v, err := openapi.LoadRequestValidator(context.Background(), r, loadOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Check(httptest.NewRequest("GET", "/shop/orders", nil)); err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
}

func BenchmarkRequestValidation(b *testing.B) {
	r := openapi.Route{Prefix: "/pets", Upstream: "http://127.0.0.1:9000", StripPrefix: true, OpenAPISource: "upstream/pets-3.0.yaml"}
	v, err := openapi.LoadRequestValidator(context.Background(), r, loadOpts)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		req := httptest.NewRequest("POST", "/pets/pets", strings.NewReader(`{"name":"Rex","tag":"dog"}`))
		req.Header.Set("Content-Type", "application/json")
		if err := v.Check(req); err != nil {
			b.Fatal(err)
		}
	}
}
