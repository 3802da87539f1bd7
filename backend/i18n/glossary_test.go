package i18n_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/BurntSushi/toml"

	"github.com/keygate/keygate/backend/i18n"
)

// glossaryTerm is one product term of locales/glossary.toml.
type glossaryTerm struct {
	Note   string              `toml:"note"`
	Words  map[string][]string `toml:"-"`
	Except []string            `toml:"except"`
}

// glossary is locales/glossary.toml: the terms and the pairs whose words must differ.
type glossary struct {
	Differ [][]string
	Terms  map[string]glossaryTerm
	order  []string
}

func loadGlossary(t *testing.T, data []byte) glossary {
	t.Helper()
	var raw struct {
		Differ [][]string                `toml:"differ"`
		Terms  map[string]map[string]any `toml:"terms"`
	}
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		t.Fatalf("glossary.toml: %v", err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		t.Fatalf("glossary.toml: unknown keys %v", undecoded)
	}
	g := glossary{Differ: raw.Differ, Terms: map[string]glossaryTerm{}}
	for _, k := range md.Keys() {
		if len(k) == 2 && k[0] == "terms" {
			g.order = append(g.order, k[1])
		}
	}
	known := map[string]bool{"note": true, "except": true}
	for _, l := range i18n.Languages() {
		known[l.Tag] = true
	}
	for name, fields := range raw.Terms {
		term := glossaryTerm{Words: map[string][]string{}}
		for key, v := range fields {
			if !known[key] {
				t.Fatalf("glossary.toml: term %s: unknown field %q", name, key)
			}
			switch key {
			case "note":
				term.Note, _ = v.(string)
			default:
				list, ok := v.([]any)
				if !ok || len(list) == 0 {
					t.Fatalf("glossary.toml: term %s: %s must be a non-empty list of strings", name, key)
				}
				var words []string
				for _, w := range list {
					s, ok := w.(string)
					if !ok || strings.TrimSpace(s) == "" {
						t.Fatalf("glossary.toml: term %s: %s holds %v, want non-empty strings", name, key, w)
					}
					words = append(words, s)
				}
				if key == "except" {
					term.Except = words
				} else {
					term.Words[key] = words
				}
			}
		}
		g.Terms[name] = term
	}
	return g
}

// wordChar is what may not touch an English term on either side: "x-api-key" and
// UPSTREAM_URL do not mention the terms key and upstream.
func wordChar(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' }

// englishRE matches any of a term's English forms as whole words, case-insensitively.
func englishRE(forms []string) *regexp.Regexp {
	quoted := make([]string, len(forms))
	for i, f := range forms {
		quoted[i] = regexp.QuoteMeta(f)
	}
	return regexp.MustCompile(`(?i)(?:^|[^\p{L}\p{N}_-])(?:` + strings.Join(quoted, "|") + `)(?:$|[^\p{L}\p{N}_-])`)
}

// literalRE matches what is not prose in an English message: placeholders, URLs, flags,
// environment variables and header names.
var literalRE = regexp.MustCompile(`\{\{\.[A-Za-z_][A-Za-z0-9_]*\}\}|[a-z]+://[A-Za-z0-9.:/\[\]_~%-]*|--[a-z-]+|\$[A-Z_]+|x-api-key`)

// foldText prepares a translation for a substring search: placeholders out, lower case, and
// without Arabic short vowels and tatweel, Hebrew points or soft hyphens, which a translator
// may or may not write.
func foldText(s string) string {
	s = literalRE.ReplaceAllString(s, " ")
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0x064B && r <= 0x0652, r == 0x0640, r == 0x0670: // harakat, tatweel, dagger alif
			return -1
		case r >= 0x0591 && r <= 0x05C7 && r != 0x05BE: // Hebrew points and cantillation, not maqaf
			return -1
		case r == 0x00AD:
			return -1
		}
		return r
	}, s)
}

// containsAny reports whether folded text holds one of words (folded too).
func containsAny(text string, words []string) bool {
	for _, w := range words {
		if strings.Contains(text, foldText(w)) {
			return true
		}
	}
	return false
}

// usesOther reports whether folded text uses one of other's words outside the longer words
// of own that contain it: 個人設定 (preferences) holds 設定 (settings) and does not count as
// a use of it, while 来源 (source) holds 源 (origin) and does count as a use of 来源.
func usesOther(text string, own, other []string) bool {
	for _, w := range other {
		w = foldText(w)
		for from := 0; ; {
			i := strings.Index(text[from:], w)
			if i < 0 {
				break
			}
			p := from + i
			if !insideOwn(text, p, len(w), own) {
				return true
			}
			from = p + 1
		}
	}
	return false
}

