package i18n_test

import (
	"testing"

	"github.com/keygate/keygate/backend/i18n"
)

func BenchmarkT(b *testing.B) {
	bundle := i18n.Default()
	data := map[string]any{"Count": 3}
	for b.Loop() {
		bundle.T("ar", "keys.count", data)
	}
}

func BenchmarkMatchAcceptLanguage(b *testing.B) {
	for b.Loop() {
		i18n.Match("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5")
	}
}

func BenchmarkCatalogJSON(b *testing.B) {
	for b.Loop() {
		i18n.CatalogJSON("ja")
	}
}
