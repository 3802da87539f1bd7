// Package i18n is Keygate's localization layer: one go-i18n bundle built from the embedded
// catalogs in locales/ (active.<tag>.toml), language matching for Accept-Language headers,
// saved preferences and the OS environment, a translate helper for Go code (CLI output,
// problem details) and the catalog export the frontend loads as JSON.
//
// # Messages
//
// English (locales/active.en.toml) is the source; every other language has exactly the same
// message ids with the same placeholders (enforced by this package's tests). A message is a
// set of plural forms keyed by CLDR category — "zero", "one", "two", "few", "many", "other".
// Messages without a count only have "other"; plural messages have the categories their
// language uses (English one/other, Japanese other, Arabic all six, ...).
//
// # Placeholders
//
// Templates use go-i18n's default Go-template syntax, restricted to plain fields:
// {{.Name}}, where Name matches [A-Za-z_][A-Za-z0-9_]* and there are no spaces inside the
// braces. Nothing else of Go's template language is allowed (no pipes, functions, trim
// markers or comments), and a template may not contain any other "{{". The loader refuses a
// catalog that breaks this rule, so Go and the frontend render every message identically.
//
// # How the frontend renders a message
//
// GET /api/v1/i18n/{lang} (see Catalog) returns
//
//	{"lang": "de", "dir": "ltr", "messages": {"keys.count": {"one": "…", "other": "…"}, …}}
//
// To render id with data (an object of placeholder values):
//
//  1. forms := messages[id]; if it is missing, show id itself (a visible bug, never a blank).
//  2. If data.Count is a number, form := forms[new Intl.PluralRules(lang).select(data.Count)],
//     else form := undefined; text := form ?? forms.other.
//  3. Replace every match of /\{\{\.([A-Za-z_][A-Za-z0-9_]*)\}\}/g with String(data[name]);
//     a name missing from data is left as is. Format numbers and dates with Intl before
//     passing them in if they should be localized (Go prints them plainly).
//
// English text is already filled in for every id a language lacks, so step 1 only misses for
// ids that do not exist at all. The plural placeholder is always called Count: Go's T picks
// the plural form from data["Count"] the same way.
package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/keygate/keygate/locales"
)

// Source is the tag of the source language, the fallback for everything.
const Source = "en"

// CountKey is the data key whose value selects a plural form.
const CountKey = "Count"

// Direction values of Language.Dir and Catalog.Dir.
const (
	LTR = "ltr"
	RTL = "rtl"
)

// Language is a language Keygate ships, as shown in the language picker.
type Language struct {
	// Tag is the BCP 47 tag used everywhere: file names, preferences, the catalog URL.
	Tag string `json:"tag"`
	// Name is the language's name in itself (an endonym), e.g. "Deutsch".
	Name string `json:"name"`
	// EnglishName is the name in English, for logs and documentation.
	EnglishName string `json:"englishName"`
	// Dir is the writing direction: "ltr" or "rtl".
	Dir string `json:"dir" enum:"ltr,rtl"`
}

// languages is the fixed list of shipped languages, in picker order.
var languages = []Language{
	{Tag: "en", Name: "English", EnglishName: "English", Dir: LTR},
	{Tag: "de", Name: "Deutsch", EnglishName: "German", Dir: LTR},
	{Tag: "fr", Name: "Français", EnglishName: "French", Dir: LTR},
	{Tag: "es", Name: "Español", EnglishName: "Spanish", Dir: LTR},
	{Tag: "pt-BR", Name: "Português (Brasil)", EnglishName: "Portuguese (Brazil)", Dir: LTR},
	{Tag: "ja", Name: "日本語", EnglishName: "Japanese", Dir: LTR},
	{Tag: "zh-Hans", Name: "简体中文", EnglishName: "Chinese (Simplified)", Dir: LTR},
	{Tag: "ko", Name: "한국어", EnglishName: "Korean", Dir: LTR},
	{Tag: "ar", Name: "العربية", EnglishName: "Arabic", Dir: RTL},
	{Tag: "he", Name: "עברית", EnglishName: "Hebrew", Dir: RTL},
}

