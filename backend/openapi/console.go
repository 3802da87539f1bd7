package openapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/keygate/keygate/backend/i18n"
)

// Operation describes one console operation for the console document. It mirrors the console's
// operation table without importing it.
//
// The Go types drive the schemas. In results, a field is required (always present) unless it
// has omitempty or omitzero in its json tag; in inputs, a field is required only when it says
// `required:"true"` (path parameters always are), since an input field left out takes its
// default. `required:"false"` or `required:"true"` overrides either rule. `doc:"…"` is the
// field's description, `enum:"a,b"` its allowed values, `format:"…"` its format and
// `example:"…"` an example, `minimum`/`maximum` a number's bounds and `minLength`/`maxLength`/
// `pattern` a string's; time.Time is a date-time string and a pointer is nullable.
type Operation struct {
	Name        string // the operationId, also the desktop App method's name
	Method      string
	Path        string // with {name} wildcards naming fields of In
	Summary     string
	Description string
	Tag         string
	// In carries path parameters, then query parameters (GET, DELETE) or the JSON body
	// (other methods), by JSON field name. Out is the JSON result; a struct without fields
	// means no body.
	In, Out reflect.Type
	Status  int // the success status; 0 means 200
	// Access is the caller's requirement: public, signedIn, adminOfAny, member, developer or
	// admin (the names of auth.Need).
	Access string
	// Mode is "", "desktop" (desktop app only) or "serve" (keygate serve only).
	Mode string
	// Errors are error statuses the operation may answer beyond those its shape implies (e.g.
	// 409 when the change can clash with the current state, 401 for a sign-in).
	Errors []int
	// Produces is the media type of a download: the success answer is a file of that type
	// (Out is then not described).
	Produces string
}

// ConsoleOptions describes the console the document is for.
type ConsoleOptions struct {
	// ServerURL is the console's base URL, e.g. http://127.0.0.1:8788; "" means relative ("/").
	ServerURL string
	Version   string
	// TagDescriptions describe, in English, tags the catalogs do not describe (message
	// openapi.console.tag.<tag>); a tag without either gets a generated sentence.
	TagDescriptions map[string]string
	// Lang is the language of Keygate's own texts in the document ("" is English).
	Lang string
}

// Names of the console document's security schemes.
const (
	SchemeSessionCookie = "SessionCookie"
	SchemeCsrfToken     = "CsrfToken"
)

var consoleErrorResponses = []struct {
	status, name, desc string
}{
	{"400", "BadRequest", "The input is not valid (VALIDATION, with the failing fields): a field breaks a rule, the body is not a JSON object, has unknown or mistyped fields, or the query string has unknown or repeated parameters."},
	{"401", "Unauthenticated", "No valid session (UNAUTHENTICATED), or, when signing in, a wrong e-mail address or password (BAD_CREDENTIALS)."},
	{"403", "Forbidden", "The caller's role does not allow this (FORBIDDEN), or a state-changing request lacks a same-origin Origin or the X-CSRF-Token header (CSRF)."},
	{"404", "NotFound", "The organization, key, route or member does not exist, or is not visible to the caller (NOT_FOUND)."},
	{"409", "Conflict", "The change clashes with the current state, e.g. a duplicate prefix, a revoked key or the last admin (CONFLICT)."},
	{"413", "PayloadTooLarge", "The request body is larger than 1 MiB (PAYLOAD_TOO_LARGE)."},
	{"415", "UnsupportedMediaType", "The request body is not sent as Content-Type: application/json (UNSUPPORTED_MEDIA_TYPE)."},
	{"421", "MisdirectedRequest", "The Host header is not one the console answers to (UNKNOWN_HOST): a console on loopback answers only as localhost, 127.0.0.1 or [::1]."},
	{"429", "TooManyRequests", "Too many attempts from this client or for this account (RATE_LIMITED); retry after Retry-After seconds."},
	{"507", "InsufficientStorage", "The disk holding the database is full; nothing was changed (STORAGE_FULL)."},
	{"default", "Error", "The server failed (INTERNAL): 500, or 503 when it is shutting down. Logged on the server."},
}