// insideOwn reports whether text[p:p+n] lies within an occurrence of a longer word of own.
func insideOwn(text string, p, n int, own []string) bool {
	for _, o := range own {
		o = foldText(o)
		if len(o) <= n {
			continue
		}
		for q := max(0, p+n-len(o)); q <= p && q+len(o) <= len(text); q++ {
			if text[q:q+len(o)] == o {
				return true
			}
		}
	}
	return false
}

func readGlossary(t *testing.T) glossary {
	t.Helper()
	data, err := os.ReadFile("../../locales/glossary.toml")
	if err != nil {
		t.Fatal(err)
	}
	return loadGlossary(t, data)
}

// glossaryProblems checks every message of every language against the glossary and returns
// one line per problem. A message whose English (outside placeholders, URLs and flags) says a
// term must contain one of the term's words in each language; a message that says one term
// of a must-differ pair and not the other must not contain the other's words, except inside
// a longer word of its own term.
func glossaryProblems(g glossary, all map[string]map[string]i18n.Forms) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	en := all[i18n.Source]
	res := map[string]*regexp.Regexp{}
	for _, name := range g.order {
		term := g.Terms[name]
		if len(term.Words[i18n.Source]) == 0 {
			add("term %s has no English forms", name)
			continue
		}
		res[name] = englishRE(term.Words[i18n.Source])
		for _, l := range i18n.Languages() {
			if len(term.Words[l.Tag]) == 0 {
				add("term %s has no words for %s", name, l.Tag)
			}
		}
		for _, id := range term.Except {
			if _, ok := en[id]; !ok {
				add("term %s: except names %q, which is no message", name, id)
			}
		}
	}
	for _, pair := range g.Differ {
		if len(pair) != 2 || g.Terms[pair[0]].Words == nil || g.Terms[pair[1]].Words == nil {
			add("differ entry %v must name two terms of the glossary", pair)
			continue
		}
		for _, l := range i18n.Languages() {
			for _, a := range g.Terms[pair[0]].Words[l.Tag] {
				for _, b := range g.Terms[pair[1]].Words[l.Tag] {
					if foldText(a) == foldText(b) {
						add("%s: %s and %s must differ but share the word %q", l.Tag, pair[0], pair[1], a)
					}
				}
			}
		}
	}
	if len(problems) > 0 {
		return problems
	}
	mentions := func(id, name string) bool {
		if slices.Contains(g.Terms[name].Except, id) {
			return false
		}
		for _, src := range en[id] {
			if res[name].MatchString(literalRE.ReplaceAllString(src, " ")) {
				return true
			}
		}
		return false
	}
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range en {
			if !yield(id) {
				return
			}
		}
	}) {
		for _, name := range g.order {
			if !mentions(id, name) {
				continue
			}
			words := g.Terms[name].Words
			for _, l := range i18n.Languages() {
				forms, ok := all[l.Tag][id]
				if !ok {
					continue // the completeness test reports it
				}
				for cat, src := range forms {
					if !containsAny(foldText(src), words[l.Tag]) {
						add("%s %q (%s): English says %q, the translation lacks %s: %s", l.Tag, id, cat, name, strings.Join(words[l.Tag], " / "), src)
					}
				}
			}
		}
		for _, pair := range g.Differ {
			for _, p := range [][2]string{{pair[0], pair[1]}, {pair[1], pair[0]}} {
				own, other := p[0], p[1]
				if !mentions(id, own) || mentions(id, other) {
					continue
				}
				for _, l := range i18n.Languages() {
					for cat, src := range all[l.Tag][id] {
						if usesOther(foldText(src), g.Terms[own].Words[l.Tag], g.Terms[other].Words[l.Tag]) {
							add("%s %q (%s): English says %s, the translation uses the word for %s, which must differ: %s", l.Tag, id, cat, own, other, src)
						}
					}
				}
			}
		}
	}
	return problems
}

