package problem

import "errors"

// Invalid is an input error: what the caller gave for one field cannot be accepted. Domain
// packages (keys, routes, orgs, auth, …) return it — usually a package-level value, so callers
// can still test it with errors.Is — and every edge maps it without knowing the rule: the
// console answers 400 VALIDATION naming Field, the CLI prints the localized message.
//
// An error that is not an Invalid (nor another error the edge knows) is the server's own
// failure: a 500. So a new rule in a domain package is a 400 the moment it returns an Invalid.
type Invalid struct {
	// Field is the input field's name as the API spells it ("name", "limit"); "" for the
	// input as a whole.
	Field string
	// Code is the stable reason: required, invalid, too_long, range, past, unknown, type, …
	Code string
	// Msg is the catalog message id that explains the rule to a user; Data fills its
	// placeholders. Empty Msg means "validation.<Code>".
	Msg  string
	Data map[string]any
	// Text is the English sentence Error returns (logs, tests, a CLI without catalog).
	Text string
	// Err is a broader error this one refines (errors.Is sees it), e.g. a package's
	// ErrInvalidName behind a more precise "name is empty".
	Err error
}

func (e *Invalid) Error() string {
	if e.Text != "" {
		return e.Text
	}
	if e.Field == "" {
		return "invalid input: " + e.Code
	}
	return "invalid " + e.Field + ": " + e.Code
}

// MessageID is the catalog id of the explanation.
func (e *Invalid) MessageID() string {
	if e.Msg != "" {
		return e.Msg
	}
	return "validation." + e.Code
}

func (e *Invalid) Unwrap() error { return e.Err }

// On returns e about another field: a domain rule reused for an input that an edge names
// differently. errors.Is still finds e.
func (e *Invalid) On(field string) *Invalid {
	c := *e
	c.Field = field
	c.Err = e
	return &c
}

// Invalids returns every Invalid in err's tree (errors.Join and wrapping included), in order,
// or nil when err holds none.
func Invalids(err error) []*Invalid {
	var out []*Invalid
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if e, ok := err.(*Invalid); ok {
			out = append(out, e)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// IsInvalid reports whether err holds an Invalid.
func IsInvalid(err error) bool {
	var e *Invalid
	return errors.As(err, &e)
}
