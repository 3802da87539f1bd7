package openapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/openapi"
)

var loadOpts = openapi.LoadOptions{BaseDir: "testdata"}

func TestLoadUpstreamErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()

	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte("openapi: 3.0.3\n"+strings.Repeat("# padding\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	swagger := filepath.Join(t.TempDir(), "swagger.json")
	if err := os.WriteFile(swagger, []byte(`{"swagger":"2.0","info":{"title":"x","version":"1"},"paths":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, source string
		opts         openapi.LoadOptions
		want         error
		says         []string
	}{
		{"missing file", "upstream/nope.yaml", loadOpts, openapi.ErrSourceUnreadable, []string{"nope.yaml", "file not found"}},
		{"bad yaml", "upstream/bad.yaml", loadOpts, openapi.ErrSourceInvalid, []string{"bad.yaml", "line 9"}},
		{"unreachable url", closedURL + "/openapi.json", loadOpts, openapi.ErrSourceUnreadable, []string{"connection refused"}},
		{"url answering 404", notFound.URL + "/openapi.json", loadOpts, openapi.ErrSourceUnreadable, []string{"404"}},
		{"file ref to a url", "upstream/split/outside.yaml", loadOpts, openapi.ErrRefRefused, []string{"may only refer to other files"}},
		{"3.1 beyond 3.0", "upstream/unexpressible-3.1.yaml", loadOpts, openapi.ErrNotExpressible, []string{"prefixItems"}},
		{"too large", big, openapi.LoadOptions{MaxBytes: 100}, openapi.ErrSourceUnreadable, []string{"larger than 100 bytes"}},
		{"swagger 2", swagger, loadOpts, openapi.ErrSourceInvalid, []string{"Swagger 2.0"}},
		{"unsupported scheme", "ftp://example.com/x.yaml", loadOpts, openapi.ErrSourceUnreadable, []string{"only file paths and http(s) URLs"}},
		{"empty", "  ", loadOpts, openapi.ErrSourceUnreadable, []string{"no source"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up, err := openapi.LoadUpstream(context.Background(), c.source, c.opts)
			if err == nil {
				t.Fatalf("loaded %v, want an error", up.Doc.Info.Title)
			}
			if !errors.Is(err, c.want) {
				t.Errorf("error %q is not %v", err, c.want)
			}
			for _, s := range c.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestLoadUpstreamFileWithRefsToOtherFiles(t *testing.T) {
	up, err := openapi.LoadUpstream(context.Background(), "upstream/split/main.yaml", loadOpts)
	if err != nil {
		t.Fatal(err)
	}
	thing := up.Doc.Components.Schemas["schemas_Thing"]
	if thing == nil || thing.Value.Properties["owner"] == nil {
		t.Fatalf("the referenced file's schemas were not brought in: %v", up.Doc.Components.Schemas)
	}
	if ref := thing.Value.Properties["owner"].Ref; ref != "#/components/schemas/schemas_Owner" {
		t.Errorf("owner ref = %q, want an internal one", ref)
	}
}

func TestLoadUpstreamFromURLWithSameHostRefs(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, "testdata/upstream/split/main.yaml")
	})
	mux.HandleFunc("/schemas.yaml", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, "testdata/upstream/split/schemas.yaml")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	up, err := openapi.LoadUpstream(context.Background(), srv.URL+"/openapi.yaml", loadOpts)
	if err != nil {
		t.Fatal(err)
	}
	if up.Doc.Paths.Value("/things") == nil {
		t.Errorf("paths = %v", up.Doc.Paths.Keys())
	}
}

func TestLoadUpstreamFromURLRefusesOtherHostsAndFiles(t *testing.T) {
	for name, ref := range map[string]string{
		"local file": "/etc/hostname#/Thing",
		"other host": "http://127.0.0.2:1/schemas.yaml#/Thing",
	} {
		t.Run(name, func(t *testing.T) {
			doc := `{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{"/x":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"` + ref + `"}}}}}}}}}`
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(doc)) }))
			defer srv.Close()
			_, err := openapi.LoadUpstream(context.Background(), srv.URL+"/openapi.json", loadOpts)
			if !errors.Is(err, openapi.ErrRefRefused) {
				t.Fatalf("err = %v, want ErrRefRefused", err)
			}
		})
	}
}

func TestLoadUpstream31IsConverted(t *testing.T) {
	up, err := openapi.LoadUpstream(context.Background(), "upstream/pets-3.1.json", loadOpts)
	if err != nil {
		t.Fatal(err)
	}
	if up.SourceVersion != "3.1.0" || up.Doc.OpenAPI != openapi.Version {
		t.Errorf("versions: source %s, doc %s", up.SourceVersion, up.Doc.OpenAPI)
	}
	if err := up.Doc.Validate(context.Background()); err != nil {
		t.Fatalf("converted document is not valid 3.0: %v", err)
	}
	pet := up.Doc.Components.Schemas["Pet"].Value
	tag := pet.Properties["tag"].Value
	if !tag.Nullable || !tag.Type.Is("string") {
		t.Errorf(`type ["string","null"] became %v nullable=%v`, tag.Type, tag.Nullable)
	}
	if kind := pet.Properties["kind"].Value; len(kind.Enum) != 1 || kind.Enum[0] != "pet" || kind.Const != nil {
		t.Errorf("const became enum %v const %v", kind.Enum, kind.Const)
	}
	if name := pet.Properties["name"].Value; name.Example != "Rex" || name.Examples != nil {
		t.Errorf("examples became example %v examples %v", name.Example, name.Examples)
	}
	limit := up.Doc.Paths.Value("/pets").Get.Parameters[0].Value.Schema.Value
	if limit.Min == nil || *limit.Min != 0 || !limit.ExclusiveMin.IsTrue() {
		t.Errorf("exclusiveMinimum 0 became minimum %v exclusive %+v", limit.Min, limit.ExclusiveMin)
	}
	if len(up.Doc.Webhooks) != 0 || up.Doc.JSONSchemaDialect != "" || up.Doc.Info.Summary != "" {
		t.Error("3.1-only document fields were kept")
	}
	if len(up.Notes) == 0 || !strings.Contains(up.Notes[0], "webhook") {
		t.Errorf("notes = %v, want the dropped webhook noted", up.Notes)
	}
}

func TestLoadUpstreamData(t *testing.T) {
	data, err := os.ReadFile("testdata/upstream/pets-3.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	up, err := openapi.LoadUpstreamData(context.Background(), "pets", data)
	if err != nil {
		t.Fatal(err)
	}
	if up.Doc.Paths.Len() != 2 {
		t.Errorf("paths = %v", up.Doc.Paths.Keys())
	}
}

// FuzzLoadUpstreamData feeds arbitrary bytes to the import: it must return a document or an
// error, never panic.
func FuzzLoadUpstreamData(f *testing.F) {
	for _, name := range []string{"pets-3.0.yaml", "pets-3.1.json", "shop.yaml", "bad.yaml", "unexpressible-3.1.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "upstream", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		up, err := openapi.LoadUpstreamData(context.Background(), "fuzz", data)
		if err == nil && up.Doc.OpenAPI != openapi.Version {
			t.Fatalf("loaded a document of version %q", up.Doc.OpenAPI)
		}
	})
}
