package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
)

// Stable problem codes.
const (
	CodeValidation           = "VALIDATION"
	CodeNotFound             = "NOT_FOUND"
	CodeUnauthenticated      = "UNAUTHENTICATED"
	CodeBadCredentials       = "BAD_CREDENTIALS"
	CodeForbidden            = "FORBIDDEN"
	CodeCSRF                 = "CSRF"
	CodeRateLimited          = "RATE_LIMITED"
	CodeConflict             = "CONFLICT"
	CodeUnsupported          = "UNSUPPORTED"
	CodeTooLarge             = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeInternal             = "INTERNAL"
	// CodeStorageFull: the disk holding the database is full; nothing was changed.
	CodeStorageFull = "STORAGE_FULL"
)

// Problem is an RFC 9457 problem document, the body of every console error.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Code   string       `json:"code"`
	Detail string       `json:"detail"`
	Fields []FieldError `json:"fields,omitempty"`
}

// FieldError says what is wrong with one input field.
type FieldError struct {
	Field  string `json:"field"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// Error is a console failure before localization: a status, a stable code, message ids for the
// detail and the field errors, and the cause (logged for INTERNAL, never shown).
type Error struct {
	Status     int
	Code       string
	Msg        string // message id of the detail; default problem.<Code>.detail
	Data       map[string]any
	Fields     []fieldErr
	RetryAfter time.Duration
	Err        error
}

type fieldErr struct {
	Field, Code, Msg string
	Data             map[string]any
}

func (e *Error) Error() string {
	s := e.Code
	if e.Msg != "" {
		s += " " + e.Msg
	}
	for _, f := range e.Fields {
		s += fmt.Sprintf(" [%s: %s]", f.Field, f.Code)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// invalid is a 400 VALIDATION error about one field.
func invalid(field, code, msg string, data map[string]any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeValidation,
		Fields: []fieldErr{{Field: field, Code: code, Msg: msg, Data: data}}}
}

func problemf(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Msg: msg}
}

var (
	errUnauthenticated = problemf(http.StatusUnauthorized, CodeUnauthenticated, "")
	errForbidden       = problemf(http.StatusForbidden, CodeForbidden, "")
	errCSRF            = problemf(http.StatusForbidden, CodeCSRF, "")
	errNotFound        = problemf(http.StatusNotFound, CodeNotFound, "")
)

// classify turns any error into an *Error: sentinel errors of the services map to codes and
// fields; anything else is INTERNAL.
func classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var rl *auth.RateLimitedError
	if errors.As(err, &rl) {
		return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited, Msg: "problem.RATE_LIMITED.login.detail",
			Data: map[string]any{"Count": int(rl.RetryAfter.Round(time.Minute).Minutes())}, RetryAfter: rl.RetryAfter}
	}
	for _, m := range sentinels {
		if errors.Is(err, m.err) {
			if m.field != "" {
				e := invalid(m.field, m.code, m.msg, m.data)
				if m.status != 0 {
					e.Status, e.Code = m.status, m.pcode
				}
				return e
			}
			return &Error{Status: m.status, Code: m.pcode, Msg: m.msg, Data: m.data}
		}
	}
	if store.IsFull(err) {
		return &Error{Status: http.StatusInsufficientStorage, Code: CodeStorageFull, Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeInternal, Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Err: err}
}

// sentinel maps a service error to a problem: with field set, a field error (status 400
// VALIDATION unless status and pcode say otherwise); else a whole-request problem.
type sentinel struct {
	err         error
	status      int
	pcode       string
	field, code string
	msg         string
	data        map[string]any
}

var sentinels = []sentinel{
	{err: keys.ErrNotFound, status: 404, pcode: CodeNotFound, msg: "problem.NOT_FOUND.key_id.detail"},
	{err: keys.ErrInvalidName, field: "name", code: "invalid", msg: "validation.key.name.invalid", data: map[string]any{"Count": 64}},
	{err: keys.ErrInvalidExpiry, field: "expires", code: "invalid", msg: "validation.key.expires.invalid"},
	{err: keys.ErrExpiryInPast, field: "expires", code: "past", msg: "validation.key.expires.past"},
	{err: keys.ErrInvalidStatus, field: "status", code: "invalid", msg: "validation.key.status.invalid"},
	{err: keys.ErrInvalidCursor, field: "cursor", code: "invalid", msg: "validation.cursor.invalid"},
	{err: keys.ErrInvalidGrace, field: "graceSeconds", code: "range", msg: "validation.key.grace.range", data: map[string]any{"Count": 30}},
	{err: keys.ErrInvalidRateLimit, field: "rateLimit", code: "range", msg: "validation.key.rate_limit.range"},
	{err: keys.ErrRevoked, status: 409, pcode: CodeConflict, msg: "problem.CONFLICT.key_revoked.detail"},
	{err: orgs.ErrNotFound, status: 404, pcode: CodeNotFound, msg: "problem.NOT_FOUND.org.detail"},
	{err: orgs.ErrInvalidName, field: "name", code: "invalid", msg: "validation.org.name.invalid", data: map[string]any{"Count": 64}},
	{err: auth.ErrInvalidEmail, field: "email", code: "invalid", msg: "validation.email.invalid"},
	{err: auth.ErrInvalidPassword, field: "password", code: "length", msg: "validation.password.length",
		data: map[string]any{"Count": auth.MinPasswordLen, "Max": auth.MaxPasswordLen}},
	{err: auth.ErrInvalidName, field: "name", code: "invalid", msg: "validation.user.name.invalid", data: map[string]any{"Count": 64}},
	{err: auth.ErrInvalidRole, field: "role", code: "invalid", msg: "validation.role.invalid"},
	{err: auth.ErrInvalidTheme, field: "theme", code: "invalid", msg: "validation.theme.invalid"},
	{err: auth.ErrEmailTaken, status: 409, pcode: CodeConflict, field: "email", code: "taken", msg: "validation.email.taken"},
	{err: auth.ErrUserNotFound, status: 404, pcode: CodeNotFound, msg: "problem.NOT_FOUND.user.detail"},
	{err: auth.ErrNotMember, status: 404, pcode: CodeNotFound, msg: "problem.NOT_FOUND.member.detail"},
	{err: auth.ErrAlreadyMember, status: 409, pcode: CodeConflict, msg: "problem.CONFLICT.already_member.detail"},
	{err: auth.ErrLastAdmin, status: 409, pcode: CodeConflict, msg: "problem.CONFLICT.last_admin.detail"},
	{err: auth.ErrBadCredentials, status: 401, pcode: CodeBadCredentials, msg: "problem.BAD_CREDENTIALS.detail"},
	{err: auth.ErrSetupToken, field: "token", code: "invalid", msg: "validation.setup.token.invalid"},
	{err: auth.ErrSetupDone, status: 409, pcode: CodeConflict, msg: "problem.CONFLICT.setup_done.detail"},
	{err: routes.ErrNotFound, status: 404, pcode: CodeNotFound, msg: "problem.NOT_FOUND.route.detail"},
	{err: routes.ErrDuplicatePrefix, status: 409, pcode: CodeConflict, field: "prefix", code: "taken", msg: "validation.route.prefix.taken"},
	{err: routes.ErrInvalidPrefix, field: "prefix", code: "invalid", msg: "validation.route.prefix.invalid"},
	{err: routes.ErrInvalidUpstream, field: "upstream", code: "invalid", msg: "validation.route.upstream.invalid"},
	{err: routes.ErrInvalidQueryParam, field: "queryKeyParam", code: "invalid", msg: "validation.route.query_param.invalid"},
	{err: routes.ErrInvalidBodyLimit, field: "maxBodyBytes", code: "range", msg: "validation.route.body_limit.invalid"},
	{err: routes.ErrInvalidOpenAPISource, field: "openapiSource", code: "invalid", msg: "validation.route.openapi_source.invalid"},
	{err: routes.ErrUnknownOrg, field: "orgId", code: "unknown", msg: "validation.route.org.unknown"},
	{err: routes.ErrInvalidOrigin, field: "allowedOrigins", code: "invalid", msg: "validation.settings.origin.invalid"},
	{err: routes.ErrInvalidTimeout, field: "upstreamTimeoutSeconds", code: "range", msg: "validation.settings.timeout.range"},
}

// Translator localizes message ids; *i18n.Bundle satisfies it.
type Translator interface {
	T(lang, id string, data map[string]any) string
}

// problem renders e in the language lang.
func (e *Error) problem(tr Translator, lang string) Problem {
	msg := e.Msg
	if msg == "" {
		msg = "problem." + e.Code + ".detail"
	}
	p := Problem{
		Type:   "about:blank",
		Title:  tr.T(lang, "problem."+e.Code+".title", nil),
		Status: e.Status,
		Code:   e.Code,
		Detail: tr.T(lang, msg, e.Data),
	}
	for _, f := range e.Fields {
		p.Fields = append(p.Fields, FieldError{Field: f.Field, Code: f.Code, Detail: tr.T(lang, f.Msg, f.Data)})
	}
	return p
}

func writeProblem(w http.ResponseWriter, p Problem, retryAfter time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// ProblemError is what the desktop binding returns: its Error() is the problem document as
// JSON, so the frontend's desktop transport parses the same object the HTTP one receives.
type ProblemError struct{ Problem Problem }

func (e *ProblemError) Error() string {
	b, _ := json.Marshal(e.Problem)
	return string(b)
}
