package i18n_test

import (
	"testing"

	"github.com/keygate/keygate/backend/i18n"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		prefs []string
		want  string
	}{
		{nil, "en"},
		{[]string{""}, "en"},
		{[]string{"de"}, "de"},
		{[]string{"DE"}, "de"},
		{[]string{"pt-BR"}, "pt-BR"},
		{[]string{"pt-br"}, "pt-BR"},
		{[]string{"pt_BR"}, "pt-BR"},
		{[]string{"pt"}, "pt-BR"},
		{[]string{"pt-PT"}, "pt-BR"},
		{[]string{"zh-Hans"}, "zh-Hans"},
		{[]string{"zh-CN"}, "zh-Hans"},
		{[]string{"zh-Hans-CN"}, "zh-Hans"},
		{[]string{"zh-TW"}, "zh-Hans"},
		{[]string{"zh"}, "zh-Hans"},
		{[]string{"en-GB"}, "en"},
		{[]string{"es-419"}, "es"},
		{[]string{"fr-CA"}, "fr"},
		{[]string{"ar-EG"}, "ar"},
		{[]string{"iw"}, "he"}, // the withdrawn code for Hebrew
		{[]string{"he-IL"}, "he"},
		{[]string{"ja-JP"}, "ja"},
		{[]string{"ko-KR"}, "ko"},
		{[]string{"sv"}, "en"}, // unknown language
		{[]string{"tlh-Latn"}, "en"},
		{[]string{"not a tag!"}, "en"},
		{[]string{"pt-BR-XX"}, "pt-BR"}, // invalid tag: subtags dropped from the end
		{[]string{"de-DE-!!"}, "de"},
		{[]string{"xx-!!-de"}, "en"},
		{[]string{"*"}, "en"},
		// Accept-Language with q-values.
		{[]string{"fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"}, "fr"},
		{[]string{"sv,de;q=0.5,ja;q=0.8"}, "ja"},
		{[]string{"en;q=0.1, ko;q=0.9"}, "ko"},
		{[]string{"de;q=0, fr"}, "fr"}, // q=0 means not acceptable
		{[]string{"de;q=0"}, "en"},
		{[]string{"de;q=abc, ja"}, "ja"}, // unreadable q: ignored
		{[]string{"de;q=2, ja"}, "ja"},   // out-of-range q: ignored
		{[]string{"da, en-GB;q=0.8, en;q=0.7"}, "en"},
		{[]string{"es ; q=0.5 , he ; q=0.6"}, "he"},
		{[]string{" , ,ar"}, "ar"},
		// Earlier arguments win over later ones (saved preference, then the header).
		{[]string{"ja", "de,fr"}, "ja"},
		{[]string{"", "de,fr"}, "de"},
		{[]string{"sv", "he"}, "he"},
		{[]string{"xx", "yy"}, "en"},
	}
	for _, tt := range tests {
		if got := i18n.Match(tt.prefs...); got != tt.want {
			t.Errorf("Match(%q) = %q, want %q", tt.prefs, got, tt.want)
		}
	}
}

func TestMatchBoundsWork(t *testing.T) {
	long := ""
	for range 10000 {
		long += "xx-YY;q=0.9,"
	}
	if got := i18n.Match(long + "de"); got != "en" {
		t.Errorf("Match(huge header) = %q, want en (ranges beyond the bound are ignored)", got)
	}
}

func TestDetectEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing set", nil, "en"},
		{"LANG", map[string]string{"LANG": "de_DE.UTF-8"}, "de"},
		{"LC_MESSAGES over LANG", map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8"}, "fr"},
		{"LC_ALL over LC_MESSAGES", map[string]string{"LC_ALL": "ja_JP.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8", "LANG": "de_DE"}, "ja"},
		{"LANGUAGE over LC_ALL", map[string]string{"LANGUAGE": "ko", "LC_ALL": "ja_JP.UTF-8"}, "ko"},
		{"KEYGATE_LANG over all", map[string]string{"KEYGATE_LANG": "ar", "LANGUAGE": "ko", "LC_ALL": "ja_JP.UTF-8", "LANG": "de_DE"}, "ar"},
		{"LANGUAGE list", map[string]string{"LANGUAGE": "sv:nb:he:de"}, "he"},
		{"C skipped", map[string]string{"LC_ALL": "C", "LANG": "es_ES.UTF-8"}, "es"},
		{"C.UTF-8 skipped", map[string]string{"LC_ALL": "C.UTF-8", "LANG": "pt_BR.UTF-8"}, "pt-BR"},
		{"POSIX skipped", map[string]string{"LC_MESSAGES": "POSIX", "LANG": "zh_CN.GB2312"}, "zh-Hans"},
		{"only C", map[string]string{"LANG": "C"}, "en"},
		{"unknown falls through", map[string]string{"KEYGATE_LANG": "tlh", "LANG": "he_IL.UTF-8"}, "he"},
		{"empty KEYGATE_LANG", map[string]string{"KEYGATE_LANG": "", "LANG": "fr_CA"}, "fr"},
		{"modifier", map[string]string{"LANG": "de_DE@euro"}, "de"},
		{"English wins when first", map[string]string{"LANGUAGE": "en_US:de", "LANG": "de_DE"}, "en"},
		{"unsupported everywhere", map[string]string{"LANG": "sv_SE.UTF-8"}, "en"},
	}
	for _, tt := range tests {
		got := i18n.DetectEnv(func(k string) string { return tt.env[k] })
		if got != tt.want {
			t.Errorf("%s: DetectEnv = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	for _, k := range i18n.EnvVars {
		t.Setenv(k, "")
	}
	t.Setenv("LANG", "ko_KR.UTF-8")
	if got := i18n.FromEnv(); got != "ko" {
		t.Errorf("FromEnv = %q, want ko", got)
	}
	t.Setenv("KEYGATE_LANG", "he")
	if got := i18n.FromEnv(); got != "he" {
		t.Errorf("FromEnv = %q, want he", got)
	}
}
