// Package learn learns an API from the traffic the gateway forwards: each exchange of a route
// that learns is reduced to its shape (method, path template, query parameter names and value
// types, header names, content types, JSON structure and types, status) — never to its values —
// merged per operation, kept in the store, and turned into an OpenAPI 3.0.3 document.
//
// The package does not import the gateway: the gateway hands it plain Observations through a
// one-method interface, so any HTTP engine can feed it.
package learn

import "strings"

// MaxBody is how many bytes of a request or response body an observation carries; a longer
// body is not shaped (its media type still is).
const MaxBody = 64 << 10

// Observation is one exchange as the gateway saw it. It holds values (the path, the query, the
// bodies) only until the learner's worker reduces it to a shape, which happens first thing and
// in memory; nothing of an Observation but its shape is kept.
type Observation struct {
	// RouteID is the route the request matched.
	RouteID string
	Method  string
	// Path is the path as the upstream's base sees it (see UpstreamPath), decoded.
	Path string
	// RawQuery is the query string without the route's key parameter.
	RawQuery string
	// HeaderNames are the request's header names (values are never taken).
	HeaderNames []string
	// RequestType and ResponseType are Content-Type header values ("" when absent).
	RequestType  string
	ResponseType string
	// RequestBody and ResponseBody are the bodies' first bytes, at most MaxBody each;
	// Truncated says a body was longer (it is then not shaped).
	RequestBody       []byte
	ResponseBody      []byte
	RequestTruncated  bool
	ResponseTruncated bool
	// RequestHasBody is true when the request carried a body, even one not captured.
	RequestHasBody bool
	Status         int
}

// UpstreamPath is the path relative to the route's upstream base URL: the gateway path
// without the route prefix when the route strips it, else the gateway path.
func UpstreamPath(path, prefix string, strip bool) string {
	if !strip || prefix == "/" || prefix == "" {
		return path
	}
	rest := strings.TrimPrefix(path, prefix)
	if rest == "" || rest[0] != '/' {
		rest = "/" + rest
	}
	return rest
}

// WantsBody reports whether a body of this Content-Type is worth capturing: JSON only (the
// learner shapes nothing else), so other bodies cost the gateway nothing.
func WantsBody(contentType string) bool {
	mt := mediaType(contentType)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// mediaType is the lowercased type/subtype of a Content-Type value, "" when it has none, and
// application/octet-stream when it is not a plain token/token.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	if ct == "" {
		return ""
	}
	typ, sub, ok := strings.Cut(ct, "/")
	if !ok || !token(typ) || !token(sub) || len(ct) > 100 {
		return "application/octet-stream"
	}
	return ct
}

func token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&-^_.+", c) >= 0) {
			return false
		}
	}
	return true
}
