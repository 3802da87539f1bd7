package i18n_test

import (
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/i18n"
)

func TestWidth(t *testing.T) {
	for s, want := range map[string]int{
		"":                 0,
		"key":              3,
		"日本語":              6,
		"한국어":              6,
		"ＡＢ":               4, // fullwidth Latin
		"ｶﾀｶﾅ":             4, // halfwidth katakana
		"e\u0301":          1, // combining acute
		"مُفْتَاح":         5, // vowel marks take no column
		"שָׁלוֹם":          4, // Hebrew points neither
		"\u2068/api\u2069": 4, // isolates are invisible
		"\u200Ea\u200Fb":   2,
		"a\tb":             2, // a control character takes no column
		"☕":                2, // wide emoji
	} {
		if got := i18n.Width(s); got != want {
			t.Errorf("Width(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestIsolate(t *testing.T) {
	iso := func(s string) string { return i18n.FSI + s + i18n.PDI }
	for _, tt := range []struct{ dir, in, want string }{
		{"rtl", "/api", iso("/api")},
		{"rtl", "Billing (prod)", iso("Billing (prod)")},
		{"rtl", "", ""},
		{"rtl", iso("/api"), iso("/api")}, // not twice
		{"ltr", "/api", "/api"},           // English output stays plain
		{"ltr", "Billing (prod)", "Billing (prod)"},
		{"ltr", "חיוב (prod)", iso("חיוב (prod)")},
		{"ltr", "الفوترة", iso("الفوترة")},
		{"ltr", "evil\u202Etxt.exe", iso("evil\u202Etxt.exe")}, // an override is contained
	} {
		if got := i18n.Isolate(tt.dir, tt.in); got != tt.want {
			t.Errorf("Isolate(%s, %q) = %q, want %q", tt.dir, tt.in, got, tt.want)
		}
	}
}

// TestTIsolatesValues: T isolates every run-time value in Arabic and Hebrew (and right-to-left
// values anywhere) but never the count that picks the plural form.
func TestTIsolatesValues(t *testing.T) {
	data := map[string]any{"Prefix": "/api"}
	if got := i18n.T("he", "cli.routes.removed", data); !strings.Contains(got, i18n.FSI+"/api"+i18n.PDI) {
		t.Errorf("he: %q", got)
	}
	if got := i18n.T("ar", "cli.routes.removed", data); !strings.Contains(got, i18n.FSI+"/api"+i18n.PDI) {
		t.Errorf("ar: %q", got)
	}
	if got := i18n.T("en", "cli.routes.removed", data); got != "Removed route /api." {
		t.Errorf("en: %q", got)
	}
	if data["Prefix"] != "/api" {
		t.Error("T changed the caller's data")
	}
	if got := i18n.T("en", "cli.routes.removed", map[string]any{"Prefix": "/חשבון"}); got != "Removed route "+i18n.FSI+"/חשבון"+i18n.PDI+"." {
		t.Errorf("en with a Hebrew value: %q", got)
	}
	// Numbers of other types are isolated too in RTL text, the count is not and still
	// selects the plural form.
	if got := i18n.T("he", "validation.password.length", map[string]any{"Count": 2, "Max": 72}); !strings.Contains(got, i18n.FSI+"72"+i18n.PDI) || strings.Contains(got, i18n.FSI+"2"+i18n.PDI) {
		t.Errorf("he password length: %q", got)
	}
	if got, want := i18n.T("ar", "keys.count", map[string]any{"Count": 2}), "مفتاحان"; got != want {
		t.Errorf("ar keys.count 2 = %q, want %q", got, want)
	}
}