var accessText = map[string]string{
	"public":     "Public: no session is needed.",
	"signedIn":   "Needs a signed-in user.",
	"adminOfAny": "Needs the admin role in at least one organization.",
	"member":     "Needs the member role (or higher) in the organization concerned.",
	"developer":  "Needs the developer role (or higher) in the organization concerned.",
	"admin":      "Needs the admin role in the organization concerned.",
}

// Console builds the console document from the operation table.
func Console(ctx context.Context, ops []Operation, opts ConsoleOptions) (*openapi3.T, error) {
	if len(ops) == 0 {
		return nil, errors.New("console document: no operations")
	}
	b := newSchemaBuilder()
	paths := map[string]any{}
	tags := map[string]bool{}
	ids := map[string]bool{}
	usedResponses := map[string]bool{}
	for _, op := range ops {
		if ids[op.Name] {
			return nil, fmt.Errorf("console document: duplicate operation %s", op.Name)
		}
		ids[op.Name] = true
		item, _ := paths[op.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.Path] = item
		}
		method := strings.ToLower(op.Method)
		if _, dup := item[method]; dup {
			return nil, fmt.Errorf("console document: %s %s is declared twice", op.Method, op.Path)
		}
		o, err := b.operation(op, usedResponses)
		if err != nil {
			return nil, fmt.Errorf("console document: operation %s: %w", op.Name, err)
		}
		item[method] = o
		if op.Tag != "" {
			tags[op.Tag] = true
		}
	}

	var tagList []any
	for _, t := range sortedKeys(tags) {
		tagList = append(tagList, consoleTag(t, opts))
	}
	server := strings.TrimSuffix(opts.ServerURL, "/")
	if server == "" {
		server = "/"
	}
	responses := map[string]any{}
	for _, r := range consoleErrorResponses {
		if usedResponses[r.name] {
			resp := problemResponse(r.desc, problemName).Value
			if r.status == "429" {
				resp.Headers = openapi3.Headers{"Retry-After": headerRef("Seconds to wait before retrying.", openapi3.NewIntegerSchema().WithMin(0))}
			}
			responses[r.name] = generic(resp)
		}
	}
	schemas := map[string]any{problemName: generic(problemSchema(map[string]any{
		"type": "about:blank", "title": "Bad Request", "status": 400, "code": "VALIDATION",
		"detail": "Some fields are not valid.",
		"fields": []any{map[string]any{"field": "name", "code": "REQUIRED", "detail": "A name is required."}},
	}))}
	for name, s := range b.schemas {
		schemas[name] = generic(s)
	}
	lang := opts.Lang
	info := map[string]any{
		"title":       text(lang, "openapi.console.title", nil),
		"version":     versionOr(opts.Version),
		"description": text(lang, "openapi.console.description", nil),
	}
	consoleName := text(lang, "openapi.console.server", nil)
	if opts.ServerURL != "" {
		info["contact"] = map[string]any{"name": consoleName, "url": server}
	}
	doc := map[string]any{
		"openapi":  Version,
		"info":     info,
		"servers":  []any{map[string]any{"url": server, "description": consoleName}},
		"tags":     tagList,
		"paths":    paths,
		"security": []any{map[string]any{SchemeSessionCookie: []any{}}},
		"components": map[string]any{
			"schemas":   schemas,
			"responses": responses,
			"securitySchemes": map[string]any{
				SchemeSessionCookie: generic(&openapi3.SecurityScheme{
					Type: "apiKey", In: "cookie", Name: "keygate_session",
					Description: text(lang, "openapi.console.scheme.session", nil),
				}),
				SchemeCsrfToken: generic(&openapi3.SecurityScheme{
					Type: "apiKey", In: "header", Name: "X-CSRF-Token",
					Description: text(lang, "openapi.console.scheme.csrf", nil),
				}),
			},
		},
	}
	return loadGenerated(ctx, doc)
}

