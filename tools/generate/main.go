// Command generate writes the files derived from the console's operation table
// (console.Operations): the Wails App methods (app_operations.go), the frontend's TypeScript
// operation map and types (frontend/src/api/operations.ts) and the operation table of
// docs/api.md. `go generate` runs it from the repository root (generate.go); `make test`
// fails when a committed file differs from what it writes.
//
// The TypeScript types come from the console OpenAPI document rather than from a second walk
// over the Go types: the document already turns the Go types into schemas by the API's rules
// (json names, omitempty, `required`, `enum` and `format` tags, time.Time as a date-time
// string, pointers as nullable), so the TypeScript client, the published document and the
// server share one reading of each type.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/openapi"
	"github.com/keygate/keygate/backend/openapi/documents"
)

// Files written, relative to the repository root.
const (
	appFile  = "app_operations.go"
	tsFile   = "frontend/src/api/operations.ts"
	docsFile = "docs/api.md"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	check := flag.Bool("check", false, "write nothing; exit 1 if a generated file is stale")
	flag.Parse()
	if err := run(*root, *check); err != nil {
		fmt.Fprintf(os.Stderr, "generate: %v\n", err)
		os.Exit(1)
	}
}

func run(root string, check bool) error {
	ops := console.Operations()
	doc, err := openapi.Console(context.Background(), documents.ConsoleOperations(), openapi.ConsoleOptions{Version: "generated"})
	if err != nil {
		return err
	}
	app, err := wailsMethods(ops)
	if err != nil {
		return fmt.Errorf("%s: %w", appFile, err)
	}
	ts, err := typescript(ops, doc)
	if err != nil {
		return fmt.Errorf("%s: %w", tsFile, err)
	}
	oldDocs, err := os.ReadFile(filepath.Join(root, docsFile))
	if err != nil {
		return err
	}
	table, err := apiTable(ops, doc)
	if err != nil {
		return fmt.Errorf("%s: %w", docsFile, err)
	}
	newDocs, err := replaceBetweenMarkers(oldDocs, table)
	if err != nil {
		return fmt.Errorf("%s: %w", docsFile, err)
	}
	stale := false
	for _, f := range []struct {
		name string
		data []byte
	}{{appFile, app}, {tsFile, ts}, {docsFile, newDocs}} {
		path := filepath.Join(root, f.name)
		old, err := os.ReadFile(path)
		if err == nil && bytes.Equal(old, f.data) {
			continue
		}
		if check {
			fmt.Fprintf(os.Stderr, "generate: %s is stale: run `make generate`\n", f.name)
			stale = true
			continue
		}
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return err
		}
	}
	if stale {
		return fmt.Errorf("generated files are stale")
	}
	return nil
}
