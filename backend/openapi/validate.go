package openapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/keygate/keygate/backend/problem"
)

// ErrNoDocument means request validation was asked for a route without an OpenAPI document.
var ErrNoDocument = errors.New("route has no openapi document to validate requests against")

// RequestValidator checks requests for one route against the route's upstream document, as
// the gateway receives them (the prefix still on the path). Requests for paths or methods the
// document does not describe are not its business and pass.
type RequestValidator struct {
	router routers.Router
}

// LoadRequestValidator reads the route's upstream document and prepares a validator.
func LoadRequestValidator(ctx context.Context, r Route, opts LoadOptions) (*RequestValidator, error) {
	if strings.TrimSpace(r.OpenAPISource) == "" {
		return nil, fmt.Errorf("route %s: %w", r.Prefix, ErrNoDocument)
	}
	up, err := LoadUpstream(ctx, r.OpenAPISource, opts)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", r.Prefix, err)
	}
	return NewRequestValidator(ctx, r, up)
}

// NewRequestValidator prepares a validator for route r from its loaded upstream document.
func NewRequestValidator(ctx context.Context, r Route, up *Upstream) (*RequestValidator, error) {
	r.Prefix = normalizePrefix(r.Prefix)
	doc, _ := generic(up.Doc).(map[string]any)
	if doc == nil {
		return nil, fmt.Errorf("route %s: empty document", r.Prefix)
	}
	base := serverBase(up.Doc)
	src, _ := doc["paths"].(map[string]any)
	placed := map[string]any{}
	for upPath, item := range src {
		gw, why := placePath(r, base, upPath)
		if why != "" {
			continue // not reachable through this route: nothing to check
		}
		if it, ok := item.(map[string]any); ok {
			delete(it, "servers")
			for _, m := range httpMethods {
				if op, ok := it[m].(map[string]any); ok {
					delete(op, "servers")
					delete(op, "security") // Keygate checks the credential, not the document
				}
			}
		}
		placed[gw] = item
	}
	doc["paths"] = placed
	doc["servers"] = nil
	delete(doc, "servers")
	delete(doc, "security")
	if comps, ok := doc["components"].(map[string]any); ok {
		delete(comps, "securitySchemes")
	}
	t, err := loadGenerated(ctx, doc)
	if err != nil {
		return nil, fmt.Errorf("route %s: prepare validation: %w", r.Prefix, err)
	}
	router, err := gorillamux.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("route %s: prepare validation: %w", r.Prefix, err)
	}
	return &RequestValidator{router: router}, nil
}

// FieldError is one failing parameter or body field.
type FieldError = problem.Field

// InvalidRequest says why a request does not match the document.
type InvalidRequest struct {
	Detail string
	Fields []FieldError
}

func (e *InvalidRequest) Error() string { return e.Detail }

// Check validates r against the document. It returns nil when r is valid or not described by
// the document, an *InvalidRequest when it is invalid. The body, if read, is put back.
func (v *RequestValidator) Check(r *http.Request) error {
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		return nil // a path or method the document does not describe
	}
	opts := &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Leave the request as the caller sent it: the upstream applies its own defaults.
		SkipSettingDefaults: true,
	}
	opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string { return err.Reason })
	input := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	err = openapi3filter.ValidateRequest(r.Context(), input)
	if err == nil {
		return nil
	}
	return toInvalidRequest(err)
}

func toInvalidRequest(err error) *InvalidRequest {
	var fields []FieldError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, inner := range e {
				walk(inner)
			}
		case *openapi3filter.SecurityRequirementsError:
			// Credentials are Keygate's business, not the document's.
		case *openapi3filter.RequestError:
			switch {
			case e.Parameter != nil:
				code := "INVALID_PARAMETER"
				if errors.Is(e.Err, openapi3filter.ErrInvalidRequired) {
					code = "REQUIRED"
				}
				fields = append(fields, FieldError{Field: e.Parameter.Name, Code: code,
					Detail: e.Parameter.In + " parameter " + e.Parameter.Name + ": " + reasonOf(e)})
			case e.RequestBody != nil:
				if me, ok := e.Err.(openapi3.MultiError); ok {
					for _, inner := range me {
						fields = append(fields, bodyField(inner, e))
					}
					return
				}
				fields = append(fields, bodyField(e.Err, e))
			default:
				fields = append(fields, FieldError{Code: "INVALID", Detail: reasonOf(e)})
			}
		default:
			fields = append(fields, FieldError{Code: "INVALID", Detail: err.Error()})
		}
	}
	walk(err)
	if len(fields) == 0 {
		return nil
	}
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].Field < fields[j].Field })
	var names []string
	for _, f := range fields {
		if f.Field != "" {
			names = append(names, f.Field)
		}
	}
	detail := "The request does not match the API's OpenAPI document"
	if len(names) > 0 {
		detail += ": check " + strings.Join(dedupe(names), ", ")
	}
	return &InvalidRequest{Detail: detail + ".", Fields: fields}
}

func bodyField(err error, re *openapi3filter.RequestError) FieldError {
	var se *openapi3.SchemaError
	if err != nil && errors.As(err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		code := "INVALID"
		if se.SchemaField == "required" {
			code = "REQUIRED"
		}
		if field == "" {
			field = "body"
		}
		return FieldError{Field: field, Code: code, Detail: "body field " + field + ": " + se.Reason}
	}
	return FieldError{Field: "body", Code: "INVALID_BODY", Detail: "body: " + reasonOf(re)}
}

func reasonOf(re *openapi3filter.RequestError) string {
	var se *openapi3.SchemaError
	if re.Err != nil && errors.As(re.Err, &se) {
		return se.Reason
	}
	if re.Err != nil {
		if re.Reason != "" {
			return re.Reason + ": " + re.Err.Error()
		}
		return re.Err.Error()
	}
	return re.Reason
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Middleware answers an invalid request with 400 application/problem+json (code VALIDATION,
// with the failing fields) and passes every other request to next.
func (v *RequestValidator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := v.Check(r); err != nil {
			var inv *InvalidRequest
			if errors.As(err, &inv) {
				WriteInvalidRequest(w, inv)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// WriteInvalidRequest writes inv as a 400 problem document.
func WriteInvalidRequest(w http.ResponseWriter, inv *InvalidRequest) {
	p := problem.New(http.StatusBadRequest, problem.CodeValidation, inv.Detail)
	p.Fields = inv.Fields
	problem.Write(w, p)
}