// consoleTag describes one tag in the document's language: its description from the catalog
// (else from opts.TagDescriptions, else a generated sentence) and, where the catalog names it,
// the name shown for it (x-displayName; the tag itself keeps its name, which operations and
// links refer to).
func consoleTag(t string, opts ConsoleOptions) map[string]any {
	id := "openapi.console.tag." + t
	var d string
	switch {
	case i18n.Has(id):
		d = text(opts.Lang, id, nil)
	case opts.TagDescriptions[t] != "":
		d = opts.TagDescriptions[t]
	default:
		d = text(opts.Lang, "openapi.console.tag.other", map[string]any{"Tag": strings.ToLower(t)})
	}
	tag := map[string]any{"name": t, "description": d}
	if i18n.Has(id + ".name") {
		if name := text(opts.Lang, id+".name", nil); name != t {
			tag["x-displayName"] = name
		}
	}
	return tag
}

func (b *schemaBuilder) operation(op Operation, usedResponses map[string]bool) (map[string]any, error) {
	if op.In == nil || op.Out == nil || op.In.Kind() != reflect.Struct || op.Out.Kind() != reflect.Struct {
		return nil, errors.New("input and output must be struct types")
	}
	desc := op.Description
	if desc == "" {
		desc = op.Summary + "."
	}
	access, ok := accessText[op.Access]
	if !ok {
		return nil, fmt.Errorf("unknown access %q", op.Access)
	}
	desc += "\n\n" + access
	switch op.Mode {
	case "desktop":
		desc += " Available in the desktop app only."
	case "serve":
		desc += " Available in `keygate serve` only (the desktop app has no accounts)."
	}
	o := map[string]any{
		"operationId": op.Name,
		"summary":     op.Summary,
		"description": desc,
	}
	if op.Tag != "" {
		o["tags"] = []any{op.Tag}
	}

	in, err := b.inline(op.In)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", op.In, err)
	}
	query := op.Method == http.MethodGet || op.Method == http.MethodDelete
	var pathList, queryList []any
	body := &openapi3.Schema{Type: &openapi3.Types{"object"}, Properties: openapi3.Schemas{}, Description: op.Summary + ": the request body."}
	param := func(name, where string, prop *openapi3.SchemaRef, required bool) map[string]any {
		p := map[string]any{"name": name, "in": where, "required": required}
		s := generic(prop).(map[string]any)
		if d, ok := s["description"]; ok {
			p["description"] = d
			delete(s, "description")
		} else {
			p["description"] = fmt.Sprintf("The %s.", name)
		}
		p["schema"] = s
		return p
	}
	names := pathParamNames(op.Path)
	for _, name := range names {
		prop, ok := in.Properties[name]
		if !ok {
			return nil, fmt.Errorf("path parameter %s has no field in %s", name, op.In)
		}
		pathList = append(pathList, param(name, "path", prop, true))
	}
	for _, name := range sortedKeys(in.Properties) {
		if contains(names, name) {
			continue
		}
		prop := in.Properties[name]
		required := contains(in.Required, name)
		if query {
			queryList = append(queryList, param(name, "query", prop, required))
			continue
		}
		body.Properties[name] = prop
		if required {
			body.Required = append(body.Required, name)
		}
	}
	params := append(pathList, queryList...)
	if len(params) > 0 {
		o["parameters"] = params
	}
	if len(body.Properties) > 0 {
		name := op.Name + "Request"
		b.schemas[name] = body
		o["requestBody"] = map[string]any{
			"required": true,
			"content":  map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + name}}},
		}
	}

	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	success := map[string]any{"description": http.StatusText(status)}
	if op.Produces != "" {
		success["content"] = map[string]any{op.Produces: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
		success["headers"] = map[string]any{"Content-Disposition": map[string]any{
			"description": "attachment, with the file name to save it under",
			"schema":      map[string]any{"type": "string"},
		}}
	} else if hasFields(op.Out) && status != http.StatusNoContent {
		ref, err := b.component(op.Out)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", op.Out, err)
		}
		success["content"] = map[string]any{"application/json": map[string]any{"schema": ref}}
	}
	responses := map[string]any{strconv.Itoa(status): success}
	use := func(name string) {
		for _, r := range consoleErrorResponses {
			if r.name == name {
				responses[r.status] = map[string]any{"$ref": "#/components/responses/" + name}
				usedResponses[name] = true
			}
		}
	}
	stateChanging := !query || op.Method == http.MethodDelete
	// Every operation refuses unknown query parameters; one with a body also refuses a body
	// that is not JSON, too large or of another content type.
	use("BadRequest")
	if !query {
		use("PayloadTooLarge")
		use("UnsupportedMediaType")
	}
	switch op.Access {
	case "public":
		o["security"] = []any{}
		if stateChanging {
			use("Forbidden") // cross-origin requests are refused even here
			use("TooManyRequests")
		}
	default:
		use("Unauthenticated")
		use("Forbidden")
		if stateChanging {
			o["security"] = []any{map[string]any{SchemeSessionCookie: []any{}, SchemeCsrfToken: []any{}}}
		} else {
			o["security"] = []any{map[string]any{SchemeSessionCookie: []any{}}}
		}
	}
	if len(pathParamNames(op.Path)) > 0 || in.Properties["org"] != nil {
		use("NotFound")
	}
	// A console on loopback refuses foreign Host names before routing.
	use("MisdirectedRequest")
	// Writes, and reading a session (which refreshes it), can meet a full disk.
	if stateChanging || op.Access != "public" {
		use("InsufficientStorage")
	}
	for _, status := range op.Errors {
		name := ""
		for _, r := range consoleErrorResponses {
			if r.status == strconv.Itoa(status) {
				name = r.name
			}
		}
		if name == "" {
			return nil, fmt.Errorf("no response is described for status %d", status)
		}
		use(name)
	}
	use("Error")
	o["responses"] = responses
	return o, nil
}

