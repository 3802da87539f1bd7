package i18n_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/keygate/keygate/backend/i18n"
)

// Unicode isolates: a left-to-right example inside right-to-left text sits between FSI and
// PDI so that its slashes, dots and dashes stay where they are written.
const (
	fsi = "\u2068"
	pdi = "\u2069"
)

var (
	placeholderOnly = regexp.MustCompile(`\{\{\.[A-Za-z_][A-Za-z0-9_]*\}\}`)
	asciiRun        = regexp.MustCompile(`[!-~]+`)
)

// unisolatedExamples returns the left-to-right examples of an RTL message that are not
// isolated: runs of ASCII that start with a neutral character (/api, --out, .json, 'keygate
// help') or hold a slash or a double dash (http://, SIGINT/SIGTERM), outside FSI … PDI. Runs
// of punctuation alone are the sentence's own and stay as they are. Placeholders
// are left out: the code that fills them isolates run-time values.
func unisolatedExamples(msg string) []string {
	if !strings.ContainsFunc(msg, func(r rune) bool { return unicode.In(r, unicode.Hebrew, unicode.Arabic) }) {
		return nil // nothing right-to-left around it
	}
	msg = placeholderOnly.ReplaceAllString(msg, "X")
	var bad []string
	for _, loc := range asciiRun.FindAllStringIndex(msg, -1) {
		run := strings.TrimRight(strings.TrimLeft(msg[loc[0]:loc[1]], "(\"«"), ".,;:!?)\"»")
		if !strings.ContainsFunc(run, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			continue // sentence punctuation
		}
		first := rune(run[0])
		needs := !unicode.IsLetter(first) && !unicode.IsDigit(first) || strings.ContainsAny(run, "/") || strings.Contains(run, "--")
		if !needs {
			continue
		}
		before := msg[:loc[0]]
		if strings.Count(before, fsi) > strings.Count(before, pdi) {
			continue
		}
		bad = append(bad, run)
	}
	return bad
}

// TestRTLExamplesIsolated: in Arabic and Hebrew, every left-to-right example of a catalog
// message is wrapped in U+2068 … U+2069, and isolates are balanced.
func TestRTLExamplesIsolated(t *testing.T) {
	all := catalogs(t)
	for _, l := range i18n.Languages() {
		if l.Dir != i18n.RTL {
			continue
		}
		for id, forms := range all[l.Tag] {
			for cat, src := range forms {
				if bad := unisolatedExamples(src); len(bad) > 0 {
					t.Errorf("%s %q (%s): wrap %q in U+2068 … U+2069: %s", l.Tag, id, cat, bad, src)
				}
				if strings.Count(src, fsi) != strings.Count(src, pdi) {
					t.Errorf("%s %q (%s): unbalanced isolates: %q", l.Tag, id, cat, src)
				}
			}
		}
	}
	for msg, want := range map[string]int{
		"יש להזין נתיב כמו /api":              1,
		"יש להזין נתיב כמו \u2068/api\u2069":  0,
		"כתיבה אל FILE (.json או .yaml)":      2,
		"נשמר ב־{{.Path}}":                    0,
		"אין צורך במפתח API":                  0,
		"/api only ASCII, nothing to isolate": 0,
		"ב-SIGINT/SIGTERM":                    1,
	} {
		if got := unisolatedExamples(msg); len(got) != want {
			t.Errorf("unisolatedExamples(%q) = %q, want %d", msg, got, want)
		}
	}
}

// TestFrenchTypography: French puts a no-break space before ? ! ; : and inside « », so that
// a line never starts with a lone "?" or "»".
func TestFrenchTypography(t *testing.T) {
	bad := regexp.MustCompile(`[ \t][?!;:»]|«[ \t]`)
	missing := regexp.MustCompile(`[\p{L}\p{N})»][?!;]|«[^\x{202F}\x{00A0}]|[^\x{202F}\x{00A0}]»`)
	for id, forms := range catalogs(t)["fr"] {
		for cat, src := range forms {
			if m := bad.FindAllString(src, -1); m != nil {
				t.Errorf("fr %q (%s): ordinary space in %q, use U+202F (or U+00A0 before :): %s", id, cat, m, src)
			}
			if m := missing.FindAllString(src, -1); m != nil {
				t.Errorf("fr %q (%s): no space in %q, put U+202F there: %s", id, cat, m, src)
			}
		}
	}
}

// metavariables are the placeholders of command lines in usage and help texts: they are
// typed as shown, so every language prints them as English does.
var metavariableRE = regexp.MustCompile(`\b(FILE|DIR|COMMAND|ARGS|NAME|PREFIX|UPSTREAM_URL|ADDR)\b`)

// TestMetavariablesKept: a CLI message (not a column header) that shows FILE, DIR, COMMAND, ...
// shows each of them as often in every language.
func TestMetavariablesKept(t *testing.T) {
	all := catalogs(t)
	for id, en := range all[i18n.Source] {
		if !strings.HasPrefix(id, "cli.") || strings.Contains(id, ".col.") {
			continue
		}
		want := map[string]int{}
		for _, m := range metavariableRE.FindAllString(en["other"], -1) {
			want[m]++
		}
		for _, l := range i18n.Languages() {
			for cat, src := range all[l.Tag][id] {
				for m, n := range want {
					if got := strings.Count(src, m); got < n {
						t.Errorf("%s %q (%s): %s appears %d times, English has it %d times: %s", l.Tag, id, cat, m, got, n, src)
					}
				}
			}
		}
	}
}

// TestHebrewMaqaf: Hebrew joins a prefix letter to a Latin word or a number with the maqaf
// (U+05BE, ב־API, ל־10), never with an ASCII hyphen.
func TestHebrewMaqaf(t *testing.T) {
	bad := regexp.MustCompile(`\p{Hebrew}-[\p{Latin}\d` + fsi + `]`)
	for id, forms := range catalogs(t)["he"] {
		for cat, src := range forms {
			if m := bad.FindAllString(src, -1); m != nil {
				t.Errorf("he %q (%s): ASCII hyphen in %q, use the maqaf ־ (U+05BE): %s", id, cat, m, src)
			}
		}
	}
}