// Languages returns the shipped languages in picker order. The slice is a copy.
func Languages() []Language { return slices.Clone(languages) }

// Supported reports whether tag is exactly one of the shipped tags (case-insensitive).
func Supported(tag string) bool {
	_, ok := lookupLanguage(tag)
	return ok
}

// Dir returns "rtl" for right-to-left languages and "ltr" otherwise; tag is matched first.
func Dir(tag string) string {
	l, _ := lookupLanguage(Match(tag))
	return l.Dir
}

func lookupLanguage(tag string) (Language, bool) {
	for _, l := range languages {
		if strings.EqualFold(l.Tag, tag) {
			return l, true
		}
	}
	return languages[0], false
}

// Forms maps a CLDR plural category to a message template.
type Forms map[string]string

// pluralCategories are the CLDR categories go-i18n knows, in CLDR order.
var pluralCategories = []string{"zero", "one", "two", "few", "many", "other"}

// Catalog is the JSON document the frontend loads for one language.
type Catalog struct {
	Lang     string           `json:"lang"`
	Dir      string           `json:"dir" enum:"ltr,rtl"`
	Messages map[string]Forms `json:"messages"`
}

// Bundle holds every catalog, checked and ready to translate. It is immutable after Load and
// safe for concurrent use.
type Bundle struct {
	bundle     *goi18n.Bundle
	localizers map[string]*goi18n.Localizer
	messages   map[string]map[string]Forms // tag → id → forms, as in the file
	catalogs   map[string]Catalog          // tag → merged with English
	json       map[string][]byte           // tag → encoded catalog
}

// ErrCatalog means a catalog file is unusable: bad TOML, a bad message or template, or a
// missing or unknown language file.
var ErrCatalog = errors.New("invalid message catalog")

// Load reads every active.<tag>.toml file of fsys, checks it and builds a Bundle. Every
// shipped language must have a file and no other file may exist.
func Load(fsys fs.FS) (*Bundle, error) {
	names, err := fs.Glob(fsys, "active.*.toml")
	if err != nil {
		return nil, fmt.Errorf("list catalogs: %w", err)
	}
	b := &Bundle{
		bundle:     goi18n.NewBundle(language.English),
		localizers: map[string]*goi18n.Localizer{},
		messages:   map[string]map[string]Forms{},
		catalogs:   map[string]Catalog{},
		json:       map[string][]byte{},
	}
	for _, name := range names {
		tag := strings.TrimSuffix(strings.TrimPrefix(path.Base(name), "active."), ".toml")
		lang, ok := lookupLanguage(tag)
		if !ok || lang.Tag != tag {
			return nil, fmt.Errorf("%w: %s: %q is not a shipped language tag", ErrCatalog, name, tag)
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		msgs, err := parseCatalog(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		b.messages[tag] = formsByID(msgs)
		if err := b.bundle.AddMessages(language.Make(tag), msgs...); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCatalog, name, err)
		}
	}
	for _, l := range languages {
		if _, ok := b.messages[l.Tag]; !ok {
			return nil, fmt.Errorf("%w: no active.%s.toml", ErrCatalog, l.Tag)
		}
		b.localizers[l.Tag] = goi18n.NewLocalizer(b.bundle, l.Tag)
	}
	for _, l := range languages {
		c := Catalog{Lang: l.Tag, Dir: l.Dir, Messages: make(map[string]Forms, len(b.messages[Source]))}
		for id, en := range b.messages[Source] {
			if own, ok := b.messages[l.Tag][id]; ok {
				c.Messages[id] = own
			} else {
				c.Messages[id] = en
			}
		}
		enc, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("encode %s catalog: %w", l.Tag, err)
		}
		b.catalogs[l.Tag] = c
		b.json[l.Tag] = enc
	}
	return b, nil
}

// defaultBundle is built once from the embedded catalogs.
var defaultBundle = sync.OnceValues(func() (*Bundle, error) { return Load(locales.FS) })

