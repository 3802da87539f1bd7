package console

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/i18n"
)

// Local runs operations as the desktop's OS user, for the window's bound App methods, or as
// the person at the command line: the same table, checks and handlers as HTTP, without
// sessions or CSRF (a bound call or a command cannot come from another site).
type Local struct {
	s   *Service
	err error // set by Unavailable: every call fails with it
	// cli marks the command line's executor; lang is its language.
	cli  bool
	lang string
}

// Unavailable returns an executor whose every call fails with err: the desktop window uses it
// when Keygate could not start (a data directory it cannot open, a newer database), so that
// each screen shows why instead of hanging.
func Unavailable(err error) *Local { return &Local{err: err} }

// Local returns the desktop executor. It requires a Service in desktop mode.
func (s *Service) Local() (*Local, error) {
	if !s.Desktop {
		return nil, errors.New("console: Local needs desktop mode")
	}
	return &Local{s: s}, nil
}

// CLI returns the command line's executor. Whoever runs keygate on the machine can read the
// database anyway, so, like the desktop user, they may do everything; audit entries name the
// actor "cli" and problem details are in lang. Operations of the other mode (StartGateway,
// Login, …) answer UNSUPPORTED as they would over HTTP.
func (s *Service) CLI(lang string) *Local {
	return &Local{s: s, cli: true, lang: i18n.Match(lang)}
}

// errNotReady is what a bound method answers when the App could not start.
var errNotReady = errors.New("keygate is not ready")

// Do runs the operation name with in (a value of the operation's input type) and returns its
// result. Errors are *ProblemError: their text is the problem document as JSON, localized in
// the desktop's language.
func Do[Out any](ctx context.Context, l *Local, name string, in any) (Out, error) {
	var zero Out
	if l == nil {
		return zero, errNotReady
	}
	if l.err != nil {
		return zero, l.err
	}
	out, err := l.Call(ctx, name, in)
	if err != nil {
		return zero, err
	}
	v, ok := out.(Out)
	if !ok {
		return zero, fmt.Errorf("operation %s returned %T, not %T", name, out, zero)
	}
	return v, nil
}

// Call runs the operation name with in and returns its result as any.
func (l *Local) Call(ctx context.Context, name string, in any) (any, error) {
	o, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no console operation %q", name)
	}
	if reflect.TypeOf(in) != o.In {
		return nil, fmt.Errorf("operation %s takes %s, not %T", name, o.In, in)
	}
	p := reflect.New(o.In)
	p.Elem().Set(reflect.ValueOf(in))
	lang := l.lang
	if !l.cli {
		lang = l.s.desktopLanguage(ctx)
	}
	c := &Call{Principal: l.s.localPrincipal(), Lang: lang, cli: l.cli}
	out, err := l.s.execute(ctx, o, c, p.Interface())
	if err != nil {
		e := classify(err)
		if e.Status >= 500 && !l.cli {
			l.s.Logger.Error("console operation failed", "status", e.Status, "code", e.Code, "operation", name, "err", e.Err)
		}
		// The command line shows the cause of its own failures to the person who ran it.
		return nil, &ProblemError{Problem: e.problem(l.s.bundle(), lang), cause: e.Err}
	}
	return out, nil
}

// FollowRequests follows the request log as the desktop's user or the command line (see
// Service.FollowRequests) until ctx ends. Errors are *ProblemError, as Call's.
func (l *Local) FollowRequests(ctx context.Context, in FollowRequestsInput, send func([]gateway.Entry) error) error {
	if l == nil {
		return errNotReady
	}
	if l.err != nil {
		return l.err
	}
	lang := l.lang
	if !l.cli {
		lang = l.s.desktopLanguage(ctx)
	}
	c := &Call{Principal: l.s.localPrincipal(), Lang: lang, cli: l.cli}
	if err := l.s.FollowRequests(ctx, c, in, send); err != nil {
		return &ProblemError{Problem: classify(err).problem(l.s.bundle(), lang), cause: err}
	}
	return nil
}