// TestGlossary holds every catalog to locales/glossary.toml: one word for one idea, and
// different words for ideas a user must not confuse (revoke and cancel, route and path, ...).
func TestGlossary(t *testing.T) {
	g := readGlossary(t)
	for _, want := range []string{"api_key", "secret", "gateway", "route", "path", "upstream", "origin",
		"organization", "revoke", "roll", "expire", "disable", "audit_log", "preferences", "settings", "cancel"} {
		if _, ok := g.Terms[want]; !ok {
			t.Errorf("glossary.toml has no term %s", want)
		}
	}
	for _, want := range [][]string{{"revoke", "cancel"}, {"route", "path"}, {"upstream", "origin"}, {"preferences", "settings"}} {
		if !slices.ContainsFunc(g.Differ, func(p []string) bool { return slices.Equal(p, want) }) {
			t.Errorf("glossary.toml: %s and %s are not a must-differ pair", want[0], want[1])
		}
	}
	for _, p := range glossaryProblems(g, catalogs(t)) {
		t.Error(p)
	}
}

// TestCatalogHeadersPointToGlossary: each catalog's header note sends its translators there.
func TestCatalogHeadersPointToGlossary(t *testing.T) {
	for _, l := range i18n.Languages() {
		data, err := os.ReadFile("../../locales/active." + l.Tag + ".toml")
		if err != nil {
			t.Fatal(err)
		}
		header, _, _ := strings.Cut(string(data), "\n\n")
		if !strings.Contains(header, "glossary.toml") {
			t.Errorf("active.%s.toml: the header note does not point to locales/glossary.toml", l.Tag)
		}
	}
}

// TestGlossaryCatchesDrift feeds the checker catalogs with the defects it exists for.
func TestGlossaryCatchesDrift(t *testing.T) {
	g := glossary{
		Differ: [][]string{{"revoke", "cancel"}},
		Terms: map[string]glossaryTerm{
			"revoke": {Words: map[string][]string{}},
			"cancel": {Words: map[string][]string{}},
		},
		order: []string{"revoke", "cancel"},
	}
	for _, l := range i18n.Languages() {
		g.Terms["revoke"].Words[l.Tag] = []string{"revoke", "revoked"}
		g.Terms["cancel"].Words[l.Tag] = []string{"cancel"}
	}
	g.Terms["revoke"].Words["he"] = []string{"שליל", "לשלול", "נשלל"}
	g.Terms["cancel"].Words["he"] = []string{"ביטול", "לבטל", "בוטל"}
	catalog := func(he map[string]string) map[string]map[string]i18n.Forms {
		all := map[string]map[string]i18n.Forms{}
		en := map[string]string{"a": "Revoke key {{.Name}}", "b": "Cancel", "c": "Roll {{.Revoked}} key", "d": "Choose active or revoked."}
		for _, l := range i18n.Languages() {
			all[l.Tag] = map[string]i18n.Forms{}
			for id, s := range en {
				all[l.Tag][id] = i18n.Forms{"other": s}
			}
		}
		for id, s := range he {
			all["he"][id] = i18n.Forms{"other": s}
		}
		return all
	}
	good := catalog(map[string]string{"a": "שלילת המפתח {{.Name}}", "b": "ביטול", "c": "החלפה", "d": "active או revoked"})
	if p := glossaryProblems(g, good); len(p) != 1 || !strings.Contains(p[0], `"d"`) {
		t.Errorf("a good catalog: %v, want only the literal value list of \"d\" reported", p)
	}
	g.Terms["revoke"] = glossaryTerm{Words: g.Terms["revoke"].Words, Except: []string{"d"}}
	if p := glossaryProblems(g, good); len(p) != 0 {
		t.Errorf("a good catalog with d excepted: %v", p)
	}
	tests := map[string]map[string]string{
		"revoke translated as cancel": {"a": "ביטול המפתח {{.Name}}"},
		"cancel translated as revoke": {"b": "שלילה"},
		"revoke word missing":         {"a": "הסרת המפתח {{.Name}}"},
		"cancel beside revoke":        {"a": "שלילת המפתח {{.Name}} לא ניתן לבטל"},
	}
	for name, he := range tests {
		if p := glossaryProblems(g, catalog(he)); len(p) == 0 {
			t.Errorf("%s: no problem reported", name)
		}
	}
	// A placeholder is not a mention: "c" says {{.Revoked}} and needs no word for revoke.
	// Identical words for a must-differ pair are refused outright.
	g.Terms["cancel"].Words["de"] = []string{"Revoked"}
	if p := glossaryProblems(g, good); len(p) != 1 || !strings.Contains(p[0], "share the word") {
		t.Errorf("shared word: %v", p)
	}
}
