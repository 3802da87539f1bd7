package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/routes"
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

// flagUsage is a flag's description in the user's language. The catalog's
// cli.flag.<command>.<name> (the command's first word: keys, routes, …) or cli.flag.<name> is
// used only when its English text is the flag's own description, so two commands' flags that
// share a name but not a meaning never borrow each other's text; anything else stays English.
func (e *Env) flagUsage(group string, f *flag.Flag) string {
	name := strings.ReplaceAll(f.Name, "-", "_")
	for _, id := range []string{"cli.flag." + group + "." + name, "cli.flag." + name} {
		if i18n.Has(id) && i18n.T(i18n.Source, id, nil) == f.Usage {
			return e.t(id, nil)
		}
	}
	return f.Usage
}

// localizeFlags makes a flag set print its help in the user's language.
func (e *Env) localizeFlags(fs *flag.FlagSet) {
	group := ""
	if words := strings.Fields(strings.TrimPrefix(fs.Name(), "keygate ")); len(words) > 0 {
		group = words[0]
	}
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintln(out, e.t("cli.usage.command", map[string]any{"Command": fs.Name()}))
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			line := "  -" + f.Name
			if name != "" {
				line += " " + name
			}
			fmt.Fprintf(out, "%s\n    \t%s", line, strings.ReplaceAll(e.flagUsageText(group, f, usage), "\n", "\n    \t"))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "[]" {
				fmt.Fprintf(out, " %s", e.t("cli.usage.default", map[string]any{"Value": f.DefValue}))
			}
			fmt.Fprintln(out)
		})
	}
}

// flagUsageText is flagUsage for the text flag.UnquoteUsage left (it drops backquotes).
func (e *Env) flagUsageText(group string, f *flag.Flag, unquoted string) string {
	if t := e.flagUsage(group, f); t != f.Usage {
		return t
	}
	return unquoted
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
	{errBackupPostgres, "cli.error.backup_postgres"},
	{store.ErrTargetNotEmpty, "cli.error.store_not_empty"},
	{routes.ErrNotFound, "cli.error.route_not_found"},
}

func (e *Env) describe(err error) string {
	var pe *console.ProblemError
	if errors.As(err, &pe) {
		return describeProblem(pe)
	}
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
