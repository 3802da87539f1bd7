package i18n_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/locales"
)

// cldrCategories are the cardinal plural categories CLDR gives each shipped language (and
// that go-i18n implements: TestPluralTableMatchesRules checks the table against its rules).
var cldrCategories = map[string][]string{
	"en":      {"one", "other"},
	"de":      {"one", "other"},
	"fr":      {"one", "many", "other"},
	"es":      {"one", "many", "other"},
	"pt-BR":   {"one", "many", "other"},
	"ja":      {"other"},
	"zh-Hans": {"other"},
	"ko":      {"other"},
	"ar":      {"zero", "one", "two", "few", "many", "other"},
	"he":      {"one", "two", "other"},
}

// catalogs parses every embedded file, failing the test on any error.
func catalogs(t *testing.T) map[string]map[string]i18n.Forms {
	t.Helper()
	out := map[string]map[string]i18n.Forms{}
	for _, l := range i18n.Languages() {
		data, err := fs.ReadFile(locales.FS, "active."+l.Tag+".toml")
		if err != nil {
			t.Fatalf("%s: %v", l.Tag, err)
		}
		msgs, err := i18n.ParseCatalog(data)
		if err != nil {
			t.Fatalf("active.%s.toml: %v", l.Tag, err)
		}
		out[l.Tag] = msgs
	}
	return out
}

func TestEmbeddedCatalogsLoad(t *testing.T) {
	if _, err := i18n.Load(locales.FS); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(locales.FS, "active.*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(i18n.Languages()) {
		t.Errorf("%d catalog files for %d languages: %v", len(files), len(i18n.Languages()), files)
	}
	if n := len(catalogs(t)[i18n.Source]); n < 30 {
		t.Errorf("source catalog has only %d messages", n)
	}
}

// TestEveryLanguageHasEveryMessage is the completeness check: same ids as English, nothing
// missing, nothing extra.
func TestEveryLanguageHasEveryMessage(t *testing.T) {
	all := catalogs(t)
	en := all[i18n.Source]
	for tag, msgs := range all {
		if tag == i18n.Source {
			continue
		}
		var missing, extra []string
		for id := range en {
			if _, ok := msgs[id]; !ok {
				missing = append(missing, id)
			}
		}
		for id := range msgs {
			if _, ok := en[id]; !ok {
				extra = append(extra, id)
			}
		}
		slices.Sort(missing)
		slices.Sort(extra)
		if len(missing) > 0 {
			t.Errorf("active.%s.toml lacks %d messages: %s", tag, len(missing), strings.Join(missing, ", "))
		}
		if len(extra) > 0 {
			t.Errorf("active.%s.toml has %d messages English does not: %s", tag, len(extra), strings.Join(extra, ", "))
		}
	}
}