var pathParam = regexp.MustCompile(`\{([A-Za-z][A-Za-z0-9]*)\}`)

func pathParamNames(p string) []string {
	var out []string
	for _, m := range pathParam.FindAllStringSubmatch(p, -1) {
		out = append(out, m[1])
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func hasFields(t reflect.Type) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && f.Tag.Get("json") != "-" {
			return true
		}
	}
	return false
}

// schemaBuilder turns Go types into schemas with openapi3gen; named struct types become
// components, so a type used by several operations is described once.
type schemaBuilder struct {
	schemas map[string]*openapi3.Schema
	names   map[string]reflect.Type
}

func newSchemaBuilder() *schemaBuilder {
	return &schemaBuilder{schemas: map[string]*openapi3.Schema{}, names: map[string]reflect.Type{}}
}

// typeName names a struct type's component: its Go name, capitalized, qualified by its
// package when two packages use the same name.
func (b *schemaBuilder) typeName(t reflect.Type) string {
	name := t.Name()
	if name == "" {
		return ""
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	name = string(r)
	if prev, ok := b.names[name]; ok && prev != t {
		pkg := t.PkgPath()
		if i := strings.LastIndex(pkg, "/"); i >= 0 {
			pkg = pkg[i+1:]
		}
		p := []rune(pkg)
		if len(p) > 0 {
			p[0] = unicode.ToUpper(p[0])
		}
		name = string(p) + name
	}
	b.names[name] = t
	return name
}

func (b *schemaBuilder) generator(exportTop bool) *openapi3gen.Generator {
	return openapi3gen.NewGenerator(
		openapi3gen.SchemaCustomizer(customizer(false)),
		openapi3gen.CreateTypeNameGenerator(b.typeName),
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{
			ExportComponentSchemas: true, ExportTopLevelSchema: exportTop,
		}),
	)
}

// component returns a $ref to t's component schema (generic JSON), adding it and the
// components it uses.
func (b *schemaBuilder) component(t reflect.Type) (map[string]any, error) {
	schemas := openapi3.Schemas{}
	ref, err := b.generator(true).NewSchemaRefForValue(reflect.New(t).Elem().Interface(), schemas)
	if err != nil {
		return nil, err
	}
	if err := b.collect(schemas); err != nil {
		return nil, err
	}
	return generic(ref).(map[string]any), nil
}

// inline returns input type t's schema written out in full: input rules for required fields
// apply to every level, so nothing is shared with the result components.
func (b *schemaBuilder) inline(t reflect.Type) (*openapi3.Schema, error) {
	schemas := openapi3.Schemas{}
	g := openapi3gen.NewGenerator(openapi3gen.SchemaCustomizer(customizer(true)))
	ref, err := g.NewSchemaRefForValue(reflect.New(t).Elem().Interface(), schemas)
	if err != nil {
		return nil, err
	}
	if err := b.collect(schemas); err != nil {
		return nil, err
	}
	if ref.Value == nil {
		return nil, fmt.Errorf("no schema for %s", t)
	}
	if ref.Value.Properties == nil {
		ref.Value.Properties = openapi3.Schemas{}
	}
	return ref.Value, nil
}