// Default returns the Bundle of the embedded catalogs. The catalogs are compiled into the
// binary and checked by this package's tests, so a failure here is a build defect, not a
// runtime condition: it panics, like template.Must.
func Default() *Bundle {
	b, err := defaultBundle()
	if err != nil {
		panic("i18n: embedded catalogs: " + err.Error())
	}
	return b
}

// T translates id into the language best matching lang (see Match) with the embedded catalogs.
func T(lang, id string, data map[string]any) string { return Default().T(lang, id, data) }

// CatalogFor returns the embedded catalog for the language best matching lang; it serves
// GET /api/v1/i18n/{lang}. Catalog.Lang says which language was chosen.
func CatalogFor(lang string) Catalog { return Default().Catalog(lang) }

// CatalogJSON returns the JSON encoding of CatalogFor(lang), computed once.
func CatalogJSON(lang string) []byte { return Default().CatalogJSON(lang) }

// T translates id into the language best matching lang. data fills the {{.Name}}
// placeholders; a numeric data["Count"] selects the plural form. A message the language
// lacks falls back to English; an id no catalog has comes back as the id itself, so the
// mistake shows instead of a blank. Every value but the count is isolated for the language's
// direction (see Isolate): in Arabic and Hebrew "/api" and "Billing (prod)" keep their order.
func (b *Bundle) T(lang, id string, data map[string]any) string {
	tag := Match(lang)
	loc := b.localizers[tag]
	cfg := &goi18n.LocalizeConfig{MessageID: id, TemplateData: isolateData(Dir(tag), data)}
	if n, ok := data[CountKey]; ok {
		cfg.PluralCount = n
	}
	s, err := loc.Localize(cfg)
	if err != nil && s == "" && cfg.PluralCount != nil {
		// A count go-i18n cannot read (say a float): the "other" form is always right enough.
		cfg.PluralCount = nil
		s, err = loc.Localize(cfg)
	}
	if err != nil && s == "" {
		return id
	}
	return s
}

// Has reports whether the embedded source catalog defines id (cheaper than looking into a
// Catalog, which is a copy).
func Has(id string) bool { return Default().Has(id) }

// Has reports whether the source catalog defines id.
func (b *Bundle) Has(id string) bool {
	_, ok := b.messages[Source][id]
	return ok
}

// IDs returns every message id of the source catalog, sorted.
func (b *Bundle) IDs() []string {
	return slices.Sorted(maps.Keys(b.messages[Source]))
}

// Catalog returns the messages of the language best matching lang, with English filling any
// gap, as the frontend loads them. The result is a copy the caller may keep or change.
func (b *Bundle) Catalog(lang string) Catalog {
	c := b.catalogs[Match(lang)]
	out := Catalog{Lang: c.Lang, Dir: c.Dir, Messages: make(map[string]Forms, len(c.Messages))}
	for id, f := range c.Messages {
		out.Messages[id] = maps.Clone(f)
	}
	return out
}

// CatalogJSON returns the JSON encoding of Catalog(lang), computed once at Load. The caller
// must not modify it.
func (b *Bundle) CatalogJSON(lang string) []byte { return b.json[Match(lang)] }

// Localizer is a Bundle bound to one language, handy to pass to code that prints text.
type Localizer struct {
	bundle *Bundle
	lang   string
}

// Localizer returns a Localizer for the language best matching lang.
func (b *Bundle) Localizer(lang string) Localizer {
	return Localizer{bundle: b, lang: Match(lang)}
}

// For returns a Localizer of the embedded catalogs for the language best matching lang.
func For(lang string) Localizer { return Default().Localizer(lang) }

// Lang returns the shipped tag this Localizer translates into.
func (l Localizer) Lang() string { return l.lang }

// T translates id; see Bundle.T.
func (l Localizer) T(id string, data map[string]any) string {
	return l.bundle.T(l.lang, id, data)
}

