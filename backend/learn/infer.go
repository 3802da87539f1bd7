package learn

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
)

// Version is the OpenAPI version of a learned document.
const Version = "3.0.3"

// DocOptions describe the route a document is learned for.
type DocOptions struct {
	// Prefix is the route's prefix, for the title and descriptions.
	Prefix string
	// ServerURL is the document's server: the route's upstream URL for a document that
	// describes the upstream (to adopt or export), or the gateway's URL plus the prefix for one
	// tried through the gateway.
	ServerURL string
}

// Inference says what a learned document rests on.
type Inference struct {
	// Operations and Exchanges count what the document describes.
	Operations int `json:"operations"`
	Exchanges  int `json:"exchanges"`
	// Unanswered lists operations left out because no exchange of theirs succeeded (only
	// 4xx/5xx answers: most likely paths that do not exist).
	Unanswered []string `json:"unanswered"`
}

// Infer builds an OpenAPI 3.0.3 document from a route's learned operations. Path segments
// that vary like ids become named parameters; literal segments stay literal. Schemas, formats
// and required fields come from the shapes; examples are synthesized from the types.
func Infer(ops []*Operation, opts DocOptions) (*openapi3.T, Inference, error) {
	var inf Inference
	root := &trieNode{}
	kept := make([]*Operation, 0, len(ops))
	for _, op := range ops {
		if !succeeded(op) {
			inf.Unanswered = append(inf.Unanswered, op.Method+" "+op.Path)
			continue
		}
		kept = append(kept, op)
		root.insert(splitKey(op.Path))
	}
	root.name(nil, "")

	// Operations whose keys differ only in the kind of an id segment share a template.
	type entry struct {
		template string
		params   []*trieNode
		op       *Operation
	}
	merged := map[string]*entry{}
	for _, op := range kept {
		tpl, params := root.template(splitKey(op.Path))
		k := op.Method + " " + tpl
		if e, ok := merged[k]; ok {
			e.op.Merge(clone(op))
			continue
		}
		merged[k] = &entry{template: tpl, params: params, op: clone(op)}
	}
	keys := sortedKeys(merged)

	doc := &openapi3.T{
		OpenAPI: Version,
		Info: &openapi3.Info{
			Title:   "Learned API of route " + opts.Prefix,
			Version: "learned",
			Contact: &openapi3.Contact{Name: "Keygate"},
		},
		Paths: openapi3.NewPaths(),
	}
	if opts.ServerURL != "" {
		doc.Servers = openapi3.Servers{{URL: opts.ServerURL, Description: "Where the learned paths are served."}}
	}
	tags := map[string]bool{}
	opIDs := map[string]bool{}
	for _, k := range keys {
		e := merged[k]
		inf.Operations++
		inf.Exchanges += e.op.Samples
		tag := tagFor(e.template)
		tags[tag] = true
		o := operation(e.op, e.template, e.params, tag, opIDs)
		item := doc.Paths.Value(e.template)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(e.template, item)
		}
		item.SetOperation(e.op.Method, o)
	}
	for _, t := range sortedKeys(tags) {
		doc.Tags = append(doc.Tags, &openapi3.Tag{Name: t, Description: "Operations under /" + strings.TrimPrefix(t, "root") + ", learned from traffic."})
	}
	doc.Info.Description = fmt.Sprintf("Learned by Keygate from %d exchanges forwarded on route %s: %d operations. "+
		"Only the shape of the traffic was recorded (names, types and formats, never a value); examples are synthesized from the types. "+
		"Fields present in every exchange seen are required; the others are optional.", inf.Exchanges, opts.Prefix, inf.Operations)
	return doc, inf, nil
}

func succeeded(op *Operation) bool {
	for st := range op.Responses {
		if c, err := strconv.Atoi(st); err == nil && c >= 200 && c < 400 {
			return true
		}
	}
	return false
}

func clone(op *Operation) *Operation {
	b, _ := json.Marshal(op)
	var c Operation
	_ = json.Unmarshal(b, &c)
	return &c
}

