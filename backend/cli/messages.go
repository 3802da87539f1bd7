package cli

import (
	"errors"

	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/store"
)

// t translates a message of the CLI into the language of the environment (KEYGATE_LANG, then
// the OS locale).
func (e *Env) t(id string, data map[string]any) string { return i18n.T(e.lang(), id, data) }

func (e *Env) lang() string {
	if e.language == "" {
		e.language = i18n.FromEnv()
	}
	return e.language
}

// summary is a command's one-line description in the user's language; a command without a
// catalog entry (cli.cmd.<name>.summary) shows its English summary.
func (e *Env) summary(c command) string {
	id := "cli.cmd." + c.name + ".summary"
	if !i18n.Has(id) {
		return c.summary
	}
	return e.t(id, nil)
}

// errorMessages maps the errors a user can cause to catalog messages, so that they read in
// the user's language; anything else is printed as the error says.
var errorMessages = []struct {
	err error
	id  string
}{
	{keys.ErrInvalidName, "cli.error.key_name"},
	{keys.ErrInvalidExpiry, "cli.error.key_expiry"},
	{keys.ErrExpiryInPast, "cli.error.key_expiry_past"},
	{keys.ErrNotFound, "cli.error.key_not_found"},
	{keys.ErrInvalidStatus, "cli.error.key_status"},
	{orgs.ErrNotFound, "cli.error.org_not_found"},
	{orgs.ErrInvalidName, "cli.error.org_name"},
}

func (e *Env) describe(err error) string {
	var data map[string]any
	var s subjectError
	if errors.As(err, &s) {
		data = map[string]any{"ID": s.id}
	}
	for _, m := range errorMessages {
		if errors.Is(err, m.err) {
			return e.t(m.id, data)
		}
	}
	if store.IsFull(err) {
		return sentence(e.t("cli.error.disk_full", nil))
	}
	return sentence(err.Error())
}

// subjectError names what an error is about (a key or organization id) for its message.
type subjectError struct {
	id  string
	err error
}

func (s subjectError) Error() string { return s.id + ": " + s.err.Error() }
func (s subjectError) Unwrap() error { return s.err }

func about(id string, err error) error {
	if err == nil {
		return nil
	}
	return subjectError{id: id, err: err}
}
