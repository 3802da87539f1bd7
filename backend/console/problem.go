package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/learn"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/webhooks"
)

// Error is a console failure before localization: a status, a stable code, message ids for the
// detail and the field errors, and the cause (logged for INTERNAL, never shown).
type Error struct {
	Status     int
	Code       problem.Code
	Msg        string // message id of the detail; default problem.<Code>.detail
	Data       map[string]any
	Fields     []*problem.Invalid
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	s := string(e.Code)
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

// invalid is a 400 VALIDATION error about one field, for rules that belong to the console
// itself (how the HTTP request is shaped); rules about the data live in the domain packages.
func invalid(field, code, msg string, data map[string]any) *Error {
	return validation(&problem.Invalid{Field: field, Code: code, Msg: msg, Data: data})
}

// validation is a 400 VALIDATION error naming the failing fields.
func validation(fields ...*problem.Invalid) *Error {
	return &Error{Status: http.StatusBadRequest, Code: problem.CodeValidation, Fields: fields}
}

func problemf(status int, code problem.Code, msg string) *Error {
	return &Error{Status: status, Code: code, Msg: msg}
}

var (
	errUnauthenticated = problemf(http.StatusUnauthorized, problem.CodeUnauthenticated, "")
	errForbidden       = problemf(http.StatusForbidden, problem.CodeForbidden, "")
	errCSRF            = problemf(http.StatusForbidden, problem.CodeCSRF, "")
	errNotFound        = problemf(http.StatusNotFound, problem.CodeNotFound, "")
)

// classify turns any error into an *Error: an input error of a domain package (a
// *problem.Invalid) is 400 VALIDATION naming its fields; the sentinel errors of the services
// map to their codes; anything else is the server's own failure, INTERNAL.
func classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var rl *auth.RateLimitedError
	if errors.As(err, &rl) {
		return &Error{Status: http.StatusTooManyRequests, Code: problem.CodeRateLimited, Msg: "problem.RATE_LIMITED.login.detail",
			Data: map[string]any{"Count": int(rl.RetryAfter.Round(time.Minute).Minutes())}, RetryAfter: rl.RetryAfter}
	}
	for _, m := range sentinels {
		if errors.Is(err, m.err) {
			e := &Error{Status: m.status, Code: m.code, Msg: m.msg}
			if m.field != "" {
				e.Msg = ""
				e.Fields = []*problem.Invalid{{Field: m.field, Code: m.fieldCode, Msg: m.msg}}
			}
			return e
		}
	}
	if inv := problem.Invalids(err); len(inv) > 0 {
		return validation(inv...)
	}
	if store.IsFull(err) {
		return &Error{Status: http.StatusInsufficientStorage, Code: problem.CodeStorageFull, Err: err}
	}
	if store.IsUnavailable(err) {
		return &Error{Status: http.StatusServiceUnavailable, Code: problem.CodeStoreUnavailable, Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: http.StatusServiceUnavailable, Code: problem.CodeInternal, Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: problem.CodeInternal, Err: err}
}

// sentinel maps a service error that is not about the input's shape (a missing item, a clash
// with the current state) to a problem; with field set, the problem names that field too.
type sentinel struct {
	err       error
	status    int
	code      problem.Code
	field     string
	fieldCode string
	msg       string
}

var sentinels = []sentinel{
	{err: keys.ErrNotFound, status: 404, code: problem.CodeNotFound, msg: "problem.NOT_FOUND.key_id.detail"},
	{err: keys.ErrRevoked, status: 409, code: problem.CodeConflict, msg: "problem.CONFLICT.key_revoked.detail"},
	{err: keys.ErrExpired, status: 409, code: problem.CodeConflict, msg: "problem.CONFLICT.key_expired.detail"},
	{err: orgs.ErrNotFound, status: 404, code: problem.CodeNotFound, msg: "problem.NOT_FOUND.org.detail"},
	{err: auth.ErrEmailTaken, status: 409, code: problem.CodeConflict, field: "email", fieldCode: "taken", msg: "validation.email.taken"},
	{err: auth.ErrUserNotFound, status: 404, code: problem.CodeNotFound, msg: "problem.NOT_FOUND.user.detail"},
	{err: auth.ErrNotMember, status: 404, code: problem.CodeNotFound, msg: "problem.NOT_FOUND.member.detail"},
	{err: auth.ErrInvitationNotFound, status: 404, code: problem.CodeNotFound, msg: "problem.NOT_FOUND.invitation.detail"},
	{err: auth.ErrAlreadyMember, status: 409, code: problem.CodeConflict, msg: "problem.CONFLICT.already_member.detail"},
	{err: auth.ErrLastAdmin, status: 409, code: problem.CodeConflict, msg: "problem.CONFLICT.last_admin.detail"},
	{err: auth.ErrBadCredentials, status: 401, code: problem.CodeBadCredentials, msg: "problem.BAD_CREDENTIALS.detail"},
	{err: auth.ErrResetSelf, status: 409, code: problem.CodeConflict, msg: "problem.CONFLICT.reset_self.detail"},
	{err: auth.ErrResetOutranked, status: 403, code: problem.CodeForbidden, msg: "problem.FORBIDDEN.reset_outranked.detail"},
	{err: auth.ErrSetupDone, status: 409, code: problem.CodeConflict, msg: "problem.CONFLICT.setup_done.detail"},
	{err: routes.ErrNotFound, status: 404, code: problem.CodeNotFound, msg: "problem.NOT_FOUND.route.detail"},
	{err: learn.ErrNothingLearned, status: 409, code: problem.CodeConflict, msg: "problem.CONFLICT.nothing_learned.detail"},
	{err: errNoDataDir, status: 409, code: problem.CodeConflict, msg: "problem.CONFLICT.no_data_dir.detail"},
	{err: webhooks.ErrNotFound, status: 404, code: problem.CodeNotFound, msg: "problem.NOT_FOUND.webhook.detail"},
	{err: webhooks.ErrDeliveryNotFound, status: 404, code: problem.CodeNotFound, msg: "problem.NOT_FOUND.webhook_delivery.detail"},
	{err: webhooks.ErrTooMany, status: 409, code: problem.CodeConflict, msg: "problem.CONFLICT.webhooks_too_many.detail"},
	{err: routes.ErrDuplicatePrefix, status: 409, code: problem.CodeConflict, field: "prefix", fieldCode: "taken", msg: "validation.route.prefix.taken"},
}

// Translator localizes message ids; *i18n.Bundle satisfies it.
type Translator interface {
	T(lang, id string, data map[string]any) string
}

// problem renders e in the language lang.
func (e *Error) problem(tr Translator, lang string) problem.Problem {
	msg := e.Msg
	if msg == "" {
		msg = "problem." + string(e.Code) + ".detail"
	}
	p := problem.Problem{
		Type:       problem.TypeBlank,
		Title:      tr.T(lang, "problem."+string(e.Code)+".title", nil),
		Status:     e.Status,
		Code:       e.Code,
		Detail:     tr.T(lang, msg, e.Data),
		RetryAfter: e.RetryAfter,
	}
	for _, f := range e.Fields {
		p.Fields = append(p.Fields, problem.Field{Field: f.Field, Code: f.Code, Detail: tr.T(lang, f.MessageID(), f.Data)})
	}
	return p
}

// ProblemError is what the desktop binding returns: its Error() is the problem document as
// JSON, so the frontend's desktop transport parses the same object the HTTP one receives.
type ProblemError struct {
	Problem problem.Problem
	cause   error // the server-side failure behind an INTERNAL or STORAGE_FULL problem
}

// Unwrap is the cause of a server-side failure (nil for the caller's own mistakes).
func (e *ProblemError) Unwrap() error { return e.cause }

func (e *ProblemError) Error() string {
	b, _ := json.Marshal(e.Problem)
	return string(b)
}
