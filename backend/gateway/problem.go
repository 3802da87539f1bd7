package gateway

import (
	"net/http"
	"strconv"

	"github.com/keygate/keygate/backend/problem"
	"github.com/valyala/fasthttp"
)

// Code is the stable machine-readable reason in a gateway error answer (backend/problem owns
// the codes).
type Code = problem.Code

// The gateway's error codes. They are part of Keygate's API: never rename one.
const (
	CodeMissingCredential   = problem.CodeMissingCredential
	CodeMalformed           = problem.CodeMalformed
	CodeNotFound            = problem.CodeNotFound
	CodeExpired             = problem.CodeExpired
	CodeRevoked             = problem.CodeRevoked
	CodeForbidden           = problem.CodeForbidden
	CodeRateLimited         = problem.CodeRateLimited
	CodeUpstreamTimeout     = problem.CodeUpstreamTimeout
	CodeUpstreamUnavailable = problem.CodeUpstreamUnavailable
	CodePayloadTooLarge     = problem.CodePayloadTooLarge
	CodeNoRoute             = problem.CodeNoRoute
	CodeInvalidPath         = problem.CodeInvalidPath
	CodeOriginNotAllowed    = problem.CodeOriginNotAllowed
	CodeDisabled            = problem.CodeDisabled
	CodeIPNotAllowed        = problem.CodeIPNotAllowed
	CodeQuotaExceeded       = problem.CodeQuotaExceeded
	CodeInternal            = problem.CodeInternal
	// CodeStoreUnavailable: the database cannot be reached and the key was not verified recently.
	CodeStoreUnavailable = problem.CodeStoreUnavailable
	CodeUnknownHost      = problem.CodeUnknownHost
	// CodeMalformedRequest is a request head the gateway refuses to interpret.
	CodeMalformedRequest = problem.CodeMalformedRequest
	// CodeAmbiguousPath: the path reads as another, guarded route's when read loosely (400).
	CodeAmbiguousPath = problem.CodeAmbiguousPath
	// CodeMalformedBody: a multipart body the gateway had to read for a _method field and
	// could not take apart (400).
	CodeMalformedBody = problem.CodeMalformedBody
	// CodeHeadersTooLarge: the request head is over the header limit (431).
	CodeHeadersTooLarge = problem.CodeHeadersTooLarge
	// CodeRequestTimeout: the client did not send its request head in time (408).
	CodeRequestTimeout = problem.CodeRequestTimeout
	// CodeClientClosed is only logged (as status 499): the caller left before the answer.
	CodeClientClosed = problem.CodeClientClosed
)

// Problem is an RFC 9457 problem document as the gateway writes it.
type Problem = problem.Problem

// problems are the gateway's answers, rendered once at start-up: no encoding on the request
// path.
var problems = map[Code]*problem.Prebuilt{}

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
		{403, CodeDisabled, "The key is disabled for now."},
		{403, CodeIPNotAllowed, "The key may not be used from this IP address."},
		{429, CodeQuotaExceeded, "The key has used all the requests of its quota."},
		{429, CodeRateLimited, "Too many requests: wait for the time in Retry-After and try again."},
		{504, CodeUpstreamTimeout, "The upstream did not answer in time."},
		{502, CodeUpstreamUnavailable, "The upstream could not be reached."},
		{413, CodePayloadTooLarge, "The request body is larger than this route allows."},
		{404, CodeNoRoute, "No route serves this path."},
		{400, CodeInvalidPath, "The request path must be clean: no . or .. segments (also percent-encoded or followed by ;), no empty segments, no backslash and no control characters."},
		{403, CodeOriginNotAllowed, "This origin is not allowed to call the API from a browser."},
		{500, CodeInternal, "The gateway could not check the credential; try again."},
		{503, CodeStoreUnavailable, "The gateway cannot reach its database to check this credential; try again shortly."},
		{421, CodeUnknownHost, "This gateway listens on loopback and answers only its own host names."},
		{400, CodeMalformedRequest, "The request is not unambiguous HTTP/1.1: check its line endings, header lines, Content-Length and Transfer-Encoding."},
		{400, CodeAmbiguousPath, "The path matches another route's prefix when letter case, percent-escapes, ';' parameters or an extension are ignored, as some upstreams read paths; write it as that route's prefix is written."},
		{400, CodeMalformedBody, "The request body could not be read as the multipart form its Content-Type names; this route reads a form's _method field, because its operations need scopes that depend on the method."},
		{431, CodeHeadersTooLarge, "The request head (request line and headers) is larger than this gateway accepts."},
		{408, CodeRequestTimeout, "The request head did not arrive in time."},
		{403, CodeInsufficientScope, "The key lacks a scope this operation requires."}, // the answer names it (scopes.go)
	} {
		problems[p.code] = problem.Prebuild(problem.New(p.status, p.code, p.detail))
	}
}

var hdrAuthenticate = []string{`ApiKey header="x-api-key", Bearer realm="keygate"`}

// writeProblem answers with the prebuilt problem for code.
func writeProblem(w http.ResponseWriter, code Code) {
	p := problems[code]
	if p.Problem.Status == http.StatusUnauthorized {
		w.Header()["Www-Authenticate"] = hdrAuthenticate
	}
	p.Write(w)
}

// StatusOf returns the HTTP status the gateway answers with for code (0 for unknown codes).
func StatusOf(code Code) int {
	if p := problems[code]; p != nil {
		return p.Problem.Status
	}
	return 0
}

// writeProblemFast answers with the prebuilt problem for code.
func writeProblemFast(resp *fasthttp.Response, code Code) {
	p := problems[code]
	resp.SetStatusCode(p.Problem.Status)
	resp.Header.SetContentType(problem.ContentType)
	setCanonical(&resp.Header, hnContentTypeOpts, "nosniff")
	setCanonical(&resp.Header, hnCacheControl, "no-store")
	if p.Problem.Status == http.StatusUnauthorized {
		setCanonical(&resp.Header, hnWWWAuthenticate, hdrAuthenticate[0])
	}
	resp.SetBodyRaw(p.Body)
}

// appendProblem appends the answer with code's prebuilt problem (writeProblemFast's, with the
// headers every answer to st carries; none without st) to dst: date is the Date line; a HEAD
// request gets the body's length without the body; closing adds Connection: close.
func appendProblem(dst []byte, code Code, st *reqState, date []byte, head, closing bool) []byte {
	p := problems[code]
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(p.Problem.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, fasthttp.StatusMessage(p.Problem.Status)...)
	dst = append(dst, "\r\n"...)
	dst = append(dst, date...)
	dst = append(dst, "Content-Type: "+problem.ContentType+"\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"...)
	if p.Problem.Status == http.StatusUnauthorized {
		dst = appendHeader(dst, hnWWWAuthenticate, hdrAuthenticate[0])
	}
	if st != nil {
		var num answerNumbers
		hs, n := answerHeaders(st, &num)
		for _, hv := range hs[:n] {
			dst = appendHeader(dst, hv.name, hv.value)
		}
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(p.Body)), 10)
	dst = append(dst, "\r\n"...)
	if closing {
		dst = append(dst, "Connection: close\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if head {
		return dst
	}
	return append(dst, p.Body...)
}
