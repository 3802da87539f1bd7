package i18n_test

import (
	"io/fs"
	"testing"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/locales"
)

// FuzzLoadCatalog feeds arbitrary bytes to the catalog parser: it must never panic, and
// whatever it accepts must be renderable identically by go-i18n and the frontend.
func FuzzLoadCatalog(f *testing.F) {
	names, err := fs.Glob(locales.FS, "active.*.toml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range names {
		data, err := fs.ReadFile(locales.FS, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, err := i18n.ParseCatalog(data)
		if err != nil {
			return
		}
		if len(msgs) == 0 {
			t.Fatal("accepted a catalog without messages")
		}
		for id, forms := range msgs {
			if id == "" || forms["other"] == "" {
				t.Fatalf("accepted message %q with forms %v", id, forms)
			}
			for cat, src := range forms {
				names, err := i18n.Placeholders(src)
				if err != nil {
					t.Fatalf("accepted %q %s with a bad template: %v", id, cat, err)
				}
				vars := map[string]any{}
				for _, n := range names {
					vars[n] = "«" + n + "»"
				}
				b := goi18n.NewBundle(language.English)
				b.MustAddMessages(language.English, &goi18n.Message{ID: "m", Other: src})
				got, err := goi18n.NewLocalizer(b, "en").Localize(&goi18n.LocalizeConfig{MessageID: "m", TemplateData: vars})
				if err != nil {
					t.Fatalf("%q %s: go-i18n cannot execute %q: %v", id, cat, src, err)
				}
				if want := i18n.Render(src, vars); got != want {
					t.Fatalf("%q %s: go-i18n renders %q, frontend %q", id, cat, got, want)
				}
			}
		}
	})
}

// FuzzMatch feeds arbitrary Accept-Language values to Match: it never panics and always
// answers a shipped language.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"", "de", "fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5", "pt_BR.UTF-8", "zh-Hant-TW;q=0.3,ar", "de;q=abc", "x-!!-de", ";;;,,,q=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		if got := i18n.Match(header); !i18n.Supported(got) {
			t.Fatalf("Match(%q) = %q, not a shipped language", header, got)
		}
		if got := i18n.DetectEnv(func(string) string { return header }); !i18n.Supported(got) {
			t.Fatalf("DetectEnv(%q) = %q, not a shipped language", header, got)
		}
	})
}
