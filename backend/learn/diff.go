package learn

import (
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// OperationRef names an operation of a learned document.
type OperationRef struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// FieldRef names a field of an operation: a query parameter, a request body property or a
// response body property (dotted for nested ones, [] for array items).
type FieldRef struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// In is "query", "header", "request" or "response 200" (the status).
	In   string `json:"in"`
	Name string `json:"name"`
}

// Changes are what a learned document has that the route's current document lacks.
type Changes struct {
	Operations []OperationRef `json:"operations"`
	Fields     []FieldRef     `json:"fields"`
}

var templateParam = regexp.MustCompile(`\{[^}]*\}`)

// Diff lists the operations and fields of learned that current does not describe. Paths are
// compared as the upstream serves them (each document's server base path joined to its path,
// parameters by position), so documents with different servers or parameter names compare
// right. A nil current has nothing: everything learned is new.
func Diff(learned, current *openapi3.T) Changes {
	ch := Changes{Operations: []OperationRef{}, Fields: []FieldRef{}}
	have := map[string]*openapi3.Operation{}
	if current != nil && current.Paths != nil {
		base := basePath(current)
		for p, item := range current.Paths.Map() {
			for m, op := range item.Operations() {
				have[m+" "+upstreamKey(base, p)] = op
			}
		}
	}
	base := basePath(learned)
	paths := learned.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, p := range paths {
		item := learned.Paths.Value(p)
		ops := item.Operations()
		methods := make([]string, 0, len(ops))
		for m := range ops {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, m := range methods {
			op := ops[m]
			cur, ok := have[m+" "+upstreamKey(base, p)]
			if !ok {
				ch.Operations = append(ch.Operations, OperationRef{Method: m, Path: p})
				continue
			}
			add := func(in, name string) {
				ch.Fields = append(ch.Fields, FieldRef{Method: m, Path: p, In: in, Name: name})
			}
			for _, par := range op.Parameters {
				if par.Value == nil || par.Value.In == "path" {
					continue
				}
				if cur.Parameters.GetByInAndName(par.Value.In, par.Value.Name) == nil {
					add(par.Value.In, par.Value.Name)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				var cs *openapi3.Schema
				if cur.RequestBody != nil && cur.RequestBody.Value != nil {
					cs = jsonSchema(cur.RequestBody.Value.Content)
				}
				for _, f := range newProperties(jsonSchema(op.RequestBody.Value.Content), cs, "") {
					add("request", f)
				}
			}
			if op.Responses == nil {
				continue
			}
			statuses := op.Responses.Map()
			codes := make([]string, 0, len(statuses))
			for st := range statuses {
				codes = append(codes, st)
			}
			sort.Strings(codes)
			for _, st := range codes {
				r := statuses[st]
				if r.Value == nil {
					continue
				}
				var cs *openapi3.Schema
				if cur.Responses != nil {
					if cr := cur.Responses.Value(st); cr != nil && cr.Value != nil {
						cs = jsonSchema(cr.Value.Content)
					} else if cr := cur.Responses.Default(); cr != nil && cr.Value != nil {
						cs = jsonSchema(cr.Value.Content)
					}
				}
				for _, f := range newProperties(jsonSchema(r.Value.Content), cs, "") {
					add("response "+st, f)
				}
			}
		}
	}
	return ch
}

func basePath(doc *openapi3.T) string {
	if doc == nil || len(doc.Servers) == 0 {
		return "/"
	}
	if u, err := url.Parse(doc.Servers[0].URL); err == nil && u.Path != "" {
		return u.Path
	}
	return "/"
}

// upstreamKey is a path as the upstream serves it with parameters unnamed.
func upstreamKey(base, p string) string {
	full := strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(p, "/")
	full = "/" + strings.Trim(full, "/")
	return templateParam.ReplaceAllString(full, "{}")
}

func jsonSchema(c openapi3.Content) *openapi3.Schema {
	for mt, m := range c {
		if WantsBody(mt) && m != nil && m.Schema != nil {
			return m.Schema.Value
		}
	}
	return nil
}

// objectOf is the object alternative of s (s itself, or one of its anyOf/oneOf/allOf).
func objectOf(s *openapi3.Schema, kind string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if s.Type.Is(kind) || kind == openapi3.TypeObject && len(s.Properties) > 0 {
		return s
	}
	for _, group := range []openapi3.SchemaRefs{s.AnyOf, s.OneOf, s.AllOf} {
		for _, a := range group {
			if o := objectOf(a.Value, kind); o != nil {
				return o
			}
		}
	}
	return nil
}

// newProperties lists the properties of learned (dotted, [] for items) that current lacks.
func newProperties(learned, current *openapi3.Schema, prefix string) []string {
	var out []string
	if lo := objectOf(learned, openapi3.TypeObject); lo != nil {
		co := objectOf(current, openapi3.TypeObject)
		names := make([]string, 0, len(lo.Properties))
		for k := range lo.Properties {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			var cp *openapi3.Schema
			if co != nil {
				if r := co.Properties[k]; r != nil {
					cp = r.Value
				}
			}
			if cp == nil && (co == nil || co.AdditionalProperties.Schema == nil && (co.AdditionalProperties.Has == nil || !*co.AdditionalProperties.Has)) {
				out = append(out, prefix+k)
				continue
			}
			out = append(out, newProperties(lo.Properties[k].Value, cp, prefix+k+".")...)
		}
	}
	if la := objectOf(learned, openapi3.TypeArray); la != nil && la.Items != nil {
		var ci *openapi3.Schema
		if ca := objectOf(current, openapi3.TypeArray); ca != nil && ca.Items != nil {
			ci = ca.Items.Value
		}
		out = append(out, newProperties(la.Items.Value, ci, strings.TrimSuffix(prefix, ".")+"[].")...)
	}
	return out
}