func splitKey(key string) []string {
	key = strings.Trim(key, "/")
	if key == "" {
		return nil
	}
	return strings.Split(key, "/")
}

func paramKind(seg string) (string, bool) {
	if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

// trieNode is one path position: literal children by segment, and at most one parameter
// child, which takes every id-like segment seen at that position.
type trieNode struct {
	lits   map[string]*trieNode
	param  *trieNode
	kinds  map[string]bool // for a parameter node: the kinds of segment seen
	pname  string
	parent string // the literal segment before a parameter node, for its name
}

func (n *trieNode) insert(segs []string) {
	cur := n
	prevLit := ""
	for _, s := range segs {
		if kind, ok := paramKind(s); ok {
			if cur.param == nil {
				cur.param = &trieNode{kinds: map[string]bool{}, parent: prevLit}
			}
			cur.param.kinds[kind] = true
			cur = cur.param
			prevLit = ""
			continue
		}
		if cur.lits == nil {
			cur.lits = map[string]*trieNode{}
		}
		next, ok := cur.lits[s]
		if !ok {
			next = &trieNode{}
			cur.lits[s] = next
		}
		cur = next
		prevLit = s
	}
}

// name gives each parameter node a name unique along its path: userId after users, id when
// no literal precedes it.
func (n *trieNode) name(used []string, _ string) {
	for _, c := range n.lits {
		c.name(used, "")
	}
	if p := n.param; p != nil {
		base := paramName(p.parent)
		name := base
		for i := 2; contains(used, name); i++ {
			name = base + strconv.Itoa(i)
		}
		p.pname = name
		p.name(append(append([]string(nil), used...), name), "")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// template returns the OpenAPI path for a key and the parameter nodes along it.
func (n *trieNode) template(segs []string) (string, []*trieNode) {
	if len(segs) == 0 {
		return "/", nil
	}
	var b strings.Builder
	var params []*trieNode
	cur := n
	for _, s := range segs {
		b.WriteByte('/')
		if _, ok := paramKind(s); ok {
			cur = cur.param
			b.WriteString("{" + cur.pname + "}")
			params = append(params, cur)
			continue
		}
		cur = cur.lits[s]
		b.WriteString(s)
	}
	return b.String(), params
}

// paramName makes users → userId, categories → categoryId, line-items → lineItemId.
func paramName(lit string) string {
	words := strings.FieldsFunc(lit, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		return "id"
	}
	last := words[len(words)-1]
	words[len(words)-1] = singular(last)
	var b strings.Builder
	for i, w := range words {
		w = strings.ToLower(w)
		if i > 0 && w != "" {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
	}
	if b.Len() == 0 || !unicode.IsLetter(rune(b.String()[0])) {
		return "id"
	}
	return b.String() + "Id"
}

func singular(w string) string {
	lw := strings.ToLower(w)
	switch {
	case strings.HasSuffix(lw, "ies") && len(w) > 3:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(lw, "sses"), strings.HasSuffix(lw, "xes"), strings.HasSuffix(lw, "ches"), strings.HasSuffix(lw, "shes"):
		return w[:len(w)-2]
	case strings.HasSuffix(lw, "ss"), strings.HasSuffix(lw, "us"), strings.HasSuffix(lw, "is"):
		return w
	case strings.HasSuffix(lw, "s") && len(w) > 1:
		return w[:len(w)-1]
	}
	return w
}

func tagFor(template string) string {
	for _, s := range splitKey(template) {
		if !strings.HasPrefix(s, "{") {
			return s
		}
	}
	return "root"
}

// operation builds one OpenAPI operation from its merged shape.
func operation(op *Operation, template string, params []*trieNode, tag string, opIDs map[string]bool) *openapi3.Operation {
	o := openapi3.NewOperation()
	o.Tags = []string{tag}
	o.OperationID = operationID(op.Method, template, opIDs)
	o.Summary = op.Method + " " + template
	o.Description = fmt.Sprintf("Learned from %d exchanges.", op.Samples)
	for _, p := range params {
		s := paramSchema(p.kinds)
		par := openapi3.NewPathParameter(p.pname).WithSchema(s)
		par.Description = "An id (" + kindList(p.kinds) + ") in the path."
		par.Example = example(s)
		o.AddParameter(par)
	}
	for _, name := range sortedKeys(op.Query) {
		q := op.Query[name]
		s := schemaFor(q.Value)
		if q.Repeat > 0 {
			s = openapi3.NewArraySchema().WithItems(s)
		}
		par := openapi3.NewQueryParameter(name).WithSchema(s)
		par.Required = q.Present >= op.Accepted
		par.Description = fmt.Sprintf("Seen in %d of %d accepted requests.", q.Present, op.Accepted)
		par.Example = example(s)
		o.AddParameter(par)
	}
	for _, name := range sortedKeys(op.Headers) {
		s := openapi3.NewStringSchema()
		par := openapi3.NewHeaderParameter(name).WithSchema(s)
		par.Required = op.Headers[name] >= op.Accepted
		par.Description = fmt.Sprintf("Seen in %d of %d accepted requests.", op.Headers[name], op.Accepted)
		par.Example = "string"
		o.AddParameter(par)
	}
	if len(op.Request.Content) > 0 {
		rb := openapi3.NewRequestBody().WithContent(content(op.Request.Content)).WithRequired(op.Request.None == 0)
		rb.Description = "The request body, as seen in accepted requests."
		o.RequestBody = &openapi3.RequestBodyRef{Value: rb}
	}
	o.Responses = openapi3.NewResponses()
	for _, st := range sortedKeys(op.Responses) {
		b := op.Responses[st]
		code, _ := strconv.Atoi(st)
		desc := http.StatusText(code)
		if desc == "" {
			desc = "Status " + st
		}
		r := openapi3.NewResponse().WithDescription(fmt.Sprintf("%s (seen %d times).", desc, b.Samples))
		if len(b.Content) > 0 {
			r.Content = content(b.Content)
		}
		o.Responses.Set(st, &openapi3.ResponseRef{Value: r})
	}
	return o
}

func content(cs map[string]*Content) openapi3.Content {
	out := openapi3.Content{}
	for _, mt := range sortedKeys(cs) {
		c := cs[mt]
		var s *openapi3.Schema
		switch {
		case c.Schema != nil:
			s = schemaFor(c.Schema)
		case WantsBody(mt):
			s = &openapi3.Schema{Description: "JSON not shaped (too large or not valid JSON)."}
		case strings.HasPrefix(mt, "text/"):
			s = openapi3.NewStringSchema()
		default:
			s = openapi3.NewStringSchema().WithFormat("binary")
		}
		m := &openapi3.MediaType{Schema: openapi3.NewSchemaRef("", s)}
		if ex := example(s); ex != nil && s.Format != "binary" {
			m.Example = ex
		}
		out[mt] = m
	}
	return out
}

func kindList(kinds map[string]bool) string {
	return strings.Join(sortedKeys(kinds), ", ")
}

// paramSchema is the schema of a path parameter from the kinds of segment seen there.
func paramSchema(kinds map[string]bool) *openapi3.Schema {
	if len(kinds) == 1 {
		switch {
		case kinds[KindInt]:
			return openapi3.NewIntegerSchema()
		case kinds[KindUUID]:
			return openapi3.NewUUIDSchema()
		case kinds[KindHex]:
			return openapi3.NewStringSchema().WithPattern("^[0-9a-fA-F]+$")
		}
	}
	return openapi3.NewStringSchema()
}

// schemaFor turns a merged shape into a schema: one type, or anyOf when several were seen
// (integers and numbers together are numbers), nullable when null was seen, the format every
// string had, required = the properties present in every object.
func schemaFor(n *Node) *openapi3.Schema {
	if n == nil {
		return &openapi3.Schema{}
	}
	var alts []*openapi3.Schema
	if n.Bool > 0 {
		alts = append(alts, openapi3.NewBoolSchema())
	}
	switch {
	case n.Num > 0:
		alts = append(alts, openapi3.NewFloat64Schema())
	case n.Int > 0:
		alts = append(alts, openapi3.NewIntegerSchema())
	}
	if n.Str > 0 {
		s := openapi3.NewStringSchema()
		for _, f := range []string{"date-time", "date", "uuid", "email", "uri"} {
			if n.Formats[f] == n.Str {
				s.Format = f
				break
			}
		}
		alts = append(alts, s)
	}
	if n.Arr > 0 {
		items := &openapi3.Schema{}
		if n.Items != nil {
			items = schemaFor(n.Items)
		}
		alts = append(alts, openapi3.NewArraySchema().WithItems(items))
	}
	if n.Obj > 0 {
		s := openapi3.NewObjectSchema()
		for _, k := range sortedKeys(n.Props) {
			p := n.Props[k]
			s.WithProperty(k, schemaFor(p))
			if p.Count() >= n.Obj {
				s.Required = append(s.Required, k)
			}
		}
		if n.Map != nil {
			s.WithAdditionalProperties(schemaFor(n.Map))
		}
		alts = append(alts, s)
	}
	var s *openapi3.Schema
	switch len(alts) {
	case 0:
		s = &openapi3.Schema{}
		if n.Null > 0 {
			s.Description = "Only null was seen."
		}
		return s
	case 1:
		s = alts[0]
		s.Nullable = n.Null > 0
	default:
		for _, a := range alts {
			a.Nullable = n.Null > 0
		}
		s = openapi3.NewAnyOfSchema(alts...)
	}
	return s
}

// example synthesizes a value of schema s from its type and format alone.
func example(s *openapi3.Schema) any {
	if s == nil {
		return nil
	}
	if len(s.AnyOf) > 0 {
		return example(s.AnyOf[0].Value)
	}
	switch {
	case s.Type.Is(openapi3.TypeString):
		switch s.Format {
		case "date-time":
			return "2024-01-02T03:04:05Z"
		case "date":
			return "2024-01-02"
		case "uuid":
			return "123e4567-e89b-42d3-a456-426614174000"
		case "email":
			return "user@example.com"
		case "uri":
			return "https://example.com/"
		case "binary":
			return nil
		}
		if s.Pattern != "" {
			return "0123abcd"
		}
		return "string"
	case s.Type.Is(openapi3.TypeInteger):
		return 1
	case s.Type.Is(openapi3.TypeNumber):
		return 1.5
	case s.Type.Is(openapi3.TypeBoolean):
		return true
	case s.Type.Is(openapi3.TypeArray):
		if s.Items == nil || s.Items.Value == nil {
			return []any{}
		}
		if ex := example(s.Items.Value); ex != nil {
			return []any{ex}
		}
		return []any{}
	case s.Type.Is(openapi3.TypeObject):
		out := map[string]any{}
		for _, k := range sortedKeys(s.Properties) {
			if ex := example(s.Properties[k].Value); ex != nil {
				out[k] = ex
			} else if p := s.Properties[k].Value; p != nil && p.Nullable {
				out[k] = nil
			}
		}
		return out
	}
	return nil
}

// operationID makes getUsersByUserIdOrders from GET /users/{userId}/orders, unique.
func operationID(method, template string, used map[string]bool) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, s := range splitKey(template) {
		if name, ok := paramKind(s); ok {
			b.WriteString("By")
			b.WriteString(pascal(name))
			continue
		}
		b.WriteString(pascal(s))
	}
	if len(splitKey(template)) == 0 {
		b.WriteString("Root")
	}
	id := b.String()
	out := id
	for i := 2; used[out]; i++ {
		out = id + strconv.Itoa(i)
	}
	used[out] = true
	return out
}

func pascal(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))) })
	var b strings.Builder
	for _, w := range words {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
