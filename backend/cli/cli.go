// Package cli is Keygate's command line: it parses arguments, calls backend services and
// turns their errors into one clear sentence on stderr and an exit code. main.go hands off here.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/keygate/keygate/backend/config"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/store"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1 // the command ran and failed (or, for keys verify, the key is not valid)
	ExitUsage = 2 // the command line is wrong
)

// Env is what a command runs with.
type Env struct {
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	DataDir string // the --data-dir flag as given; resolve with ResolvedDataDir
	// Database is the --database flag as given; resolve with DatabaseURL.
	Database string
	// Assets is the built frontend (may be empty); serve hands it to the console.
	Assets fs.FS

	st       *store.Store
	inst     *instance.Instance // opened by operations
	ops      *console.Local
	language string // resolved lazily from the environment; see lang
}

// Options are what main passes in.
type Options struct {
	// Desktop runs the desktop window; called when no command is given. The headless build
	// passes nil and the CLI prints how to start the server instead.
	Desktop func(dataDir string) int
	// Assets is the embedded frontend.
	Assets fs.FS
}

type command struct {
	name    string
	args    string // usage after the name
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands is the one table of subcommands; each lives in its own file.
var commands = []command{
	{name: "keys", args: "create|list|get|rename|roll|revoke|verify …", summary: "create, list, inspect, rename, roll, revoke and verify API keys", run: runKeys},
	{name: "orgs", args: "list|get|create|rename …", summary: "list, show, create and rename organizations", run: runOrgs},
	{name: "backup", args: "FILE [--force]", summary: "copy the database to FILE while Keygate keeps running", run: runBackup},
	{name: "restore", args: "FILE", summary: "replace the database with a backup (stop the server first)", run: runRestore},
	{name: "openapi", args: "[--api console|gateway] [--out FILE] | infer|adopt --route PREFIX", summary: "write the console or gateway OpenAPI document", run: runOpenAPI},
	{name: "serve", args: "[--listen ADDR] [--console-listen ADDR] [--upstream URL] [--demo] …", summary: "run the gateway and the web console", run: runServe},
	{name: "routes", args: "list|add|update|remove …", summary: "list, add, change and remove gateway routes", run: runRoutes},
	{name: "identity", args: "list|rotate [--now] [--json]", summary: "list and rotate the keys that sign the gateway's X-Keygate-Jwt", run: runIdentity},
	{name: "gateway", args: "settings|ports get|set …", summary: "show and change the gateway's settings", run: runGateway},
	{name: "members", args: "list|add|role|remove …", summary: "list and manage the members of an organization", run: runMembers},
	{name: "requests", args: "list …", summary: "show the gateway's request log", run: runRequests},
	{name: "usage", args: "show|top …", summary: "show requests, errors and latency over time, and the busiest keys and routes", run: runUsage},
	{name: "version", summary: "print the version", run: runVersion},
	{name: "users", args: "add|list|role|remove|passwd …", summary: "manage console accounts (serve mode): add, list, role, remove, password", run: runUsers},
	{name: "audit", args: "list", summary: "list the audit log of management actions", run: runAudit},
	{name: "webhooks", args: "add|list|remove|deliveries|retry …", summary: "add, list and remove webhook endpoints; list and retry their deliveries", run: runWebhooks},
	{name: "nodes", args: "list [--json]", summary: "list the gateway nodes that share this database", run: runNodes},
	{name: "store", args: "copy --to URL", summary: "copy the SQLite database into an empty PostgreSQL database", run: runStore},
}

// usageError is a wrong command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// errSilentFail exits 1 without printing: the command has already said what it had to.
var errSilentFail = errors.New("")

// Run executes the command line args (without the program name) and returns the exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, opts Options) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Assets: opts.Assets}
	defer env.close()

	global := flag.NewFlagSet("keygate", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.StringVar(&env.DataDir, "data-dir", "", "")
	global.StringVar(&env.Database, "database", "", "")
	help := global.Bool("help", false, "")
	global.BoolVar(help, "h", false, "")
	if err := global.Parse(args); err != nil {
		return fail(env, usagef("%v", err))
	}
	rest := global.Args()
	if *help || len(rest) > 0 && rest[0] == "help" {
		env.printUsage(stdout)
		return ExitOK
	}
	if len(rest) == 0 {
		if opts.Desktop != nil {
			return opts.Desktop(env.DataDir)
		}
		fmt.Fprintln(stderr, env.t("cli.headless.no_window", nil))
		fmt.Fprintln(stderr, env.t("cli.headless.start_serve", nil))
		fmt.Fprintln(stderr)
		env.printUsage(stderr)
		return ExitUsage
	}
	for _, c := range commands {
		if c.name == rest[0] {
			return fail(env, c.run(ctx, env, rest[1:]))
		}
	}
	return fail(env, usageError{env.t("cli.error.unknown_command", map[string]any{"Command": rest[0]})})
}

func fail(env *Env, err error) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return ExitOK
	case errors.Is(err, errSilentFail):
		return ExitFail
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "keygate: %s\n", sentence(ue.msg))
		return ExitUsage
	default:
		fmt.Fprintf(env.Stderr, "keygate: %s\n", env.describe(err))
		return ExitFail
	}
}