func (b *schemaBuilder) collect(schemas openapi3.Schemas) error {
	for name, s := range schemas {
		if s.Value == nil {
			return fmt.Errorf("component %s has no schema", name)
		}
		b.schemas[name] = s.Value
	}
	return nil
}

var timeType = reflect.TypeFor[time.Time]()

// customizer applies the struct tags and derives required fields from the Go types, by the
// rules for inputs or for results.
func customizer(input bool) openapi3gen.SchemaCustomizerFn {
	return func(_ string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
		return customizeSchema(t, tag, s, input)
	}
}

func customizeSchema(t reflect.Type, tag reflect.StructTag, s *openapi3.Schema, input bool) error {
	if d := tag.Get("doc"); d != "" && (input || !isComponentStruct(t)) {
		s.Description = d
	}
	if e := tag.Get("enum"); e != "" {
		s.Enum = nil
		for _, v := range strings.Split(e, ",") {
			s.Enum = append(s.Enum, enumValue(s, strings.TrimSpace(v)))
		}
	}
	if f := tag.Get("format"); f != "" {
		s.Format = f
	}
	if ex, ok := tag.Lookup("example"); ok {
		s.Example = enumValue(s, ex)
	}
	if err := bounds(tag, s); err != nil {
		return err
	}
	if t.Kind() == reflect.Struct && t != timeType {
		s.Required = requiredFields(t, input)
		if s.Description == "" && t.Name() != "" {
			s.Description = sentenceFromName(t.Name())
		}
	}
	return nil
}

// bounds applies the tags minimum, maximum (numbers), minLength, maxLength and pattern
// (strings) to s.
func bounds(tag reflect.StructTag, s *openapi3.Schema) error {
	for _, name := range []string{"minimum", "maximum"} {
		v, ok := tag.Lookup(name)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("tag %s:%q: %w", name, v, err)
		}
		if name == "minimum" {
			s.Min = &f
		} else {
			s.Max = &f
		}
	}
	for _, name := range []string{"minLength", "maxLength"} {
		v, ok := tag.Lookup(name)
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("tag %s:%q: %w", name, v, err)
		}
		if name == "minLength" {
			s.MinLength = n
		} else {
			s.MaxLength = &n
		}
	}
	if v, ok := tag.Lookup("pattern"); ok {
		if _, err := regexp.Compile(v); err != nil {
			return fmt.Errorf("tag pattern:%q: %w", v, err)
		}
		s.Pattern = v
	}
	return nil
}

func isComponentStruct(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && t != timeType && t.Name() != ""
}

// enumValue converts a tag value to the schema's type.
func enumValue(s *openapi3.Schema, v string) any {
	switch {
	case s.Type.Is("integer"):
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	case s.Type.Is("number"):
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case s.Type.Is("boolean"):
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}

// requiredFields lists the JSON names of t's fields that are always present.
func requiredFields(t reflect.Type, input bool) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		jsonTag, hasJSON := f.Tag.Lookup("json")
		if !hasJSON || jsonTag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(jsonTag, ",")
		if name == "" {
			name = f.Name
		}
		required := !input && !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,")
		switch f.Tag.Get("required") {
		case "true":
			required = true
		case "false":
			required = false
		}
		if required {
			out = append(out, name)
		}
	}
	return out
}

// sentenceFromName turns keyView into "Key view.".
func sentenceFromName(name string) string {
	var words []string
	start := 0
	r := []rune(name)
	for i := 1; i < len(r); i++ {
		if unicode.IsUpper(r[i]) && !unicode.IsUpper(r[i-1]) {
			words = append(words, string(r[start:i]))
			start = i
		}
	}
	words = append(words, string(r[start:]))
	s := strings.ToLower(strings.Join(words, " "))
	return strings.ToUpper(s[:1]) + s[1:] + "."
}
