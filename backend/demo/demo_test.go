package demo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/demo"
)

func TestDemoAPI(t *testing.T) {
	s, err := demo.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL())
	}
	res, err := http.Get(s.URL() + "/pets")
	if err != nil {
		t.Fatal(err)
	}
	var pets []demo.Pet
	if err := json.NewDecoder(res.Body).Decode(&pets); err != nil || len(pets) != 3 {
		t.Fatalf("pets %v, %v", pets, err)
	}
	res.Body.Close()
	res, err = http.Post(s.URL()+"/pets", "application/json", strings.NewReader(`{"name":"Bo","species":"dog","age":3}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %v %v", res, err)
	}
	res.Body.Close()
	res, _ = http.Post(s.URL()+"/pets", "application/json", strings.NewReader(`{"name":""}`))
	if res.StatusCode != 400 {
		t.Fatalf("bad create: %d", res.StatusCode)
	}
	res.Body.Close()
	res, _ = http.Get(s.URL() + "/pets/4")
	if res.StatusCode != 200 {
		t.Fatalf("get: %d", res.StatusCode)
	}
	res.Body.Close()
	res, _ = http.Get(s.URL() + "/pets/99")
	if res.StatusCode != 404 {
		t.Fatalf("missing: %d", res.StatusCode)
	}
	res.Body.Close()
}

func TestDemoOpenAPIDocumentIsValid(t *testing.T) {
	s, err := demo.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	res, err := http.Get(s.OpenAPIURL())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := openapi3.NewLoader().LoadFromIoReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" || doc.Paths.Find("/pets") == nil || doc.Paths.Find("/pets/{id}") == nil {
		t.Fatalf("document %s with paths %v", doc.OpenAPI, doc.Paths.InMatchingOrder())
	}
}
