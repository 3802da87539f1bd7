package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/keygate/keygate/backend/problem"
)

// MaxBodyBytes bounds a console request body.
const MaxBodyBytes = 1 << 20

type jsonField struct {
	name  string
	index []int
	typ   reflect.Type
}

// jsonFields lists a struct's fields by JSON name, as encoding/json sees them (embedded
// structs flattened, "-" skipped).
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, index: f.Index, typ: f.Type})
	}
	return out
}

func queryKind(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	case reflect.Pointer:
		return queryKind(t.Elem()) && t.Elem().Kind() != reflect.Slice
	}
	return false
}

// decode fills a new In from the request: the JSON body (or the query string for GET and
// DELETE), then the path parameters. Unknown fields and oversized bodies are refused.
func decode(w http.ResponseWriter, r *http.Request, o Operation) (any, error) {
	v := reflect.New(o.In)
	fields := map[string]jsonField{}
	for _, f := range jsonFields(o.In) {
		fields[f.name] = f
	}
	path := map[string]bool{}
	for _, p := range o.PathParams() {
		path[p] = true
	}
	if o.QueryInput() {
		if err := decodeQuery(r, v.Elem(), fields, path); err != nil {
			return nil, err
		}
	} else if err := decodeBody(w, r, v.Interface(), o.BodyLimit()); err != nil {
		return nil, err
	}
	for p := range path {
		v.Elem().FieldByIndex(fields[p].index).SetString(r.PathValue(p))
	}
	return v.Interface(), nil
}

func decodeBody(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge(limit)
		}
		return &Error{Status: http.StatusBadRequest, Code: problem.CodeValidation, Err: err}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	// A JSON content type keeps plain HTML forms (which cannot send one) out.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: problem.CodeUnsupportedMediaType}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("", "json", "validation.json.trailing", nil)
	}
	return nil
}

// jsonError turns a decoding failure into a field error that names the field.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	msg := err.Error()
	switch {
	case errors.As(err, &typeErr):
		return invalid(typeErr.Field, "type", "validation.json.type", map[string]any{"Type": jsonTypeName(typeErr.Type)})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "json", "validation.json.syntax", nil)
	case strings.HasPrefix(msg, "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(msg, "json: unknown field "))
		return invalid(name, "unknown", "validation.field.unknown", nil)
	}
	return invalid("", "json", "validation.json.syntax", nil)
}

func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint32, reflect.Uint64, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "object"
}

func decodeQuery(r *http.Request, v reflect.Value, fields map[string]jsonField, path map[string]bool) error {
	for name, vals := range r.URL.Query() {
		f, ok := fields[name]
		if !ok || path[name] {
			return invalid(name, "unknown", "validation.field.unknown", nil)
		}
		fv := v.FieldByIndex(f.index)
		if fv.Kind() == reflect.Slice {
			fv.Set(reflect.ValueOf(append([]string(nil), vals...)))
			continue
		}
		if len(vals) != 1 {
			return invalid(name, "repeated", "validation.field.repeated", nil)
		}
		if fv.Kind() == reflect.Pointer {
			fv.Set(reflect.New(fv.Type().Elem()))
			fv = fv.Elem()
		}
		s := vals[0]
		switch fv.Kind() {
		case reflect.String:
			fv.SetString(s)
		case reflect.Bool:
			b, err := strconv.ParseBool(s)
			if err != nil {
				return invalid(name, "type", "validation.json.type", map[string]any{"Type": "boolean"})
			}
			fv.SetBool(b)
		case reflect.Int, reflect.Int64:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || fv.OverflowInt(n) {
				return invalid(name, "type", "validation.json.type", map[string]any{"Type": "number"})
			}
			fv.SetInt(n)
		}
	}
	return nil
}

// tooLarge is the 413 of a body over limit bytes; its detail names the limit.
func tooLarge(limit int64) *Error {
	kib := limit >> 10
	if kib >= 1024 && kib%1024 == 0 {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: problem.CodePayloadTooLarge,
			Msg: "problem.PAYLOAD_TOO_LARGE.mib.detail", Data: map[string]any{"Size": int(kib >> 10)}}
	}
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: problem.CodePayloadTooLarge,
		Msg: "problem.PAYLOAD_TOO_LARGE.kib.detail", Data: map[string]any{"Size": int(kib)}}
}
