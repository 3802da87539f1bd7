// Package openapi builds Keygate's two OpenAPI 3.0.3 documents with kin-openapi: the console
// API (from a plain description of the console's operation table) and the gateway API (the
// upstream documents of the gateway's routes, placed under their prefixes and merged, with
// Keygate's security and error responses applied). It also validates requests against an
// upstream document for routes that ask for it.
//
// The package takes plain descriptions (Operation, Route) rather than importing the console or
// gateway packages, so that those can serve the documents without an import cycle.
package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/keygate/keygate/backend/problem"
	yaml "go.yaml.in/yaml/v4"
)

// Version is the OpenAPI version of every document Keygate writes.
const Version = "3.0.3"

// ProblemMediaType is the media type of Keygate's error bodies (RFC 9457).
const ProblemMediaType = problem.ContentType

// Format is the serialization of a written document.
type Format string

// The formats a document can be written in.
const (
	JSON Format = "json"
	YAML Format = "yaml"
)

// ErrUnknownFormat is returned for a format other than json or yaml.
var ErrUnknownFormat = errors.New("unknown document format")

// ParseFormat accepts "json", "yaml" or "yml" (case-insensitive).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "json":
		return JSON, nil
	case "yaml", "yml":
		return YAML, nil
	}
	return "", fmt.Errorf("%w %q: use json or yaml", ErrUnknownFormat, s)
}

// FormatFromPath picks the format from a file name's extension (.json, .yaml, .yml).
func FormatFromPath(name string) (Format, error) {
	ext := strings.TrimPrefix(filepath.Ext(name), ".")
	if ext == "" {
		return "", fmt.Errorf("%w: %s has no .json, .yaml or .yml extension", ErrUnknownFormat, name)
	}
	return ParseFormat(ext)
}

// Encode writes doc in the given format. JSON is indented with two spaces and ends with a
// newline; both formats list map keys in sorted order so that output is stable.
func Encode(doc *openapi3.T, format Format) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal document: %w", err)
	}
	switch format {
	case JSON:
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return nil, fmt.Errorf("indent document: %w", err)
		}
		buf.WriteByte('\n')
		return buf.Bytes(), nil
	case YAML:
		// Going through a generic value gives sorted keys and plain YAML types.
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("reparse document: %w", err)
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("encode yaml: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("encode yaml: %w", err)
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownFormat, format)
}

// Validate checks doc with kin-openapi's validator, examples and formats included.
func Validate(ctx context.Context, doc *openapi3.T) error {
	if doc.OpenAPI != Version {
		return fmt.Errorf("document version is %q, want %s", doc.OpenAPI, Version)
	}
	if err := doc.Validate(ctx, openapi3.EnableExamplesValidation()); err != nil {
		return fmt.Errorf("validate document: %w", err)
	}
	return nil
}

// problemSchema is the RFC 9457 body Keygate sends for every error.
func problemSchema(example map[string]any) *openapi3.Schema {
	str := func(desc string) *openapi3.SchemaRef {
		return openapi3.NewSchemaRef("", described(openapi3.NewStringSchema(), desc))
	}
	field := openapi3.NewObjectSchema().
		WithProperty("field", described(openapi3.NewStringSchema(), "The input field that failed, as a JSON name or parameter name.")).
		WithProperty("code", described(openapi3.NewStringSchema(), "A stable code for the failure, e.g. REQUIRED or TOO_LONG.")).
		WithProperty("detail", described(openapi3.NewStringSchema(), "A human explanation of the failure."))
	field.Required = []string{"field", "code"}
	field.Description = "One failing input field."

	s := openapi3.NewObjectSchema()
	s.Description = "An error, as application/problem+json (RFC 9457). `code` is stable and meant for programs; `detail` is for people and may be localized."
	s.Properties = openapi3.Schemas{
		"type":     str("A URI reference that identifies the problem type."),
		"title":    str("A short summary of the problem type."),
		"status":   openapi3.NewSchemaRef("", described(openapi3.NewIntegerSchema().WithMin(100).WithMax(599), "The HTTP status code.")),
		"code":     str("A stable, machine-readable error code such as MISSING_CREDENTIAL, VALIDATION or UPSTREAM_TIMEOUT."),
		"detail":   str("A human explanation of this occurrence of the problem."),
		"instance": str("A URI reference that identifies this occurrence of the problem."),
		"fields":   openapi3.NewSchemaRef("", described(openapi3.NewArraySchema().WithItems(field), "The failing input fields of a validation error.")),
	}
	s.Required = []string{"title", "status", "code"}
	s.Example = example
	return s
}

// problemResponse is a response whose body is a Problem.
func problemResponse(desc, schemaName string) *openapi3.ResponseRef {
	content := openapi3.Content{
		ProblemMediaType: &openapi3.MediaType{Schema: openapi3.NewSchemaRef("#/components/schemas/"+schemaName, nil)},
	}
	return &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(desc).WithContent(content)}
}

func described(s *openapi3.Schema, desc string) *openapi3.Schema {
	s.Description = desc
	return s
}
