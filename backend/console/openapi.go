package console

import "github.com/keygate/keygate/backend/openapi"

// OpenAPIOperations describes the operation table for backend/openapi, which builds the
// console document from it.
func OpenAPIOperations() []openapi.Operation {
	out := make([]openapi.Operation, 0, len(table))
	for _, o := range table {
		out = append(out, openapi.Operation{Name: o.Name, Method: o.Method, Path: o.Path, Summary: o.Summary,
			Tag: o.Tag, In: o.In, Out: o.Out, Status: o.Status, Access: string(o.Need), Mode: string(o.Mode)})
	}
	return out
}
