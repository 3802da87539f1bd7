package i18n

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/width"
)

// Unicode directional isolates (UAX #9): text between FSI and PDI is laid out on its own, with
// its direction taken from its first strong character, and the text around it treats it as
// one neutral character. A value such as "/api", "Billing (prod)" or "--out" inside Hebrew or
// Arabic text keeps its order; a Hebrew name inside English text cannot pull the punctuation
// around it into its own run.
const (
	FSI = "\u2068" // FIRST STRONG ISOLATE
	PDI = "\u2069" // POP DIRECTIONAL ISOLATE
)

// HasRTL reports whether s holds a strong right-to-left character (Hebrew, Arabic, ...) or a
// directional formatting character (U+200E, U+200F, U+202A … U+202E, U+2066 … U+2069), either
// of which can reorder the text around s unless s is isolated.
func HasRTL(s string) bool {
	for _, r := range s {
		if r < 0x0590 {
			continue // nothing below Hebrew is right-to-left
		}
		if r == 0x200E || r == 0x200F || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 {
			return true
		}
		if p, _ := bidi.LookupRune(r); p.Class() == bidi.R || p.Class() == bidi.AL {
			return true
		}
	}
	return false
}

// Isolate returns s ready to be shown inside text written in direction dir ("ltr" or "rtl"):
// wrapped in FSI … PDI in right-to-left text, and in left-to-right text when s itself holds
// right-to-left or directional formatting characters (HasRTL; the PDI also ends any embedding
// or override s opens, so a name cannot reverse the rest of a line). Left-to-right values in left-to-right text come back unchanged,
// so English output stays plain for scripts. An empty s stays empty; an isolated s is not
// wrapped twice.
func Isolate(dir, s string) string {
	if s == "" || strings.HasPrefix(s, FSI) && strings.HasSuffix(s, PDI) {
		return s
	}
	if dir != RTL && !HasRTL(s) {
		return s
	}
	return FSI + s + PDI
}

// isolateData returns data with every value but the plural count isolated for text of
// direction dir (see Isolate); values that need nothing keep their type.
func isolateData(dir string, data map[string]any) map[string]any {
	var out map[string]any
	for k, v := range data {
		if k == CountKey {
			continue
		}
		s, ok := v.(string)
		if !ok {
			if dir != RTL {
				continue // numbers, times and ids of other types hold no right-to-left text
			}
			s = fmt.Sprint(v) // what the template would print

		}
		if iso := Isolate(dir, s); iso != s || !ok {
			if out == nil {
				out = make(map[string]any, len(data))
				for k2, v2 := range data {
					out[k2] = v2
				}
			}
			out[k] = iso
		}
	}
	if out == nil {
		return data
	}
	return out
}

// Width returns the number of terminal columns s takes: East Asian wide and fullwidth
// characters count two, combining marks, format characters (isolates, joiners, direction
// marks) and control characters count zero, everything else one.
func Width(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch {
	case r < 0x20 || r == 0x7F:
		return 0
	case r < 0x300:
		return 1 // Latin: the common case, no table look-up
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Cc):
		return 0
	case r >= 0x1160 && r <= 0x11FF:
		return 0 // Hangul medial vowels and final consonants join the syllable before them
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}
