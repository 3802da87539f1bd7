package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Code is the stable machine-readable reason in a gateway error answer.
type Code string

// The gateway's error codes. They are part of Keygate's API: never rename one.
const (
	CodeMissingCredential   Code = "MISSING_CREDENTIAL"
	CodeMalformed           Code = "MALFORMED"
	CodeNotFound            Code = "NOT_FOUND"
	CodeExpired             Code = "EXPIRED"
	CodeRevoked             Code = "REVOKED"
	CodeForbidden           Code = "FORBIDDEN"
	CodeRateLimited         Code = "RATE_LIMITED"
	CodeUpstreamTimeout     Code = "UPSTREAM_TIMEOUT"
	CodeUpstreamUnavailable Code = "UPSTREAM_UNAVAILABLE"
	CodePayloadTooLarge     Code = "PAYLOAD_TOO_LARGE"
	CodeNoRoute             Code = "NO_ROUTE"
	CodeInvalidPath         Code = "INVALID_PATH"
	CodeOriginNotAllowed    Code = "ORIGIN_NOT_ALLOWED"
	CodeInternal            Code = "INTERNAL"
	// CodeClientClosed is only logged (as status 499): the caller left before the answer.
	CodeClientClosed Code = "CLIENT_CLOSED"
)

// Problem is an RFC 9457 problem document as the gateway writes it.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   Code   `json:"code"`
	Detail string `json:"detail"`
}

type problem struct {
	status int
	code   Code
	body   []byte
	length []string
}

var problems = map[Code]*problem{}

func init() {
	for _, p := range []struct {
		status int
		code   Code
		detail string
	}{
		{401, CodeMissingCredential, "This API needs a key: send it in the x-api-key header or as Authorization: Bearer <key>."},
		{401, CodeMalformed, "The credential is not a well-formed Keygate key."},
		{401, CodeNotFound, "The key is not known."},
		{401, CodeExpired, "The key has expired."},
		{401, CodeRevoked, "The key has been revoked."},
		{403, CodeForbidden, "The key belongs to an organization this route does not serve."},
		{429, CodeRateLimited, "Too many requests: wait for the time in Retry-After and try again."},
		{504, CodeUpstreamTimeout, "The upstream did not answer in time."},
		{502, CodeUpstreamUnavailable, "The upstream could not be reached."},
		{413, CodePayloadTooLarge, "The request body is larger than this route allows."},
		{404, CodeNoRoute, "No route serves this path."},
		{400, CodeInvalidPath, "The request path must be clean: no . or .. segments and no empty segments."},
		{403, CodeOriginNotAllowed, "This origin is not allowed to call the API from a browser."},
		{500, CodeInternal, "The gateway could not check the credential; try again."},
	} {
		b, err := json.Marshal(Problem{Type: "about:blank", Title: http.StatusText(p.status), Status: p.status,
			Code: p.code, Detail: p.detail})
		if err != nil {
			panic(err)
		}
		problems[p.code] = &problem{status: p.status, code: p.code, body: b, length: []string{strconv.Itoa(len(b))}}
	}
}

var (
	hdrProblemJSON  = []string{"application/problem+json"}
	hdrNoSniff      = []string{"nosniff"}
	hdrNoStore      = []string{"no-store"}
	hdrAuthenticate = []string{`ApiKey header="x-api-key", Bearer realm="keygate"`}
)

// writeProblem answers with the prebuilt problem for code: no encoding on the request path.
func writeProblem(w http.ResponseWriter, code Code) {
	p := problems[code]
	h := w.Header()
	h["Content-Type"] = hdrProblemJSON
	h["Content-Length"] = p.length
	h["X-Content-Type-Options"] = hdrNoSniff
	h["Cache-Control"] = hdrNoStore
	if p.status == http.StatusUnauthorized {
		h["Www-Authenticate"] = hdrAuthenticate
	}
	w.WriteHeader(p.status)
	w.Write(p.body)
}

// StatusOf returns the HTTP status the gateway answers with for code (0 for unknown codes).
func StatusOf(code Code) int {
	if p := problems[code]; p != nil {
		return p.status
	}
	return 0
}
