package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/learn"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
)

// routes add|update --learn turn learning on and off; openapi infer writes what was learned,
// and says plainly when there is nothing.
func TestLearnCommands(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, dir, "", "routes", "add", "/api", "http://127.0.0.1:9000", "--strip-prefix", "--learn"); r.code != 0 {
		t.Fatalf("add --learn: %+v", r)
	}
	if r := run(t, dir, "", "routes", "list"); !strings.Contains(r.stdout, "learn") {
		t.Errorf("routes list does not show learning: %s", r.stdout)
	}
	r := run(t, dir, "", "openapi", "infer", "--route", "/api")
	if r.code != 1 || !strings.Contains(r.stderr, "nothing learned") || strings.Contains(r.stderr, "--learn") {
		t.Errorf("infer with nothing learned: %+v", r)
	}
	if r := run(t, dir, "", "routes", "update", "/api", "--learn=false"); r.code != 0 {
		t.Fatalf("update --learn=false: %+v", r)
	}
	r = run(t, dir, "", "routes", "list", "--json")
	var listed struct{ Routes []routes.Route }
	err := json.Unmarshal([]byte(r.stdout), &listed)
	if list := listed.Routes; err != nil || len(list) != 1 || list[0].Learn || !list[0].StripPrefix || list[0].Upstream != "http://127.0.0.1:9000" {
		t.Fatalf("after update --learn=false (the rest kept): %v %s", err, r.stdout)
	}
	if r := run(t, dir, "", "openapi", "infer", "--route", "/api"); r.code != 1 || !strings.Contains(r.stderr, "routes update /api --learn") {
		t.Errorf("infer on a route that does not learn should say how to turn it on: %+v", r)
	}
	for _, bad := range [][]string{
		{"routes", "update", "/nothing", "--learn"},
		{"routes", "update", "/api", "--upstream", "ftp://x"},
		{"openapi", "infer"},
		{"openapi", "infer", "--route", "/nothing"},
		{"openapi", "infer", "--route", "/api", "--format", "xml"},
	} {
		if r := run(t, dir, "", bad...); r.code == 0 || !strings.HasPrefix(r.stderr, "keygate: ") {
			t.Errorf("%v: %+v", bad, r)
		}
	}
	if r := run(t, dir, "", "routes", "update", "/api", "--learn"); r.code != 0 {
		t.Fatalf("update --learn: %+v", r)
	}

	// What a running gateway would have recorded.
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := routes.New(st, nil).GetByPrefix(ctx, "/api")
	if err != nil {
		t.Fatal(err)
	}
	l := learn.New(st, learn.Options{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(runCtx) }()
	for _, id := range []string{"1", "2", "3"} {
		l.Observe(learn.Observation{RouteID: rt.ID, Method: "GET", Path: "/users/" + id, Status: 200,
			ResponseType: "application/json", ResponseBody: []byte(`{"id":` + id + `,"name":"n"}`)})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st.Close()

	out := filepath.Join(t.TempDir(), "learned.yaml")
	r = run(t, dir, "", "openapi", "infer", "--route", "/api", "--out", out)
	if r.code != 0 || !strings.Contains(r.stderr, "learned 1 operations from 3 exchanges") {
		t.Fatalf("infer: %+v", r)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"openapi: 3.0.3", "/users/{userId}:", "url: http://127.0.0.1:9000"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("learned YAML lacks %q:\n%s", want, b)
		}
	}
	r = run(t, dir, "", "openapi", "adopt", "--route", "/api", "--json")
	var adopted routes.Route
	if err := json.Unmarshal([]byte(r.stdout), &adopted); err != nil || r.code != 0 ||
		adopted.OpenAPISource != filepath.Join(dir, "openapi", adopted.ID+".learned.json") || !adopted.Learn || !adopted.StripPrefix {
		t.Fatalf("adopt: %v %+v", err, r)
	}
	if fi, err := os.Stat(adopted.OpenAPISource); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the adopted document: %v %v, want a 0600 file", err, fi)
	}
	if r := run(t, dir, "", "openapi", "--api", "gateway"); r.code != 0 || !strings.Contains(r.stdout, "/api/users/{userId}") {
		t.Errorf("the gateway document does not use the adopted document: %+v", r.stderr)
	}
	r = run(t, dir, "", "openapi", "infer", "--route", "/api/")
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc["openapi"] != "3.0.3" {
		t.Errorf("infer to stdout (JSON by default): %v %s", err, r.stdout)
	}
}
