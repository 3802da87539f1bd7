package console

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"github.com/keygate/keygate/backend/auth"
)

// Scope says which organization an operation's role requirement is checked in.
type Scope string

const (
	// ScopeNone: the requirement is not about one organization (public, signed in, admin of any).
	ScopeNone Scope = ""
	// ScopeOrg: the organization in the input's org field (empty: the caller's first one).
	ScopeOrg Scope = "org"
	// ScopeInstance: the instance's organization (the oldest one), which owns gateway-wide
	// things: routes, gateway settings, starting and stopping the gateway.
	ScopeInstance Scope = "instance"
)

// Mode is where an operation is available.
type Mode string

const (
	ModeBoth    Mode = ""
	ModeDesktop Mode = "desktop" // e.g. starting the in-process gateway
	ModeServe   Mode = "serve"   // e.g. login: the desktop has no accounts
	// ModeCLI operations run only from the command line (account recovery and removal, which
	// belong to whoever holds the database): they have no HTTP route and no desktop binding.
	ModeCLI Mode = "cli"
)

// Operation is one console operation: the single declaration from which the HTTP route, the
// OpenAPI document and the desktop binding all come.
type Operation struct {
	// Name is the operation id and the desktop App method's name.
	Name string
	// Method and Path form the Go ServeMux pattern; {name} wildcards fill In's fields of the
	// same JSON name.
	Method string
	Path   string
	// Summary and Tag describe the operation in the OpenAPI document.
	Summary string
	Tag     string
	// Need is the caller's requirement, checked in the organization Scope selects.
	Need  auth.Need
	Scope Scope
	Mode  Mode
	// In is the input struct: path parameters, then query parameters (GET, DELETE) or the
	// JSON body (other methods), by JSON field name. Out is the result; Empty means 204.
	In  reflect.Type
	Out reflect.Type
	// Status is the HTTP status of success.
	Status int
	// Errors are the error statuses the handler may answer beyond those the operation's shape
	// implies (400 for input, 401/403 for a role, 404 for an id, 413/415 for a body, 507): 409
	// for a clash with the current state, 401 and 429 for a sign-in. The API document lists
	// them, and the contract test fails on any status it does not list.
	Errors []int
	// MaxBody bounds the request body (0: MaxBodyBytes); see body.
	MaxBody int64
	// Produces is the media type of an operation whose result is a File (a download) rather
	// than JSON; see produces.
	Produces string

	run func(s *Service, ctx context.Context, c *Call, in any) (any, error)
}

// Empty is the result of operations that return nothing (HTTP 204).
type Empty struct{}

// NoInput is the input of operations that take nothing.
type NoInput struct{}

// Pattern is the operation's ServeMux pattern, e.g. "GET /api/v1/keys/{id}".
func (o Operation) Pattern() string { return o.Method + " " + o.Path }

var wildcard = regexp.MustCompile(`\{([A-Za-z][A-Za-z0-9]*)\}`)

// PathParams are the names of the path's wildcards, in order.
func (o Operation) PathParams() []string {
	var out []string
	for _, m := range wildcard.FindAllStringSubmatch(o.Path, -1) {
		out = append(out, m[1])
	}
	return out
}

// QueryInput reports whether In's non-path fields come from the query string (GET and DELETE)
// rather than a JSON body.
func (o Operation) QueryInput() bool {
	return o.Method == http.MethodGet || o.Method == http.MethodDelete
}

// Field is one field of an operation's input as the HTTP API sees it.
type Field struct {
	Name string // JSON name
	In   string // "path", "query" or "body"
	Type reflect.Type
}

// Fields lists In's fields with where each comes from over HTTP.
func (o Operation) Fields() []Field {
	path := map[string]bool{}
	for _, p := range o.PathParams() {
		path[p] = true
	}
	var out []Field
	for _, f := range jsonFields(o.In) {
		where := "body"
		switch {
		case path[f.name]:
			where = "path"
		case o.QueryInput():
			where = "query"
		}
		out = append(out, Field{Name: f.name, In: where, Type: f.typ})
	}
	return out
}

// handler is the shape of an operation's implementation: a method of Service.
type handler[In, Out any] func(s *Service, ctx context.Context, c *Call, in *In) (Out, error)

