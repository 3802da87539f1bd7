package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
)

// methodparam.go: the method a request names in a _method parameter or form field. Frameworks
// run that method instead of the request's own: Rails (Rack::MethodOverride: the POST form's
// _method, also a POST without a Content-Type), Laravel and Symfony with
// http_method_parameter_override (the body's _method, else the query's; Laravel reads a JSON
// body as the body), Express's method-override with a getter (query or body), Scalatra, ASP.NET
// Core's UseHttpMethodOverride with a form field. On a route whose scopes depend on the method
// (routes.ScopeMatcher.MethodDependent) the scope check asks for that method's scopes too.
//
// The reading is as lenient as the most lenient of them, so that no spelling one of them takes
// is missed: any method (the frameworks honour it on POST only), every value of a repeated
// field, names as PHP reads them (percent-escapes and '+' decoded, leading spaces dropped, ' ',
// '.' or an unclosed '[' read as '_', "_method[]" and "_method[x]" as _method), any case of
// the name and the value.

// methodParam is the parameter's name.
const methodParam = "_method"

// maxMethodValue bounds a value read as a method: a longer one names no method an operation
// declares (OpenAPI's are at most 7 letters), with room for blanks around it.
const maxMethodValue = 64

// isMethodParam reports whether a parameter name, as sent (escaped), is _method as some
// framework reads it.
func isMethodParam(raw string) bool {
	if len(raw) < len(methodParam) {
		return false
	}
	name := raw
	if strings.ContainsAny(raw, "%+") {
		name = formUnescape(raw)
	}
	name = strings.TrimLeft(name, " ")
	if i := strings.IndexByte(name, '['); i > 0 && strings.IndexByte(name[i:], ']') > 0 {
		name = name[:i] // _method[] or _method[x]: PHP, qs and Rack read the array's items
	}
	if len(name) != len(methodParam) {
		return false
	}
	switch name[0] {
	case '_', '.', ' ', '[': // PHP reads ' ', '.' and an unclosed '[' in a name as '_'
	default:
		return false
	}
	return strings.EqualFold(name[1:], methodParam[1:])
}

// formUnescape decodes an application/x-www-form-urlencoded name or value as PHP does: '+' is a
// space, %XX a byte, and a '%' that starts no escape stays as it is (nothing is refused).
func formUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// urlencodedMethods appends to dst the value of every _method pair of a query string or an
// urlencoded body (pairs split at '&', and at ';' as older parsers did). It allocates only for
// a name or value that holds an escape.
func urlencodedMethods(dst []string, q string) []string {
	for q != "" {
		var pair string
		if i := strings.IndexAny(q, "&;"); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			pair, q = q, ""
		}
		name, value, _ := strings.Cut(pair, "=")
		if isMethodParam(name) {
			dst = appendMethod(dst, formUnescape(value))
		}
	}
	return dst
}

// appendMethod appends v to dst when it could name a method.
func appendMethod(dst []string, v string) []string {
	if v = strings.TrimSpace(v); v != "" && len(v) <= maxMethodValue {
		dst = append(dst, v)
	}
	return dst
}

// bodyKind is how a framework would read a request body for a _method field.
type bodyKind uint8

const (
	bodyNone bodyKind = iota
	bodyURLEncoded
	bodyMultipart
	bodyJSON
)

// bodyKindOf tells how contentType's body is read for a _method field: urlencoded (also a POST
// without a Content-Type, which Rack reads as a form), multipart (form-data, and the mixed and
// related types Rack also parses) or JSON (any type holding "/json" or "+json", which Laravel
// reads as its input).
func bodyKindOf(method, contentType string) bodyKind {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == "":
		if strings.EqualFold(method, "POST") {
			return bodyURLEncoded
		}
	case mt == "application/x-www-form-urlencoded":
		return bodyURLEncoded
	case mt == "multipart/form-data", mt == "multipart/mixed", mt == "multipart/related":
		return bodyMultipart
	case strings.Contains(mt, "/json"), strings.Contains(mt, "+json"):
		return bodyJSON
	}
	return bodyNone
}

// errFormBody is a multipart body the gateway cannot take apart.
var errFormBody = errors.New("multipart body cannot be read")

// bodyMethods appends to dst the _method values of a body of the given kind. Only a multipart
// body can be refused (errFormBody): a urlencoded body always has a reading, and a JSON body
// that is not an object names no method for Laravel either.
func bodyMethods(dst []string, kind bodyKind, contentType string, body []byte) ([]string, error) {
	switch kind {
	case bodyURLEncoded:
		return urlencodedMethods(dst, b2s(body)), nil
	case bodyJSON:
		return jsonMethods(dst, body), nil
	case bodyMultipart:
		return multipartMethods(dst, contentType, body)
	}
	return dst, nil
}

// jsonMethods appends the string values of the top-level "_method" members of a JSON object
// (every one, if repeated). Bodies that cannot name one are skipped without decoding.
func jsonMethods(dst []string, body []byte) []string {
	if !bytes.Contains(body, []byte("method")) && !bytes.Contains(body, []byte(`\u`)) {
		return dst
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return dst
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return dst
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return dst
		}
		if name, _ := k.(string); strings.EqualFold(name, methodParam) {
			var s string
			var list []string
			switch {
			case json.Unmarshal(v, &s) == nil:
				dst = appendMethod(dst, s)
			case json.Unmarshal(v, &list) == nil:
				for _, s := range list {
					dst = appendMethod(dst, s)
				}
			}
		}
	}
	return dst
}

// multipartMethods appends the values of the parts named _method of a multipart body. A body
// that cannot be read to its end — no boundary, a broken part, a Content-Disposition that does
// not parse — is errFormBody: another parser could find a _method part in it.
func multipartMethods(dst []string, contentType string, body []byte) ([]string, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return dst, errFormBody
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, errFormBody
		}
		named := false
		for _, cd := range p.Header.Values("Content-Disposition") {
			_, dp, err := mime.ParseMediaType(cd)
			if err != nil {
				return dst, errFormBody
			}
			// PHP's parser also strips single quotes (name='_method'), which Go keeps.
			if isMethodParam(strings.Trim(dp["name"], `'" `)) {
				named = true
			}
		}
		if named {
			v, err := io.ReadAll(io.LimitReader(p, maxMethodValue+1))
			if err != nil {
				return dst, errFormBody
			}
			dst = appendMethod(dst, string(v))
		}
	}
}
