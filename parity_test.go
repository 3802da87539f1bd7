package main

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/cli"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/openapi"
	"github.com/keygate/keygate/backend/openapi/documents"
	"github.com/keygate/keygate/backend/testutil"
)

// TestEveryOperationReachesEveryEdge is the parity of the operation table with its edges:
// every operation is reachable from each edge it belongs to — its HTTP route (and the console
// OpenAPI document), its Wails binding, the frontend's TypeScript map, its CLI command and
// docs/api.md's table — or is listed as deliberately absent from that edge with a reason.
// Command-line operations (console.ModeCLI) have no HTTP route, binding or TypeScript entry;
// the CLI lists the operations it deliberately lacks in backend/cli/edges.go.
func TestEveryOperationReachesEveryEdge(t *testing.T) {
	ctx := context.Background()
	ops := console.Operations()

	doc, err := openapi.Console(ctx, documents.ConsoleOperations(), openapi.ConsoleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := testutil.NewServer(t)
	client := srv.Client(t)
	fallback := i18n.T("en", "problem.NOT_FOUND.api.detail", nil)
	app := reflect.TypeFor[*App]()
	tsRoutes := typescriptRoutes(t)
	apiDoc, err := os.ReadFile("docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	commands, absent := cli.OperationCommands()
	called := cliCalls(t)

	known := map[string]bool{}
	for _, o := range ops {
		known[o.Name] = true
		http := o.Mode != console.ModeCLI
		t.Run(o.Name, func(t *testing.T) {
			// HTTP: the route answers (with anything but the "no such API path" 404 or a 405),
			// and the console document describes it.
			if http {
				item := doc.Paths.Value(o.Path)
				if item == nil || item.GetOperation(o.Method) == nil || item.GetOperation(o.Method).OperationID != o.Name {
					t.Errorf("not in the console OpenAPI document as %s %s", o.Method, o.Path)
				}
				path := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(o.Path, "x")
				var body any
				if !o.QueryInput() {
					body = map[string]any{}
				}
				resp, b := client.Do(o.Method, path, body)
				var p struct{ Detail string }
				json.Unmarshal(b, &p)
				if resp.StatusCode == http405 || resp.StatusCode == 404 && p.Detail == fallback {
					t.Errorf("%s %s is not routed: %d %s", o.Method, path, resp.StatusCode, b)
				}
			} else if doc.Paths.Find(o.Path) != nil && o.Path != "" {
				t.Errorf("a command-line operation has an HTTP route")
			}

			// Wails: a bound App method of the same name (TestAppBindsEveryOperation checks
			// its types).
			if _, ok := app.MethodByName(o.Name); ok != http {
				t.Errorf("App.%s bound: %v, want %v", o.Name, ok, http)
			}

			// TypeScript: the generated map names it with its method and path.
			if r, ok := tsRoutes[o.Name]; ok != http || ok && (r[0] != o.Method || r[1] != o.Path) {
				t.Errorf("frontend/src/api/operations.ts has %v (%v), want %v %s %s", r, ok, http, o.Method, o.Path)
			}

			// CLI: a command that calls it, or a reason why there is none.
			cmd, hasCmd := commands[o.Name]
			why, isAbsent := absent[o.Name]
			switch {
			case hasCmd == isAbsent:
				t.Errorf("the CLI must either run it or say why not (command %q, reason %q)", cmd, why)
			case isAbsent && strings.TrimSpace(why) == "":
				t.Errorf("no reason given for its absence from the CLI")
			case hasCmd:
				if !called[o.Name] {
					t.Errorf("no call[…](ctx, env, %q, …) in backend/cli", o.Name)
				}
				var out, errb bytes.Buffer
				args := append([]string{"--data-dir", t.TempDir()}, strings.Fields(cmd)...)
				if code := cli.Run(ctx, append(args, "--help"), strings.NewReader(""), &out, &errb, cli.Options{}); code != cli.ExitOK ||
					!strings.Contains(errb.String(), "keygate "+cmd) {
					t.Errorf("keygate %s --help: exit %d, %q", cmd, code, errb.String())
				}
			}

			// docs/api.md: a row of the generated table.
			if !bytes.Contains(apiDoc, []byte("\n| "+o.Name+" | ")) {
				t.Errorf("no row in docs/api.md: run make generate")
			}
		})
	}
	for name := range tsRoutes {
		if !known[name] {
			t.Errorf("operations.ts has %s, which is no operation: run make generate", name)
		}
	}
	for name := range commands {
		if !known[name] {
			t.Errorf("the CLI maps %s, which is no operation", name)
		}
	}
	for name := range absent {
		if !known[name] {
			t.Errorf("the CLI explains the absence of %s, which is no operation", name)
		}
	}
}

const http405 = http.StatusMethodNotAllowed

// typescriptRoutes reads the routes table of the generated TypeScript client: name → method, path.
func typescriptRoutes(t *testing.T) map[string][2]string {
	t.Helper()
	b, err := os.ReadFile("frontend/src/api/operations.ts")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	re := regexp.MustCompile(`(?m)^  (\w+): \{ method: '(\w+)', path: '([^']+)' \},$`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = [2]string{m[2], m[3]}
	}
	if len(out) == 0 {
		t.Fatal("no routes in frontend/src/api/operations.ts")
	}
	return out
}

// cliCalls lists the operations backend/cli calls: the name argument of every call[…](…).
func cliCalls(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob("backend/cli/*.go")
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok || len(c.Args) < 3 {
				return true
			}
			ix, ok := c.Fun.(*ast.IndexExpr)
			if !ok {
				return true
			}
			if id, ok := ix.X.(*ast.Ident); !ok || id.Name != "call" {
				return true
			}
			if lit, ok := c.Args[2].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out[s] = true
				}
			}
			return true
		})
	}
	return out
}
