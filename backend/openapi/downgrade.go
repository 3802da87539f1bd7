package openapi

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// downgrade rewrites an OpenAPI 3.1 or 3.2 document in place as OpenAPI 3.0.3. What has a
// 3.0 equivalent is converted (type arrays with "null" → nullable, const → enum, examples →
// example, numeric exclusive bounds → boolean ones, boolean schemas); annotations with no
// effect on requests are dropped and noted; anything else is an error naming where it is.
func downgrade(doc *openapi3.T) (notes []string, err error) {
	if doc.IsOpenAPI30() {
		doc.OpenAPI = Version
		return nil, nil
	}
	var problems []string
	if n := len(doc.Webhooks); n > 0 {
		notes = append(notes, fmt.Sprintf("dropped %d webhook(s): webhooks are sent by the upstream, not requests through the gateway, and OpenAPI 3.0 cannot describe them", n))
		doc.Webhooks = nil
	}
	doc.JSONSchemaDialect = ""
	if doc.Info != nil {
		if doc.Info.Summary != "" {
			if doc.Info.Description == "" {
				doc.Info.Description = doc.Info.Summary
			}
			doc.Info.Summary = ""
		}
		if doc.Info.License != nil && doc.Info.License.Identifier != "" {
			if doc.Info.License.URL == "" {
				doc.Info.License.URL = "https://spdx.org/licenses/" + doc.Info.License.Identifier + ".html"
			}
			doc.Info.License.Identifier = ""
		}
	}
	if doc.Paths != nil {
		for path, item := range doc.Paths.Map() {
			if item.Query != nil {
				problems = append(problems, fmt.Sprintf("%s: the QUERY method (OpenAPI 3.2) has no OpenAPI 3.0 form", path))
			}
			if len(item.AdditionalOperations) > 0 {
				problems = append(problems, fmt.Sprintf("%s: additionalOperations (OpenAPI 3.2) have no OpenAPI 3.0 form", path))
			}
		}
	}

	err = doc.WalkSchemas(func(ptr string, ref *openapi3.SchemaRef) error {
		problems = append(problems, downgradeSchema(ptr, ref.Value)...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk schemas: %w", err)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, errors.New(strings.Join(problems, "; "))
	}
	doc.OpenAPI = Version
	return notes, nil
}

// downgradeSchema converts one schema (not its sub-schemas: the walk visits those) and
// returns what cannot be converted.
func downgradeSchema(ptr string, s *openapi3.Schema) (problems []string) {
	at := func(what string) string {
		if ptr == "" {
			ptr = "/"
		}
		return fmt.Sprintf("%s: %s has no OpenAPI 3.0 form", ptr, what)
	}
	if s.Always != nil {
		if !*s.Always {
			s.Not = openapi3.NewSchemaRef("", &openapi3.Schema{})
		}
		s.Always = nil
	}
	if s.Type != nil && len(*s.Type) > 0 {
		types := slices.DeleteFunc(slices.Clone(*s.Type), func(t string) bool { return t == "null" })
		if len(types) < len(*s.Type) {
			s.Nullable = true
		}
		switch len(types) {
		case 0:
			problems = append(problems, at(`type "null" on its own`))
		case 1:
			s.Type = &openapi3.Types{types[0]}
		default:
			problems = append(problems, at(fmt.Sprintf("a type list %v", types)))
		}
	}
	if s.Const != nil {
		if len(s.Enum) == 0 {
			s.Enum = []any{s.Const}
		}
		s.Const = nil
	}
	if len(s.Examples) > 0 {
		if s.Example == nil {
			s.Example = s.Examples[0]
		}
		s.Examples = nil
	}
	s.Min, s.ExclusiveMin = lowerBound(s.Min, s.ExclusiveMin, func(a, b float64) bool { return a > b })
	s.Max, s.ExclusiveMax = lowerBound(s.Max, s.ExclusiveMax, func(a, b float64) bool { return a < b })
	if s.ContentEncoding == "base64" && (s.Format == "" || s.Format == "byte") {
		s.Format, s.ContentEncoding = "byte", ""
	}
	if s.ContentMediaType != "" && s.ContentEncoding == "" && s.ContentSchema == nil {
		// A media type annotation without an encoding changes nothing a 3.0 reader checks.
		s.ContentMediaType = ""
	}
	// Annotations and identifiers: the loader has already resolved what they name.
	s.Comment, s.SchemaDialect, s.SchemaID, s.Anchor = "", "", "", ""

	unsupported := []struct {
		set  bool
		name string
	}{
		{len(s.PrefixItems) > 0, "prefixItems"},
		{s.Contains != nil, "contains"},
		{s.MinContains != nil || s.MaxContains != nil, "minContains/maxContains"},
		{len(s.PatternProperties) > 0, "patternProperties"},
		{len(s.DependentSchemas) > 0, "dependentSchemas"},
		{len(s.DependentRequired) > 0, "dependentRequired"},
		{s.PropertyNames != nil, "propertyNames"},
		{s.UnevaluatedItems != (openapi3.BoolSchema{}), "unevaluatedItems"},
		{s.UnevaluatedProperties != (openapi3.BoolSchema{}), "unevaluatedProperties"},
		{s.If != nil || s.Then != nil || s.Else != nil, "if/then/else"},
		{len(s.Defs) > 0, "$defs"},
		{s.DynamicRef != "" || s.DynamicAnchor != "", "$dynamicRef/$dynamicAnchor"},
		{s.ContentEncoding != "" || s.ContentSchema != nil, "contentEncoding/contentSchema"},
	}
	for _, u := range unsupported {
		if u.set {
			problems = append(problems, at(u.name))
		}
	}
	return problems
}

// lowerBound turns a 3.1 numeric exclusive bound into a 3.0 bound plus boolean flag, keeping
// whichever of the inclusive and exclusive bound is stricter (stricter(a, b): a is stricter).
func lowerBound(incl *float64, excl openapi3.ExclusiveBound, stricter func(a, b float64) bool) (*float64, openapi3.ExclusiveBound) {
	if excl.Value == nil {
		return incl, excl
	}
	v := *excl.Value
	if incl != nil && stricter(*incl, v) {
		return incl, openapi3.ExclusiveBound{}
	}
	t := true
	return &v, openapi3.ExclusiveBound{Bool: &t}
}
