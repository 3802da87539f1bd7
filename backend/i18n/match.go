package i18n

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

// maxCandidates bounds how many language ranges of one argument Match looks at, so a
// hostile Accept-Language header costs little.
const maxCandidates = 32

// Match chooses the shipped language for a list of preferences, strongest first: typically
// a saved preference, then an Accept-Language header. Each argument may be a single tag
// ("de", "pt_BR.UTF-8") or an Accept-Language value ("fr-CA,fr;q=0.9,en;q=0.5"); within one
// argument ranges are tried by descending q (q=0 means "not this one"), and every range of an
// earlier argument is tried before any of a later one.
//
// A range matches a shipped language when it is that tag exactly (case-insensitive, "_"
// accepted for "-", POSIX ".charset" and "@modifier" ignored), else when its base language
// is the same: de-AT → de, en-GB → en, pt-PT → pt-BR, zh-CN, zh-TW and zh-Hant → zh-Hans
// (a reader of a regional variant is better served by the shipped variant than by English).
// A range that does not parse is shortened from the end until it does, as in RFC 4647 lookup
// ("pt-BR-XX" → "pt-BR"). "*", "C", "POSIX" and unknown tags match nothing. Without a match
// the answer is "en".
func Match(prefs ...string) string {
	for _, p := range prefs {
		for _, r := range ranges(p) {
			if tag, ok := matchOne(r); ok {
				return tag
			}
		}
	}
	return Source
}

// ranges splits an Accept-Language style list into its ranges ordered by descending q,
// dropping q=0 and ranges with an unreadable q.
func ranges(list string) []string {
	type weighted struct {
		tag string
		q   float64
	}
	var out []weighted
	for item := range strings.SplitSeq(list, ",") {
		if len(out) == maxCandidates {
			break
		}
		tag, params, _ := strings.Cut(item, ";")
		tag = strings.TrimSpace(tag)
		if tag == "" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				q = 0
			} else {
				q = f
			}
		}
		if q > 0 {
			out = append(out, weighted{tag, q})
		}
	}
	slices.SortStableFunc(out, func(a, b weighted) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	tags := make([]string, len(out))
	for i, w := range out {
		tags[i] = w.tag
	}
	return tags
}

// matchOne matches one language range or POSIX locale name to a shipped tag.
func matchOne(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, ".@"); i >= 0 {
		s = s[:i] // POSIX: de_DE.UTF-8, sr_RS@latin
	}
	s = strings.ReplaceAll(s, "_", "-")
	switch strings.ToUpper(s) {
	case "", "*", "C", "POSIX":
		return "", false
	}
	if l, ok := lookupLanguage(s); ok {
		return l.Tag, true
	}
	tag, err := language.Parse(s)
	for err != nil {
		// RFC 4647 lookup: drop subtags from the end until the rest parses ("pt-BR-XX" → "pt-BR").
		i := strings.LastIndexByte(s, '-')
		if i <= 0 {
			return "", false
		}
		s = s[:i]
		if l, ok := lookupLanguage(s); ok {
			return l.Tag, true
		}
		tag, err = language.Parse(s)
	}
	if l, ok := lookupLanguage(tag.String()); ok {
		return l.Tag, true
	}
	base, conf := tag.Base()
	if conf == language.No {
		return "", false
	}
	for _, l := range languages {
		if b, _ := language.Make(l.Tag).Base(); b == base {
			return l.Tag, true
		}
	}
	return "", false
}

// EnvVars are the environment variables FromEnv reads, strongest first.
var EnvVars = []string{"KEYGATE_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"}

// FromEnv chooses the language for the desktop app and the CLI from the process environment;
// see DetectEnv.
func FromEnv() string { return DetectEnv(os.Getenv) }

// DetectEnv chooses a shipped language from environment variables read through getenv:
// KEYGATE_LANG, then LANGUAGE (a colon-separated list, as GNU gettext has it), LC_ALL,
// LC_MESSAGES and LANG. The first value that matches a shipped language wins (see Match for
// what matches); unset, empty, "C" and "POSIX" values and unknown languages are skipped.
// Without a match the answer is "en".
func DetectEnv(getenv func(string) string) string {
	for _, name := range EnvVars {
		for item := range strings.FieldsFuncSeq(getenv(name), func(r rune) bool { return r == ':' || r == ',' }) {
			if tag, ok := matchOne(item); ok {
				return tag
			}
		}
	}
	return Source
}
