// Package problem is Keygate's one owner of error answers: the RFC 9457 problem document
// (application/problem+json) that the console, the gateway and request validation write, its
// stable codes, and the typed input error (Invalid) that domain packages return so every edge
// can name the failing field without repeating the rule that refused it.
//
// Writing is engine-independent: Write serves net/http, and Problem.Body with
// Problem.EachHeader (or a Prebuilt) give the bytes and headers to any other HTTP engine.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// ContentType is the media type of every Keygate error body.
const ContentType = "application/problem+json"

// TypeBlank is the problem type of every Keygate problem: the code says what happened.
const TypeBlank = "about:blank"

// Code is the stable, machine-readable reason of a problem. Codes are part of Keygate's API:
// never rename one.
type Code string

// Codes shared by the console and the gateway.
const (
	CodeValidation      Code = "VALIDATION"        // 400: the input is not valid (see Fields)
	CodeNotFound        Code = "NOT_FOUND"         // 404 console; 401 gateway (unknown key)
	CodeForbidden       Code = "FORBIDDEN"         // 403
	CodeRateLimited     Code = "RATE_LIMITED"      // 429, with Retry-After
	CodePayloadTooLarge Code = "PAYLOAD_TOO_LARGE" // 413
	CodeInternal        Code = "INTERNAL"          // 500: the server failed, not the caller
)

// Console codes.
const (
	CodeUnauthenticated      Code = "UNAUTHENTICATED"        // 401: no valid session
	CodeBadCredentials       Code = "BAD_CREDENTIALS"        // 401: wrong e-mail or password
	CodeCSRF                 Code = "CSRF"                   // 403: cross-site or no CSRF token
	CodeConflict             Code = "CONFLICT"               // 409
	CodeUnsupported          Code = "UNSUPPORTED"            // 404: not in this mode
	CodeUnsupportedMediaType Code = "UNSUPPORTED_MEDIA_TYPE" // 415
	CodeMethodNotAllowed     Code = "METHOD_NOT_ALLOWED"     // 405, with Allow
	CodeUnknownHost          Code = "UNKNOWN_HOST"           // 421: Host not one the console or a loopback gateway answers
	CodeStorageFull          Code = "STORAGE_FULL"           // 507: the disk is full
	CodeUnavailable          Code = "UNAVAILABLE"            // 503: shutting down or timed out
	CodeStoreUnavailable     Code = "STORE_UNAVAILABLE"      // 503: the database cannot be reached (console and gateway)
)

// Gateway codes.
const (
	CodeMissingCredential   Code = "MISSING_CREDENTIAL"   // 401
	CodeMalformed           Code = "MALFORMED"            // 401
	CodeExpired             Code = "EXPIRED"              // 401
	CodeRevoked             Code = "REVOKED"              // 401
	CodeOriginNotAllowed    Code = "ORIGIN_NOT_ALLOWED"   // 403
	CodeDisabled            Code = "DISABLED"             // 403: the key is turned off for now
	CodeIPNotAllowed        Code = "IP_NOT_ALLOWED"       // 403: the client address is not on the key's allowlist
	CodeQuotaExceeded       Code = "QUOTA_EXCEEDED"       // 429: the key's quota is used up
	CodeNoRoute             Code = "NO_ROUTE"             // 404
	CodeInvalidPath         Code = "INVALID_PATH"         // 400
	CodeUpstreamTimeout     Code = "UPSTREAM_TIMEOUT"     // 504
	CodeUpstreamUnavailable Code = "UPSTREAM_UNAVAILABLE" // 502
	// CodeMalformedRequest (400) is a request head the gateway refuses to interpret: ambiguous
	// framing (two lengths, a Transfer-Encoding other than chunked), bare LF, folded or
	// malformed lines.
	CodeMalformedRequest Code = "MALFORMED_REQUEST"
	// CodeAmbiguousPath (400) is a path that matches one route as written and, read as
	// lenient upstreams read paths (letter case, escapes, ';' parameters, an extension),
	// another route that asks for more.
	CodeAmbiguousPath Code = "AMBIGUOUS_PATH"
	// CodeMalformedBody (400) is a request body the gateway had to read and could not: a
	// multipart form it cannot take apart, on a route whose scopes depend on the method, where
	// a _method field would name another operation.
	CodeMalformedBody Code = "MALFORMED_BODY"
	// CodeHeadersTooLarge (431) is a request head over the gateway's header limit.
	CodeHeadersTooLarge Code = "HEADERS_TOO_LARGE"
	// CodeRequestTimeout (408) is a client too slow to send its request head.
	CodeRequestTimeout Code = "REQUEST_TIMEOUT"
	// CodeInsufficientScope (403) is a key without a scope the route's operation requires;
	// the detail and WWW-Authenticate name the scope.
	CodeInsufficientScope Code = "INSUFFICIENT_SCOPE"
	// CodeClientClosed is only logged (as status 499): the caller left before the answer.
	CodeClientClosed Code = "CLIENT_CLOSED"
)

