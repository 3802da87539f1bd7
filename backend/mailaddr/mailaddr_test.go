package mailaddr_test

import (
	"testing"

	"github.com/keygate/keygate/backend/mailaddr"
)

func TestKey(t *testing.T) {
	same := [][]string{
		{"ada@example.com", "Ada@Example.COM", "  ADA@EXAMPLE.COM "},
		{"ünal@example.com", "Ünal@example.com", "ünal@EXAMPLE.com", "U\u0308nal@example.com", "u\u0308NAL@example.com"},
		{"strasse@example.de", "straße@example.de", "STRAẞE@example.de", "STRASSE@EXAMPLE.DE"},
		{"ada@example.com", "ＡＤＡ@ｅｘａｍｐｌｅ.ｃｏｍ"},
		{"kim@example.com", "\u212Aim@example.com"},                     // Kelvin sign
		{"σοφίας@example.gr", "ΣΟΦΊΑΣ@example.gr", "σοφίασ@example.gr"}, // final sigma folds to σ
	}
	for _, group := range same {
		want := mailaddr.Key(group[0])
		for _, a := range group[1:] {
			if got := mailaddr.Key(a); got != want {
				t.Errorf("Key(%q) = %q, want %q (same as %q)", a, got, want, group[0])
			}
		}
		if mailaddr.Key(want) != want {
			t.Errorf("Key is not idempotent on %q: %q", want, mailaddr.Key(want))
		}
	}
	differ := [][2]string{
		{"ada@example.com", "ada@example.org"},
		{"unal@example.com", "ünal@example.com"},   // accents are not case
		{"ırmak@example.com", "irmak@example.com"}, // dotless ı is its own letter
		{"a.b@example.com", "ab@example.com"},
		{"ada+x@example.com", "ada@example.com"},
	}
	for _, d := range differ {
		if mailaddr.Key(d[0]) == mailaddr.Key(d[1]) {
			t.Errorf("Key(%q) == Key(%q) = %q; they are different addresses", d[0], d[1], mailaddr.Key(d[0]))
		}
	}
	if got := mailaddr.Key("Ada@Example.COM"); got != "ada@example.com" {
		t.Errorf("ASCII key %q, want ada@example.com", got)
	}
}
