package documents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/openapi"
	"github.com/keygate/keygate/backend/openapi/documents"
)

var update = flag.Bool("update", false, "rewrite testdata/console.json")

func source() *documents.Source {
	return &documents.Source{
		GatewayURL: func() string { return "http://127.0.0.1:8787" },
		ConsoleURL: func() string { return "http://127.0.0.1:8788" },
		Version:    "test",
	}
}

// The console document of the real operation table, as a golden file.
func TestConsoleGolden(t *testing.T) {
	b, _, err := source().Generate(context.Background(), documents.Console, openapi.JSON)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "console.json")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("run go test -update to create %s: %v", path, err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("the console document changed; if that is intended, run go test ./backend/openapi/documents -update and review the diff")
	}
}

// Every operation of the table is in the document, under its own name, method and path.
func TestConsoleDocumentCoversTheTable(t *testing.T) {
	doc, err := source().Console(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := openapi.Validate(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range console.Operations() {
		if o.Mode == console.ModeCLI {
			continue // the command line's own: no HTTP route
		}
		item := doc.Paths.Value(o.Path)
		if item == nil || item.GetOperation(o.Method) == nil {
			t.Errorf("%s (%s %s) is missing", o.Name, o.Method, o.Path)
			continue
		}
		if got := item.GetOperation(o.Method).OperationID; got != o.Name {
			t.Errorf("%s %s has operationId %q, want %q", o.Method, o.Path, got, o.Name)
		}
		n++
	}
	count := 0
	for _, item := range doc.Paths.Map() {
		count += len(item.Operations())
	}
	if count != n {
		t.Errorf("document has %d operations, table %d", count, n)
	}
}

func TestHandler(t *testing.T) {
	h := source()
	cases := []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/openapi/console.json", 200, "application/json"},
		{"GET", "/openapi/console.yaml", 200, "application/yaml; charset=utf-8"},
		{"GET", "/openapi/gateway.json", 200, "application/json"},
		{"GET", "/openapi/gateway.yml", 200, "application/yaml; charset=utf-8"},
		{"GET", "/openapi/other.json", 404, ""},
		{"GET", "/openapi/console.xml", 404, ""},
		{"POST", "/openapi/console.json", 405, ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.status)
			continue
		}
		if c.status != 200 {
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != c.ctype {
			t.Errorf("%s: content type %q", c.path, ct)
		}
		if c.ctype == "application/json" {
			var v map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v["openapi"] != openapi.Version {
				t.Errorf("%s: not an OpenAPI %s document: %v", c.path, openapi.Version, err)
			}
		}
	}
	if _, _, err := h.Generate(context.Background(), "nope", openapi.JSON); err == nil {
		t.Error("unknown api accepted")
	}
}
