package documents_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keygate/keygate/backend/openapi"
)

// spectral finds the Spectral CLI installed by `npm ci` in tools/spectral.
func spectral(t *testing.T) (bin, ruleset string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test directory")
		}
	}
	tools := filepath.Join(dir, "tools", "spectral")
	bin = filepath.Join(tools, "node_modules", ".bin", "spectral")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("Spectral is not installed (%s missing): run `npm ci --prefix tools/spectral` (make setup does) to lint the documents", bin)
	}
	return bin, filepath.Join(tools, ".spectral.yaml")
}

// Both documents — the console's from the real table, the gateway's from the fixture routes
// with every kind of problem — are clean under spectral:oas at warning level.
func TestSpectralLint(t *testing.T) {
	bin, ruleset := spectral(t)
	dir := t.TempDir()
	ctx := context.Background()

	console, _, err := source().Generate(ctx, "console", openapi.YAML, "")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"console.yaml": console}
	gw, err := os.ReadFile(filepath.Join("..", "testdata", "golden", "gateway.json"))
	if err != nil {
		t.Fatal(err)
	}
	files["gateway.json"] = gw
	empty, _, err := source().Generate(ctx, "gateway", openapi.JSON, "")
	if err != nil {
		t.Fatal(err)
	}
	files["gateway-empty.json"] = empty
	var args []string
	args = append(args, "lint", "--fail-severity=warn", "--ruleset", ruleset)
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("spectral found problems: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