// placeholderRE matches one placeholder; it is the same expression the frontend uses.
var placeholderRE = regexp.MustCompile(`\{\{\.([A-Za-z_][A-Za-z0-9_]*)\}\}`)

// Placeholders returns the sorted, distinct placeholder names of a template, or an error if
// the template uses anything beyond plain {{.Name}} fields.
func Placeholders(src string) ([]string, error) {
	// Walk the "{{" the way text/template's lexer does: each one must open a placeholder.
	var names []string
	for rest := src; ; {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		m := placeholderRE.FindStringSubmatchIndex(rest[i:])
		if m == nil || m[0] != 0 {
			return nil, fmt.Errorf("template %q: only {{.Name}} placeholders are allowed", src)
		}
		names = append(names, rest[i+m[2]:i+m[3]])
		rest = rest[i+m[1]:]
	}
	sort.Strings(names)
	return slices.Compact(names), nil
}

// Render substitutes placeholders the way the frontend does (see the package doc); it is what
// go-i18n's template execution produces for every template Load accepts.
func Render(src string, data map[string]any) string {
	return placeholderRE.ReplaceAllStringFunc(src, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if v, ok := data[name]; ok {
			return fmt.Sprint(v)
		}
		return m
	})
}

// ParseCatalog parses and checks one TOML catalog and returns its messages by id. It is what
// Load does for each file; it never panics on any input.
func ParseCatalog(data []byte) (map[string]Forms, error) {
	msgs, err := parseCatalog(data)
	if err != nil {
		return nil, err
	}
	return formsByID(msgs), nil
}

func parseCatalog(data []byte) (msgs []*goi18n.Message, err error) {
	defer func() {
		// go-i18n and the TOML decoder are not written for hostile input; a panic on a
		// corrupt file must be an error, not a crash.
		if r := recover(); r != nil {
			msgs, err = nil, fmt.Errorf("%w: %v", ErrCatalog, r)
		}
	}()
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrCatalog)
	}
	msgs, err = goi18n.ParseMessageBytes(data, toml.Unmarshal)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCatalog, err)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: no messages", ErrCatalog)
	}
	seen := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		if err := checkMessage(m); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCatalog, err)
		}
		if seen[m.ID] {
			return nil, fmt.Errorf("%w: message %q defined twice", ErrCatalog, m.ID)
		}
		seen[m.ID] = true
	}
	return msgs, nil
}

func checkMessage(m *goi18n.Message) error {
	if m.ID == "" {
		return errors.New("message without an id")
	}
	if m.LeftDelim != "" || m.RightDelim != "" {
		return fmt.Errorf("message %q: custom delimiters are not allowed", m.ID)
	}
	if m.Other == "" {
		return fmt.Errorf("message %q: no \"other\" form", m.ID)
	}
	for cat, src := range messageForms(m) {
		if _, err := Placeholders(src); err != nil {
			return fmt.Errorf("message %q (%s): %v", m.ID, cat, err)
		}
	}
	return nil
}

func messageForms(m *goi18n.Message) Forms {
	f := Forms{}
	for i, src := range []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
		if src != "" {
			f[pluralCategories[i]] = src
		}
	}
	return f
}

func formsByID(msgs []*goi18n.Message) map[string]Forms {
	out := make(map[string]Forms, len(msgs))
	for _, m := range msgs {
		out[m.ID] = messageForms(m)
	}
	return out
}

// Problem returns the localized title and detail for a problem code (VALIDATION, NOT_FOUND,
// ...) from the messages problem.<CODE>.title and problem.<CODE>.detail. An unknown code gets
// the INTERNAL texts, so a caller never shows an empty detail.
func (b *Bundle) Problem(lang, code string) (title, detail string) {
	if !b.Has("problem." + code + ".detail") {
		code = "INTERNAL"
	}
	return b.T(lang, "problem."+code+".title", nil), b.T(lang, "problem."+code+".detail", nil)
}

// Problem returns the localized title and detail for a problem code with the embedded
// catalogs; see Bundle.Problem.
func Problem(lang, code string) (title, detail string) { return Default().Problem(lang, code) }
