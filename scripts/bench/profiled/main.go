// Command profiled is keygate for profiling under the benchmark: the same CLI (and so the same
// `serve` and gateway code) as the real binary, plus net/http/pprof on the loopback address in
// KEYGATE_PPROF. It lives here rather than behind a flag of the real binary so that the
// shipped keygate has no profiling endpoint at all; scripts/bench/run.sh builds it when
// BENCH_PROFILE is set. It embeds no console frontend, which the gateway path never touches.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"os/signal"
	"syscall"

	"github.com/keygate/keygate/backend/cli"
)

func main() {
	if addr := os.Getenv("KEYGATE_PPROF"); addr != "" {
		host, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			fmt.Fprintf(os.Stderr, "keygate: KEYGATE_PPROF=%q must be a loopback HOST:PORT such as 127.0.0.1:6060\n", addr)
			os.Exit(2)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "keygate: pprof listener: %v\n", err)
			os.Exit(1)
		}
		go func() { _ = http.Serve(ln, http.DefaultServeMux) }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, cli.Options{})
	stop()
	os.Exit(code)
}
