package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/learn"
	"github.com/keygate/keygate/backend/openapi"
	"github.com/keygate/keygate/backend/openapi/documents"
	"github.com/keygate/keygate/backend/routes"
)

// runOpenAPI writes the console or gateway OpenAPI document.
func runOpenAPI(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "infer" {
		return runOpenAPIInfer(ctx, env, args[1:])
	}
	if len(args) > 0 && args[0] == "adopt" {
		return runOpenAPIAdopt(ctx, env, args[1:])
	}
	const usage = "openapi [--api console|gateway] [--out FILE] [--format json|yaml] [--gateway-url URL] [--console-url URL] [--lang TAG] [--strict]"
	f := env.newFlags("openapi")
	api := f.String("api", documents.Gateway, "which document: console or gateway")
	out := f.String("out", "", "write to FILE (.json or .yaml) instead of standard output")
	formatFlag := f.String("format", "", "json or yaml (default: from --out, else json)")
	gatewayURL := f.String("gateway-url", "http://127.0.0.1:8787", "the gateway's URL, for the document's servers")
	consoleURL := f.String("console-url", "http://127.0.0.1:8788", "the console's URL")
	strict := f.Bool("strict", false, "fail when an upstream document cannot be used or something clashes")
	lang := f.String("lang", i18n.Source, "language of Keygate's own texts in the document: en, de, fr, es, pt-BR, ja, zh-Hans, ko, ar or he (upstream documents keep their own)")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, usage); err != nil {
		return err
	}
	if *api != documents.Console && *api != documents.Gateway {
		return usagef("--api must be console or gateway, not %q", *api)
	}
	if !i18n.Supported(*lang) {
		return usagef("--lang must be one of en, de, fr, es, pt-BR, ja, zh-Hans, ko, ar, he, not %q", *lang)
	}
	format := openapi.JSON
	switch {
	case *formatFlag != "":
		if format, err = openapi.ParseFormat(*formatFlag); err != nil {
			return usagef("%v", err)
		}
	case *out != "":
		if format, err = openapi.FormatFromPath(*out); err != nil {
			return usagef("%v (or pass --format)", err)
		}
	}

	src := &documents.Source{
		GatewayURL: func() string { return *gatewayURL },
		ConsoleURL: func() string { return *consoleURL },
		Version:    Version,
	}
	if *api == documents.Gateway {
		st, err := env.Store(ctx)
		if err != nil {
			return err
		}
		src.Routes = routes.New(st, nil)
	}
	b, issues, err := src.Generate(ctx, *api, format, *lang)
	if err != nil {
		return fmt.Errorf("generate the %s document: %w", *api, err)
	}
	serious := 0
	for _, i := range issues {
		level := "note"
		if i.Kind != openapi.IssueNote {
			level, serious = "warning", serious+1
		}
		fmt.Fprintf(env.Stderr, "keygate: %s: %s\n", level, i)
	}
	if *strict && serious > 0 {
		return fmt.Errorf("%d problem(s) with the %s document (see above); nothing was written", serious, *api)
	}
	if *out == "" {
		_, err := env.Stdout.Write(b)
		return err
	}
	return writeFileAtomic(*out, b)
}

// runOpenAPIInfer writes the document learned from a route's traffic (routes … --learn). Its
// server is the route's upstream, so the file can serve as the route's --openapi document.
func runOpenAPIInfer(ctx context.Context, env *Env, args []string) error {
	const usage = "openapi infer --route PREFIX [--out FILE] [--format json|yaml]"
	f := env.newFlags("openapi infer")
	prefix := f.String("route", "", "the prefix of a route that learns (routes add|update PREFIX --learn)")
	out := f.String("out", "", "write to FILE (.json or .yaml) instead of standard output")
	formatFlag := f.String("format", "", "json or yaml (default: from --out, else json)")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, usage); err != nil {
		return err
	}
	if *prefix == "" {
		return usagef("openapi infer needs --route PREFIX; usage: keygate %s", usage)
	}
	format := openapi.JSON
	switch {
	case *formatFlag != "":
		if format, err = openapi.ParseFormat(*formatFlag); err != nil {
			return usagef("%v", err)
		}
	case *out != "":
		if format, err = openapi.FormatFromPath(*out); err != nil {
			return usagef("%v (or pass --format)", err)
		}
	}
	ref := *prefix
	if p, err := routes.NormalizePrefix(ref); err == nil {
		ref = p
	}
	r, err := findRoute(ctx, env, ref)
	if err != nil {
		return err
	}
	ld, err := call[console.LearnedDocument](ctx, env, "GetLearnedDocument", console.RouteIDInput{ID: r.ID})
	if err != nil {
		return err
	}
	if ld.Document == "" && !ld.Learn {
		return fmt.Errorf("%w; turn learning on with: keygate routes update %s --learn, then send traffic through the gateway", learn.ErrNothingLearned, r.Prefix)
	}
	if ld.Document == "" {
		return fmt.Errorf("%w; send traffic through the gateway (a running server writes what it learned every second)", learn.ErrNothingLearned)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(ld.Document))
	if err != nil {
		return fmt.Errorf("read the learned document of route %s: %w", r.Prefix, err)
	}
	if err := openapi.Validate(ctx, doc); err != nil {
		return fmt.Errorf("the learned document of route %s is not valid: %w", r.Prefix, err)
	}
	b, err := openapi.Encode(doc, format)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "keygate: learned %d operations from %d exchanges on route %s", ld.Operations, ld.Exchanges, r.Prefix)
	if n := len(ld.Unanswered); n > 0 {
		fmt.Fprintf(env.Stderr, "; %d left out (never answered below 400)", n)
	}
	fmt.Fprintln(env.Stderr)
	if *out == "" {
		_, err := env.Stdout.Write(b)
		return err
	}
	return writeFileAtomic(*out, b)
}

// runOpenAPIAdopt makes the document learned from a route's traffic the route's OpenAPI
// document (kept in the data directory), for the docs, the gateway document and validation.
func runOpenAPIAdopt(ctx context.Context, env *Env, args []string) error {
	const usage = "openapi adopt --route PREFIX [--json]"
	f := env.newFlags("openapi adopt")
	prefix := f.String("route", "", "the prefix of a route that learns (routes add|update PREFIX --learn)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, usage); err != nil {
		return err
	}
	if *prefix == "" {
		return usagef("openapi adopt needs --route PREFIX; usage: keygate %s", usage)
	}
	ref := *prefix
	if p, err := routes.NormalizePrefix(ref); err == nil {
		ref = p
	}
	r, err := findRoute(ctx, env, ref)
	if err != nil {
		return err
	}
	updated, err := call[routes.Route](ctx, env, "AdoptLearnedDocument", console.RouteIDInput{ID: r.ID})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, updated)
	}
	fmt.Fprintf(env.Stdout, "Route %s now uses the learned document %s. A running server uses it within a second.\n", updated.Prefix, updated.OpenAPISource)
	return nil
}

// writeFileAtomic replaces name with data, so a reader never sees half a document.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