func placeholderSet(t *testing.T, f i18n.Forms) []string {
	t.Helper()
	var names []string
	for _, src := range f {
		p, err := i18n.Placeholders(src)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, p...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func TestTranslationsKeepPlaceholders(t *testing.T) {
	all := catalogs(t)
	for id, en := range all[i18n.Source] {
		want := placeholderSet(t, en)
		for tag, msgs := range all {
			f, ok := msgs[id]
			if !ok {
				continue // reported by the completeness test
			}
			if got := placeholderSet(t, f); !slices.Equal(got, want) {
				t.Errorf("%s %q: placeholders %v, English has %v", tag, id, got, want)
			}
		}
	}
}

func TestPluralFormsFollowCLDR(t *testing.T) {
	all := catalogs(t)
	for id, en := range all[i18n.Source] {
		plural := len(en) > 1
		if _, ok := en["other"]; !ok {
			t.Errorf("en %q has no other form", id)
		}
		for tag, msgs := range all {
			f, ok := msgs[id]
			if !ok {
				continue
			}
			got := slices.Sorted(maps.Keys(f))
			want := []string{"other"}
			if plural {
				want = slices.Sorted(slices.Values(cldrCategories[tag]))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %q: plural forms %v, want %v", tag, id, got, want)
			}
			if plural && !strings.Contains(strings.Join(slices.Collect(maps.Values(en)), ""), "{{.Count}}") {
				t.Errorf("en %q is plural but never shows {{.Count}}", id)
			}
		}
	}
}

// TestPluralTableMatchesRules checks cldrCategories against the plural rules go-i18n uses
// to choose forms: every category is reachable with whole numbers and no other is.
func TestPluralTableMatchesRules(t *testing.T) {
	all := []string{"zero", "one", "two", "few", "many", "other"}
	counts := []int{1000000, 2000000}
	for n := range 1001 {
		counts = append(counts, n)
	}
	for _, l := range i18n.Languages() {
		tag := language.MustParse(l.Tag)
		b := goi18n.NewBundle(language.English)
		b.MustAddMessages(tag, &goi18n.Message{ID: "x", Zero: "zero", One: "one", Two: "two", Few: "few", Many: "many", Other: "other"})
		loc := goi18n.NewLocalizer(b, l.Tag)
		seen := map[string]bool{}
		for _, n := range counts {
			form, err := loc.Localize(&goi18n.LocalizeConfig{MessageID: "x", PluralCount: n})
			if err != nil {
				t.Fatal(err)
			}
			seen[form] = true
		}
		var got []string
		for _, c := range all {
			if seen[c] {
				got = append(got, c)
			}
		}
		if !slices.Equal(got, cldrCategories[l.Tag]) {
			t.Errorf("%s: go-i18n reaches %v, table says %v", l.Tag, got, cldrCategories[l.Tag])
		}
	}
}

// TestGoRenderingMatchesFrontend executes every template of every language with go-i18n and
// compares it with the substitution the frontend does (i18n.Render).
func TestGoRenderingMatchesFrontend(t *testing.T) {
	all := catalogs(t)
	for tag, msgs := range all {
		for id, f := range msgs {
			for cat, src := range f {
				names, _ := i18n.Placeholders(src)
				data := map[string]any{}
				for _, n := range names {
					data[n] = "<" + n + ">"
				}
				b := goi18n.NewBundle(language.English)
				b.MustAddMessages(language.English, &goi18n.Message{ID: id, Other: src})
				got, err := goi18n.NewLocalizer(b, "en").Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
				if err != nil {
					t.Fatalf("%s %q %s: %v", tag, id, cat, err)
				}
				if want := i18n.Render(src, data); got != want {
					t.Errorf("%s %q %s: go-i18n %q, frontend %q", tag, id, cat, got, want)
				}
			}
		}
	}
}

// TestCatalogFilesHaveNoTables keeps the one-line-per-message convention: a [table] header
// would capture every line appended after it.
func TestCatalogFilesHaveNoTables(t *testing.T) {
	for _, l := range i18n.Languages() {
		data, err := fs.ReadFile(locales.FS, "active."+l.Tag+".toml")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			if strings.HasPrefix(strings.TrimSpace(sc.Text()), "[") {
				t.Errorf("active.%s.toml:%d: table header %q; write \"id\" = { ... } on one line instead", l.Tag, n, sc.Text())
			}
		}
	}
}

func TestTranslationsAreTranslated(t *testing.T) {
	// A language file that still carries the English text for most messages was copied, not
	// translated. Short technical strings may legitimately stay the same.
	all := catalogs(t)
	en := all[i18n.Source]
	for tag, msgs := range all {
		if tag == i18n.Source {
			continue
		}
		same := 0
		for id, f := range msgs {
			if e, ok := en[id]; ok && f["other"] == e["other"] && len(e["other"]) > 12 {
				same++
			}
		}
		if same*10 > len(msgs) {
			t.Errorf("active.%s.toml: %d of %d messages are identical to English", tag, same, len(msgs))
		}
	}
}

func TestLanguages(t *testing.T) {
	langs := i18n.Languages()
	wantTags := []string{"en", "de", "fr", "es", "pt-BR", "ja", "zh-Hans", "ko", "ar", "he"}
	var tags []string
	for _, l := range langs {
		tags = append(tags, l.Tag)
		wantDir := "ltr"
		if l.Tag == "ar" || l.Tag == "he" {
			wantDir = "rtl"
		}
		if l.Dir != wantDir || i18n.Dir(l.Tag) != wantDir {
			t.Errorf("%s: dir %q, Dir() %q, want %q", l.Tag, l.Dir, i18n.Dir(l.Tag), wantDir)
		}
		if l.Name == "" || l.EnglishName == "" {
			t.Errorf("%s: empty name", l.Tag)
		}
		if !i18n.Supported(l.Tag) {
			t.Errorf("Supported(%q) = false", l.Tag)
		}
	}
	if !slices.Equal(tags, wantTags) {
		t.Errorf("tags %v, want %v", tags, wantTags)
	}
	// Endonyms are written in the language's own script.
	scripts := map[string]*unicode.RangeTable{"ja": unicode.Han, "zh-Hans": unicode.Han, "ko": unicode.Hangul, "ar": unicode.Arabic, "he": unicode.Hebrew}
	for _, l := range langs {
		if rt, ok := scripts[l.Tag]; ok && !strings.ContainsFunc(l.Name, func(r rune) bool { return unicode.Is(rt, r) }) {
			t.Errorf("%s: name %q is not in the language's script", l.Tag, l.Name)
		}
	}
	if got := map[string]string{"de": "Deutsch", "ja": "日本語", "ar": "العربية", "he": "עברית"}; true {
		for _, l := range langs {
			if want, ok := got[l.Tag]; ok && l.Name != want {
				t.Errorf("%s: name %q, want %q", l.Tag, l.Name, want)
			}
		}
	}
	langs[0].Tag = "changed"
	if i18n.Languages()[0].Tag != "en" {
		t.Error("Languages returns shared state")
	}
	if i18n.Dir("ar-EG") != "rtl" || i18n.Dir("xx") != "ltr" {
		t.Error("Dir does not match regional tags")
	}
}

func TestCatalogJSON(t *testing.T) {
	var doc struct {
		Lang     string                       `json:"lang"`
		Dir      string                       `json:"dir"`
		Messages map[string]map[string]string `json:"messages"`
	}
	if err := json.Unmarshal(i18n.CatalogJSON("ar-SA"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Lang != "ar" || doc.Dir != "rtl" {
		t.Errorf("lang %q dir %q, want ar rtl", doc.Lang, doc.Dir)
	}
	ids := i18n.Default().IDs()
	if len(doc.Messages) != len(ids) {
		t.Errorf("%d messages, want %d", len(doc.Messages), len(ids))
	}
	if f := doc.Messages["keys.count"]; len(f) != 6 || f["two"] == "" {
		t.Errorf("keys.count forms %v, want all six Arabic forms", f)
	}
	c := i18n.CatalogFor("he")
	if c.Lang != "he" || c.Dir != "rtl" || c.Messages["problem.INTERNAL.detail"]["other"] == "" {
		t.Errorf("CatalogFor(he) = %q %q with %d messages", c.Lang, c.Dir, len(c.Messages))
	}
	c.Messages["problem.INTERNAL.detail"]["other"] = "changed"
	if i18n.CatalogFor("he").Messages["problem.INTERNAL.detail"]["other"] == "changed" {
		t.Error("Catalog returns shared state")
	}
	if got := i18n.CatalogFor("tlh").Lang; got != "en" {
		t.Errorf("CatalogFor(tlh).Lang = %q, want en", got)
	}
}

// testFS is the embedded catalogs with some files replaced.
func testFS(t *testing.T, replace map[string]string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	for _, l := range i18n.Languages() {
		name := "active." + l.Tag + ".toml"
		data, err := fs.ReadFile(locales.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		m[name] = &fstest.MapFile{Data: data}
	}
	for name, data := range replace {
		if data == "" {
			delete(m, name)
		} else {
			m[name] = &fstest.MapFile{Data: []byte(data)}
		}
	}
	return m
}

func TestTranslateAndFallback(t *testing.T) {
	en := `"greet" = "Hello, {{.Name}}!"
"only.en" = "Only in English"
"files" = { one = "{{.Count}} file", other = "{{.Count}} files" }
`
	de := `"greet" = "Hallo, {{.Name}}!"
"files" = { one = "{{.Count}} Datei", other = "{{.Count}} Dateien" }
`
	b, err := i18n.Load(testFS(t, map[string]string{"active.en.toml": en, "active.de.toml": de}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang, id string
		data     map[string]any
		want     string
	}{
		{"de", "greet", map[string]any{"Name": "Ada"}, "Hallo, Ada!"},
		{"de-CH", "greet", map[string]any{"Name": "Ada"}, "Hallo, Ada!"},
		{"de", "only.en", nil, "Only in English"},
		{"de", "files", map[string]any{"Count": 1}, "1 Datei"},
		{"de", "files", map[string]any{"Count": 2}, "2 Dateien"},
		{"de", "files", map[string]any{"Count": int64(0)}, "0 Dateien"},
		{"de", "files", map[string]any{"Count": "1"}, "1 Datei"},
		{"de", "files", map[string]any{"Count": 2.5}, "2.5 Dateien"}, // unreadable count: other form
		{"en", "files", map[string]any{"Count": 1}, "1 file"},
		{"xx", "greet", map[string]any{"Name": "Ada"}, "Hello, Ada!"},
		{"de", "no.such.id", nil, "no.such.id"},
	}
	for _, tt := range tests {
		if got := b.T(tt.lang, tt.id, tt.data); got != tt.want {
			t.Errorf("T(%q, %q, %v) = %q, want %q", tt.lang, tt.id, tt.data, got, tt.want)
		}
	}
	loc := b.Localizer("de_DE.UTF-8")
	if loc.Lang() != "de" || loc.T("greet", map[string]any{"Name": "Bo"}) != "Hallo, Bo!" {
		t.Errorf("Localizer: lang %q, text %q", loc.Lang(), loc.T("greet", map[string]any{"Name": "Bo"}))
	}
	c := b.Catalog("de")
	if got := c.Messages["only.en"]["other"]; got != "Only in English" {
		t.Errorf("catalog fallback = %q, want the English text", got)
	}
	if got := c.Messages["files"]; got["one"] != "{{.Count}} Datei" {
		t.Errorf("catalog files = %v", got)
	}
	if !b.Has("greet") || b.Has("nope") {
		t.Error("Has is wrong")
	}
}

func TestProblem(t *testing.T) {
	title, detail := i18n.Problem("de", "REVOKED")
	if title != "API-Schlüssel widerrufen" || detail != "Dieser API-Schlüssel wurde widerrufen." {
		t.Errorf("Problem(de, REVOKED) = %q, %q", title, detail)
	}
	codes := []string{"VALIDATION", "NOT_FOUND", "UNAUTHENTICATED", "FORBIDDEN", "CSRF", "RATE_LIMITED",
		"CONFLICT", "INTERNAL", "MISSING_CREDENTIAL", "MALFORMED", "EXPIRED", "REVOKED",
		"UPSTREAM_TIMEOUT", "UPSTREAM_UNAVAILABLE", "PAYLOAD_TOO_LARGE"}
	for _, code := range codes {
		for _, id := range []string{"problem." + code + ".title", "problem." + code + ".detail"} {
			if !i18n.Default().Has(id) {
				t.Errorf("no message %s", id)
			}
		}
	}
	_, unknown := i18n.Problem("fr", "NO_SUCH_CODE")
	_, internal := i18n.Problem("fr", "INTERNAL")
	if unknown != internal || unknown == "" {
		t.Errorf("unknown code detail %q, want the INTERNAL detail %q", unknown, internal)
	}
}

func TestLoadRefusesBadCatalogs(t *testing.T) {
	tests := map[string]map[string]string{
		"bad toml":          {"active.de.toml": `"a" = `},
		"missing file":      {"active.ko.toml": ""},
		"unknown language":  {"active.it.toml": `"a" = "b"`},
		"wrong tag case":    {"active.pt-br.toml": `"a" = "b"`},
		"pipe":              {"active.fr.toml": `"a" = "{{.Name | printf \"%q\"}}"`},
		"function":          {"active.fr.toml": `"a" = "{{len .Name}}"`},
		"trim marker":       {"active.fr.toml": `"a" = "{{- .Name}}"`},
		"spaces":            {"active.fr.toml": `"a" = "{{ .Name }}"`},
		"comment":           {"active.fr.toml": `"a" = "{{/* x */}}"`},
		"if":                {"active.fr.toml": `"a" = "{{if .X}}y{{end}}"`},
		"stray braces":      {"active.fr.toml": `"a" = "{{"`},
		"no other form":     {"active.fr.toml": `"a" = { one = "x" }`},
		"custom delimiters": {"active.fr.toml": `"a" = { leftDelim = "<<", rightDelim = ">>", other = "<<.X>>" }`},
		"mixed table":       {"active.fr.toml": `"a" = { other = "x", label = "y" }`},
		"duplicate id":      {"active.fr.toml": "\"a.b\" = \"x\"\na = { b = \"y\" }"},
		"bare string":       {"active.fr.toml": `other = "x"`},
		"empty":             {"active.fr.toml": "# nothing\n"},
	}
	for name, replace := range tests {
		if _, err := i18n.Load(testFS(t, replace)); err == nil {
			t.Errorf("%s: Load accepted %v", name, replace)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	got, err := i18n.Placeholders("{{.B}} and {{.A}} and {{.B}} in }} text")
	if err != nil || !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("Placeholders = %v, %v", got, err)
	}
	if got := i18n.Render("{{.A}}/{{.Missing}}", map[string]any{"A": 3}); got != "3/{{.Missing}}" {
		t.Errorf("Render = %q", got)
	}
}

func ExampleT() {
	fmt.Println(i18n.T("de-AT", "keys.count", map[string]any{"Count": 1}))
	fmt.Println(i18n.T("ar", "keys.count", map[string]any{"Count": 2}))
	// Output:
	// 1 Schlüssel
	// مفتاحان
}

// TestConcurrentUse runs T, Catalog and Match from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	b := i18n.Default()
	done := make(chan struct{})
	for _, l := range i18n.Languages() {
		go func() {
			defer func() { done <- struct{}{} }()
			for n := range 50 {
				if s := b.T(l.Tag, "keys.count", map[string]any{"Count": n}); s == "" || s == "keys.count" {
					t.Errorf("%s: T = %q", l.Tag, s)
					return
				}
				if c := b.Catalog(l.Tag + "-XX"); c.Lang != l.Tag {
					t.Errorf("Catalog(%s-XX).Lang = %q", l.Tag, c.Lang)
					return
				}
			}
		}()
	}
	for range i18n.Languages() {
		<-done
	}
}
