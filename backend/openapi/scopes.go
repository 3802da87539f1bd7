package openapi

import (
	"fmt"
	"sort"
	"strings"
)

// ScopesExtension is the OpenAPI extension with which an upstream document says which key
// scopes an operation needs: on an operation, or at the document's top level as the default
// for every operation that has none of its own. Its value is a list of resource:action
// strings; an operation's empty list means "no scope needed" (and overrides the default).
const ScopesExtension = "x-keygate-scopes"

// OperationScopes is one operation's own x-keygate-scopes, at its path on the gateway.
type OperationScopes struct {
	Method string // upper case
	Path   string // the gateway path template, the route prefix included
	Scopes []string
}

// DeclaredScopes reads the x-keygate-scopes of route r's upstream document: the top-level
// default and every operation's own list, each operation placed at its gateway path as the
// gateway document places it (operations the route cannot reach are left out). A value that
// is not a list of strings is an error naming where it is; the strings themselves are checked
// by the caller (backend/routes).
func DeclaredScopes(r Route, up *Upstream) (def []string, ops []OperationScopes, err error) {
	doc, _ := generic(up.Doc).(map[string]any)
	if doc == nil {
		return nil, nil, nil
	}
	if v, ok := doc[ScopesExtension]; ok {
		if def, err = scopeList(v); err != nil {
			return nil, nil, fmt.Errorf("%s at the top level: %w", ScopesExtension, err)
		}
	}
	r.Prefix = normalizePrefix(r.Prefix)
	base := serverBase(up.Doc)
	paths, _ := doc["paths"].(map[string]any)
	for _, upPath := range sortedKeys(paths) {
		item, _ := paths[upPath].(map[string]any)
		for _, m := range httpMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			v, ok := op[ScopesExtension]
			if !ok {
				continue
			}
			list, err := scopeList(v)
			if err != nil {
				return nil, nil, fmt.Errorf("%s of %s %s: %w", ScopesExtension, strings.ToUpper(m), upPath, err)
			}
			gw, why := placePath(r, base, upPath)
			if why != "" {
				continue // not reachable through this route
			}
			ops = append(ops, OperationScopes{Method: strings.ToUpper(m), Path: gw, Scopes: list})
		}
	}
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Path < ops[j].Path })
	return def, ops, nil
}

func scopeList(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list of scopes such as [\"pets:read\"], got %T", v)
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("want a list of scopes such as [\"pets:read\"], got an element of type %T", e)
		}
		out = append(out, s)
	}
	return out, nil
}