func op[In, Out any](name, pattern string, need auth.Need, scope Scope, tag, summary string, h handler[In, Out]) Operation {
	method, path, _ := strings.Cut(pattern, " ")
	var in In
	var out Out
	status := http.StatusOK
	switch {
	case reflect.TypeOf(out) == reflect.TypeFor[Empty]():
		status = http.StatusNoContent
	case method == http.MethodPost && (strings.HasPrefix(name, "Create") || strings.HasPrefix(name, "Add")):
		status = http.StatusCreated
	}
	return Operation{
		Name: name, Method: method, Path: path, Summary: summary, Tag: tag, Need: need, Scope: scope,
		In: reflect.TypeOf(in), Out: reflect.TypeOf(out), Status: status,
		run: func(s *Service, ctx context.Context, c *Call, v any) (any, error) {
			p, ok := v.(*In)
			if !ok {
				return nil, fmt.Errorf("%s: input is %T, want *%T", name, v, in)
			}
			return h(s, ctx, c, p)
		},
	}
}

func (o Operation) only(m Mode) Operation { o.Mode = m; return o }

// body raises the operation's request body limit above MaxBodyBytes (a file upload).
func (o Operation) body(n int64) Operation { o.MaxBody = n; return o }

// produces makes the operation a download: its handler returns a File, sent over HTTP as a
// body of mediaType, and saved by the desktop binding where the user chooses.
func (o Operation) produces(mediaType string) Operation { o.Produces = mediaType; return o }

// BodyLimit is the most bytes the operation's request body may hold.
func (o Operation) BodyLimit() int64 {
	if o.MaxBody > 0 {
		return o.MaxBody
	}
	return MaxBodyBytes
}

// may adds error statuses the handler can answer (see Operation.Errors).
func (o Operation) may(statuses ...int) Operation {
	o.Errors = append(append([]int(nil), o.Errors...), statuses...)
	return o
}

// Operations returns the operation table, in the order the API document lists them. The
// slice is a copy.
func Operations() []Operation { return append([]Operation(nil), table...) }

// Lookup returns the operation called name.
func Lookup(name string) (Operation, bool) {
	o, ok := byName[name]
	return o, ok
}

var byName = func() map[string]Operation {
	m := make(map[string]Operation, len(table))
	for _, o := range table {
		m[o.Name] = o
	}
	return m
}()

// checkTable verifies the table's invariants; a test runs it, and New refuses a bad table.
func checkTable(ops []Operation) error {
	names := map[string]bool{}
	patterns := map[string]bool{}
	for _, o := range ops {
		if o.Name == "" || names[o.Name] {
			return fmt.Errorf("operation %q: empty or duplicate name", o.Name)
		}
		names[o.Name] = true
		if o.Mode == ModeCLI {
			if o.Method != "" || o.Path != "" {
				return fmt.Errorf("operation %s: a command-line operation has no HTTP route", o.Name)
			}
			continue
		}
		if patterns[o.Pattern()] {
			return fmt.Errorf("operation %s: duplicate pattern %s", o.Name, o.Pattern())
		}
		patterns[o.Pattern()] = true
		if !strings.HasPrefix(o.Path, "/api/v1/") {
			return fmt.Errorf("operation %s: path %s is not under /api/v1/", o.Name, o.Path)
		}
		if o.In.Kind() != reflect.Struct || o.Out.Kind() != reflect.Struct {
			return fmt.Errorf("operation %s: input and output must be structs", o.Name)
		}
		if (o.Produces != "") != (o.Out == reflect.TypeFor[File]()) {
			return fmt.Errorf("operation %s: a File result and a media type go together", o.Name)
		}
		fields := map[string]reflect.Type{}
		for _, f := range jsonFields(o.In) {
			fields[f.name] = f.typ
		}
		for _, p := range o.PathParams() {
			if t, ok := fields[p]; !ok || t.Kind() != reflect.String {
				return fmt.Errorf("operation %s: path parameter %s has no string field in %s", o.Name, p, o.In)
			}
		}
		if o.Scope == ScopeOrg {
			if t, ok := fields["org"]; !ok || t.Kind() != reflect.String {
				return fmt.Errorf("operation %s: organization-scoped but %s has no org field", o.Name, o.In)
			}
		}
		if o.QueryInput() {
			for name, t := range fields {
				if !queryKind(t) {
					return fmt.Errorf("operation %s: query field %s has type %s", o.Name, name, t)
				}
			}
		}
		switch o.Need {
		case auth.NeedMember, auth.NeedDeveloper, auth.NeedAdmin:
			if o.Scope == ScopeNone {
				return fmt.Errorf("operation %s: a role requirement needs a scope", o.Name)
			}
		}
	}
	return nil
}
