// Command keygate puts API-key authentication in front of an HTTP API: a desktop app (no
// arguments, desktop build), a headless server (`keygate serve`) and a CLI, from one binary.
package main

import (
	"context"
	"embed"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/keygate/keygate/backend/cli"
)

//go:embed all:frontend/dist
var embedded embed.FS

// assets is the built frontend; in a clean clone it holds only .gitkeep until `make build`.
var assets, _ = fs.Sub(embedded, "frontend/dist")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, cli.Options{
		Desktop: desktop, // nil in the headless build (mode_headless.go)
		Assets:  assets,
	})
	stop()
	os.Exit(code)
}
