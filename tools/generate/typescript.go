package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/console"
)

// typescript writes the operation map and the input and output types from the console
// document: one interface per result component, one <Name>Input per operation (its path,
// query and body fields together, as the client passes them), the Operations map and the
// routes table the HTTP transport uses.
func typescript(all []console.Operation, doc *openapi3.T) ([]byte, error) {
	var ops []console.Operation
	for _, o := range all {
		if o.Mode != console.ModeCLI { // the command line's own: not in the client
			ops = append(ops, o)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// %s\n// Run `make generate` (or `go generate .`) after changing backend/console/operations.go or\n// the Go types of an operation.\n", header)
	b.WriteString("//\n// Times are RFC 3339 strings; a nullable time is null when absent.\n\n")

	inputs := map[string]string{}
	outputs := map[string]string{}
	used := map[string]bool{}
	for _, o := range ops {
		item := doc.Paths.Find(o.Path)
		if item == nil || item.GetOperation(o.Method) == nil {
			return nil, fmt.Errorf("operation %s: not in the console document", o.Name)
		}
		op := item.GetOperation(o.Method)
		props := map[string]*openapi3.SchemaRef{}
		required := map[string]bool{}
		for _, p := range op.Parameters {
			props[p.Value.Name] = p.Value.Schema
			required[p.Value.Name] = p.Value.Required
		}
		if op.RequestBody != nil {
			body := op.RequestBody.Value.Content.Get("application/json").Schema
			s, err := resolve(doc, body)
			if err != nil {
				return nil, fmt.Errorf("operation %s: %w", o.Name, err)
			}
			for name, p := range s.Properties {
				props[name] = p
			}
			for _, name := range s.Required {
				required[name] = true
			}
		}
		inputs[o.Name] = objectType(props, required, "", used)
		outputs[o.Name] = "void"
		if o.Status != http.StatusNoContent {
			resp := op.Responses.Status(o.Status)
			if resp == nil || resp.Value == nil {
				return nil, fmt.Errorf("operation %s: no %d response", o.Name, o.Status)
			}
			if mt := resp.Value.Content.Get("application/json"); mt != nil {
				outputs[o.Name] = tsType(mt.Schema, "", used)
			} else {
				outputs[o.Name] = "Record<string, never>"
			}
		}
	}

	// Result types: every component an output reaches, in name order.
	var names []string
	seen := map[string]bool{}
	for len(used) > len(seen) {
		for name := range used {
			if seen[name] {
				continue
			}
			seen[name] = true
			names = append(names, name)
			s := doc.Components.Schemas[name]
			if s == nil || s.Value == nil {
				return nil, fmt.Errorf("component %s is missing", name)
			}
			tsType(&openapi3.SchemaRef{Value: s.Value}, "", used) // marks what it references
		}
	}
	sort.Strings(names)
	for _, name := range names {
		s := doc.Components.Schemas[name].Value
		if _, clash := inputs[strings.TrimSuffix(name, "Input")]; clash && strings.HasSuffix(name, "Input") {
			return nil, fmt.Errorf("component %s clashes with an operation's input type", name)
		}
		if len(s.Properties) == 0 || s.Type == nil || !s.Type.Is("object") {
			fmt.Fprintf(&b, "export type %s = %s\n\n", name, tsType(&openapi3.SchemaRef{Value: s}, "", used))
			continue
		}
		fmt.Fprintf(&b, "export interface %s %s\n\n", name, objectType(s.Properties, set(s.Required), "", used))
	}

	for _, o := range ops {
		in := inputs[o.Name]
		if in == "{}" {
			fmt.Fprintf(&b, "export type %sInput = Record<string, never>\n\n", o.Name)
		} else {
			fmt.Fprintf(&b, "export interface %sInput %s\n\n", o.Name, in)
		}
	}

	b.WriteString("/** Operations maps every console operation to its input and output. */\nexport interface Operations {\n")
	for _, o := range ops {
		fmt.Fprintf(&b, "  /** %s. */\n  %s: { in: %sInput; out: %s }\n", strings.TrimSuffix(o.Summary, "."), o.Name, o.Name, outputs[o.Name])
	}
	b.WriteString("}\n\n")
	b.WriteString("export type OpName = keyof Operations\nexport type In<N extends OpName> = Operations[N]['in']\nexport type Out<N extends OpName> = Operations[N]['out']\n\n")
	b.WriteString("export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'\n\n")
	b.WriteString("/** routes is the HTTP side of the operation table: method and path template per operation. */\n")
	b.WriteString("export const routes: Record<OpName, { method: Method; path: string }> = {\n")
	for _, o := range ops {
		fmt.Fprintf(&b, "  %s: { method: '%s', path: '%s' },\n", o.Name, o.Method, o.Path)
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func resolve(doc *openapi3.T, ref *openapi3.SchemaRef) (*openapi3.Schema, error) {
	if ref.Ref == "" {
		return ref.Value, nil
	}
	name := strings.TrimPrefix(ref.Ref, "#/components/schemas/")
	s := doc.Components.Schemas[name]
	if s == nil || s.Value == nil {
		return nil, fmt.Errorf("no component %s", name)
	}
	return s.Value, nil
}

// objectType writes an object literal type, fields in name order, optional unless required.
func objectType(props openapi3.Schemas, required map[string]bool, indent string, used map[string]bool) string {
	if len(props) == 0 {
		return "{}"
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("{\n")
	for _, n := range names {
		p := props[n]
		if p.Value != nil && p.Ref == "" && p.Value.Description != "" && !strings.HasPrefix(p.Value.Description, "The "+n+".") {
			fmt.Fprintf(&b, "%s  /** %s */\n", indent, strings.ReplaceAll(p.Value.Description, "*/", "*\\/"))
		}
		opt := "?"
		if required[n] {
			opt = ""
		}
		fmt.Fprintf(&b, "%s  %s%s: %s\n", indent, n, opt, tsType(p, indent+"  ", used))
	}
	b.WriteString(indent + "}")
	return b.String()
}

// tsType is the TypeScript type of a schema; references are named and recorded in used.
func tsType(ref *openapi3.SchemaRef, indent string, used map[string]bool) string {
	if ref == nil {
		return "unknown"
	}
	if ref.Ref != "" {
		name := strings.TrimPrefix(ref.Ref, "#/components/schemas/")
		used[name] = true
		return name
	}
	s := ref.Value
	var t string
	switch {
	case len(s.Enum) > 0:
		var parts []string
		for _, v := range s.Enum {
			if str, ok := v.(string); ok {
				parts = append(parts, "'"+strings.ReplaceAll(str, "'", "\\'")+"'")
				continue
			}
			j, _ := json.Marshal(v)
			parts = append(parts, string(j))
		}
		t = strings.Join(parts, " | ")
	case s.Type == nil:
		t = "unknown"
	case s.Type.Is("string"):
		t = "string"
	case s.Type.Is("integer"), s.Type.Is("number"):
		t = "number"
	case s.Type.Is("boolean"):
		t = "boolean"
	case s.Type.Is("array"):
		t = tsType(s.Items, indent, used)
		if strings.ContainsAny(t, "|&") {
			t = "(" + t + ")"
		}
		t += "[]"
	case s.Type.Is("object"):
		switch {
		case len(s.Properties) > 0:
			t = objectType(s.Properties, set(s.Required), indent, used)
		case s.AdditionalProperties.Schema != nil:
			t = "Record<string, " + tsType(s.AdditionalProperties.Schema, indent, used) + ">"
		default:
			t = "Record<string, unknown>"
		}
	default:
		t = "unknown"
	}
	if s.Nullable {
		t += " | null"
	}
	return t
}