// Problem is an RFC 9457 problem document: the body of every Keygate error answer.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   Code   `json:"code"`
	Detail string `json:"detail"`
	// Fields name the failing inputs of a VALIDATION problem.
	Fields []Field `json:"fields,omitempty"`
	// RetryAfter, when positive, is sent as the Retry-After header in whole seconds (rounded
	// up); it is not part of the body.
	RetryAfter time.Duration `json:"-"`
}

// Field says what is wrong with one input field.
type Field struct {
	// Field is the input's name as the API spells it ("name", "limit"); "" for the input as a
	// whole (e.g. a body that is not JSON).
	Field  string `json:"field"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// New returns a problem of type about:blank whose title is the status text.
func New(status int, code Code, detail string) Problem {
	return Problem{Type: TypeBlank, Title: http.StatusText(status), Status: status, Code: code, Detail: detail}
}

// Body is the JSON document, newline-terminated.
func (p Problem) Body() []byte {
	if p.Type == "" {
		p.Type = TypeBlank
	}
	b, err := json.Marshal(p)
	if err != nil {
		// A Problem holds only strings and ints: Marshal cannot fail. Keep the answer valid
		// problem+json anyway.
		b, _ = json.Marshal(New(http.StatusInternalServerError, CodeInternal, ""))
	}
	return append(b, '\n')
}

// EachHeader calls set for every header a problem answer carries besides Content-Length:
// the content type, no caching, no sniffing and, for a RetryAfter, Retry-After. An engine
// other than net/http writes a problem as EachHeader, the status and Body.
func (p Problem) EachHeader(set func(name, value string)) {
	set("Content-Type", ContentType)
	set("Cache-Control", "no-store")
	set("X-Content-Type-Options", "nosniff")
	if p.RetryAfter > 0 {
		set("Retry-After", RetryAfterSeconds(p.RetryAfter))
	}
}

// RetryAfterSeconds renders d as a Retry-After value: whole seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// Write answers with p.
func Write(w http.ResponseWriter, p Problem) {
	body := p.Body()
	h := w.Header()
	p.EachHeader(h.Set)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(p.Status)
	w.Write(body)
}

// Prebuilt is a problem rendered once, for answers on a hot path (the gateway's 401s): no
// encoding and no header allocation per request.
type Prebuilt struct {
	Problem Problem
	Body    []byte
	// Length is len(Body) in decimal, for Content-Length.
	Length string

	length []string
}

// Prebuild renders p for repeated use. p.RetryAfter is ignored: a Retry-After differs per
// answer.
func Prebuild(p Problem) *Prebuilt {
	p.RetryAfter = 0
	body := p.Body()
	n := strconv.Itoa(len(body))
	return &Prebuilt{Problem: p, Body: body, Length: n, length: []string{n}}
}

var (
	hdrContentType = []string{ContentType}
	hdrNoSniff     = []string{"nosniff"}
	hdrNoStore     = []string{"no-store"}
)

// SetHeaders sets the problem headers (with Content-Length) on h without allocating.
func (b *Prebuilt) SetHeaders(h http.Header) {
	h["Content-Type"] = hdrContentType
	h["Content-Length"] = b.length
	h["X-Content-Type-Options"] = hdrNoSniff
	h["Cache-Control"] = hdrNoStore
}

// Write answers with the prebuilt problem.
func (b *Prebuilt) Write(w http.ResponseWriter) {
	b.SetHeaders(w.Header())
	w.WriteHeader(b.Problem.Status)
	w.Write(b.Body)
}
