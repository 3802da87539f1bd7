package keys_test

import (
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/keys"
)

func TestGenerateShape(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		k, err := keys.Generate("kg")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(k.Raw, "kg_") {
			t.Fatalf("key %q lacks prefix", k.Raw)
		}
		body := strings.TrimPrefix(k.Raw, "kg_")
		if len(body) != keys.SecretLen+keys.ChecksumLen || !ids.IsBase62(body) {
			t.Fatalf("key body %q: want %d base62 characters", body, keys.SecretLen+keys.ChecksumLen)
		}
		if k.Start() != k.Raw[:len("kg_")+keys.StartLen] {
			t.Fatalf("start %q is not the key's first characters", k.Start())
		}
		if seen[k.Raw] {
			t.Fatal("duplicate key generated")
		}
		seen[k.Raw] = true
		p, err := keys.Parse(k.Raw)
		if err != nil || p.Secret != k.Secret || p.Prefix != "kg" {
			t.Fatalf("Parse(Generate()) = %+v, %v", p, err)
		}
	}
}

func TestGenerateRefusesBadPrefix(t *testing.T) {
	for _, p := range []string{"", "KG", "k_g", "toolongprefix1234", "ké"} {
		if _, err := keys.Generate(p); err == nil {
			t.Errorf("Generate(%q) succeeded", p)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := keys.Generate("kg")
	flip := []byte(good.Raw)
	i := len("kg_") + 5
	if flip[i] == 'a' {
		flip[i] = 'b'
	} else {
		flip[i] = 'a'
	}
	badSum := good.Raw[:len(good.Raw)-1] + string(ids.Alphabet[(strings.IndexByte(ids.Alphabet, good.Raw[len(good.Raw)-1])+1)%62])
	cases := map[string]string{
		"empty":             "",
		"no underscore":     "kg" + good.Secret,
		"upper prefix":      "KG_" + good.Raw[3:],
		"short":             "kg_abc123",
		"secret changed":    string(flip),
		"checksum changed":  badSum,
		"non-base62":        good.Raw[:10] + "-" + good.Raw[11:],
		"trailing space":    good.Raw + " ",
		"other prefix":      "xy_" + good.Raw[3:],
		"huge":              "kg_" + strings.Repeat("a", 5000),
		"double underscore": "kg__" + good.Raw[3:],
	}
	for name, s := range cases {
		if _, err := keys.Parse(s); err == nil {
			t.Errorf("%s: Parse(%q) accepted", name, s)
		}
	}
}

// FuzzParse checks that Parse never panics, that whatever it accepts round-trips, and that a
// one-character change to an accepted key is (almost always) caught by the checksum.
func FuzzParse(f *testing.F) {
	k, _ := keys.Generate("kg")
	f.Add(k.Raw)
	f.Add("kg_")
	f.Add("kg_0000000000000000000000000000000000000000")
	f.Add("acme_" + k.Secret + "AAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := keys.Parse(s)
		if err != nil {
			return
		}
		if p.Prefix+"_"+p.Secret+s[len(s)-keys.ChecksumLen:] != s {
			t.Fatalf("Parse(%q) = %+v does not reassemble", s, p)
		}
		if len(p.Start()) != len(p.Prefix)+1+keys.StartLen {
			t.Fatalf("bad start %q", p.Start())
		}
	})
}
