package documents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
	b, _, err := source().Generate(context.Background(), documents.Console, openapi.JSON, "")
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
	doc, err := source().Console(context.Background(), "")
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
	if _, _, err := h.Generate(context.Background(), "nope", openapi.JSON, ""); err == nil {
		t.Error("unknown api accepted")
	}
}

// TestHandlerLanguage: /openapi/* is English unless ?lang= names a console language; a
// language Keygate does not ship, or two, is refused rather than silently English.
func TestHandlerLanguage(t *testing.T) {
	h := source()
	title := func(q string) (int, string, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi/console.json"+q, nil))
		var v struct {
			Info struct{ Title string } `json:"info"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &v)
		return rec.Code, v.Info.Title, rec.Header().Get("Content-Language")
	}
	for q, want := range map[string]string{
		"":              "Keygate console API",
		"?lang=en":      "Keygate console API",
		"?lang=ja":      "Keygate コンソール API",
		"?lang=de":      "API der Keygate-Konsole",
		"?lang=zh-Hans": "Keygate 控制台 API",
	} {
		code, got, lang := title(q)
		if code != 200 || got != want {
			t.Errorf("%q: %d %q, want %q", q, code, got, want)
		}
		if wantLang := strings.TrimPrefix(q, "?lang="); q != "" && lang != wantLang || q == "" && lang != "en" {
			t.Errorf("%q: Content-Language %q", q, lang)
		}
	}
	for _, q := range []string{"?lang=xx", "?lang=", "?lang=ja&lang=de", "?lang=../en"} {
		if code, _, _ := title(q); code != 400 {
			t.Errorf("%q: %d, want 400", q, code)
		}
	}
}