// sentence capitalizes nothing (errors are lowercase by convention) but ends with a period,
// unless it already ends as a sentence does in its language.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "。") || strings.HasSuffix(s, "!") ||
		strings.HasSuffix(s, "?") || strings.HasSuffix(s, "؟") {
		return s
	}
	return s + "."
}

func (e *Env) printUsage(w io.Writer) {
	fmt.Fprintln(w, e.t("cli.usage.line", nil))
	fmt.Fprintln(w)
	fmt.Fprintln(w, e.t("cli.usage.about", nil))
	fmt.Fprintln(w, e.t("cli.usage.desktop", nil))
	fmt.Fprintln(w)
	fmt.Fprintln(w, e.t("cli.usage.commands", nil))
	cs := append([]command(nil), commands...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, e.summary(c))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, e.t("cli.usage.data_dir", map[string]any{"Env": config.EnvDataDir}))
	fmt.Fprintln(w, e.t("cli.usage.database", map[string]any{"Env": config.EnvDatabaseURL}))
	fmt.Fprintln(w, e.t("cli.usage.command_help", nil))
}

// ResolvedDataDir returns the data directory the command line and environment select.
func (e *Env) ResolvedDataDir() (string, error) { return config.DataDir(e.DataDir) }

// DatabaseURL returns the PostgreSQL URL the command line and environment select ("" for the
// SQLite file in the data directory).
func (e *Env) DatabaseURL() string { return config.DatabaseURL(e.Database) }

// Store opens the database once per run.
func (e *Env) Store(ctx context.Context) (*store.Store, error) {
	if e.st != nil {
		return e.st, nil
	}
	dir, err := e.ResolvedDataDir()
	if err != nil {
		return nil, err
	}
	st, err := store.OpenURL(ctx, dir, e.DatabaseURL())
	if err != nil {
		return nil, err
	}
	e.st = st
	return st, nil
}

func (e *Env) close() {
	if e.inst != nil {
		if err := e.inst.Close(context.Background()); err != nil {
			fmt.Fprintf(e.Stderr, "keygate: warning: %v\n", err)
		}
	}
	if e.st != nil {
		e.st.Close()
	}
}

// newFlags makes a subcommand's flag set; --data-dir is accepted there too.
func (e *Env) newFlags(name string) *flag.FlagSet {
	f := flag.NewFlagSet("keygate "+name, flag.ContinueOnError)
	f.SetOutput(e.Stderr)
	f.Func("data-dir", "data directory (default: $KEYGATE_DATA_DIR, else the user config directory)",
		func(s string) error { e.DataDir = s; return nil })
	f.Func("database", "PostgreSQL database URL, postgres://… (default: $KEYGATE_DATABASE_URL, else the SQLite file in the data directory)",
		func(s string) error { e.Database = s; return nil })
	e.localizeFlags(f)
	return f
}

// parse parses flags and positional arguments in any order ("keys get ID --json").
func parse(f *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageError{err.Error()}
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// errHelp means the user asked for a command's help, which the flag package has printed.
var errHelp = errors.New("help shown")

// wantArgs checks the number of positional arguments.
func wantArgs(pos []string, n int, usage string) error {
	if len(pos) != n {
		return usagef("usage: keygate %s", usage)
	}
	return nil
}
