package gateway

import (
	"strings"
	"unicode/utf8"
)

// maxDecodeRounds bounds how many layers of percent-encoding CheckPath peels off. A path that
// still changes after that many rounds is refused: no honest client encodes a path five times.
const maxDecodeRounds = 5

// CheckPath reports whether a request path, as it came on the wire (escaped: url.URL's
// EscapedPath or the path part of the request target), is safe to route and forward. It must
// be the same path for the gateway, which matches routes on it, and for every upstream, which
// may decode it again, cut path parameters at ';' (Tomcat, Jetty, Spring), read '\' as '/'
// (IIS, some Windows servers), decode it twice or normalize Unicode. So the path is decoded
// until it stops changing (also %uXXXX, IIS style), and refused when any of those readings can
// give a segment that moves up or stays put:
//
//   - a segment that is "." or "..", or made only of dots and spaces ("...", ". ."), after
//     decoding and after cutting at ';' (so "..;", "%2e%2e;x", "..%3b" and "%252e%252e" too)
//   - a segment of fullwidth or leader dots ("．．", U+FF0E, U+2024) that NFKC folds to ".."
//   - an empty segment ("//", "/;x/") except a trailing slash
//   - a backslash or its fullwidth and small forms, a NUL or any control character
//   - an overlong UTF-8 form (%c0%ae is '.' to a lax decoder)
//
// The path must start with '/'.
func CheckPath(escaped string) bool {
	if escaped == "" || escaped[0] != '/' {
		return false
	}
	p := escaped
	for round := 0; ; round++ {
		if !checkDecoded(p) {
			return false
		}
		next, changed := percentDecode(p)
		if !changed {
			return true
		}
		if round == maxDecodeRounds {
			return false
		}
		p = next
	}
}

// checkDecoded checks one reading of the path (the raw one and each decoded one).
func checkDecoded(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if !utf8.ValidString(p) && hasOverlong(p) {
		return false
	}
	for _, r := range p {
		switch {
		case r < 0x20 || r == 0x7f || r == '\\':
			return false
		case r == '\uff3c' || r == '\ufe68' || r == '\u2216' || r == '\u29f5' || r == '\u2044' || r == '\u2215' || r == '\uff0f':
			// fullwidth and small reverse solidus, set minus, fraction and division slashes,
			// fullwidth solidus: some normalizers turn them into '\' or '/'
			return false
		}
	}
	for rest, more := p[1:], true; more; { // segment by segment, without a slice of them
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		if cut, _, ok := strings.Cut(seg, ";"); ok {
			seg = cut
			if seg == "" {
				return false // "/;x/": an empty segment with parameters
			}
		}
		if seg == "" {
			if more {
				return false // an empty segment other than a trailing slash's
			}
			continue
		}
		if dotSegment(seg) {
			return false
		}
	}
	return true
}

// dotSegment reports whether seg is made only of dots (including the fullwidth dot and the
// one-dot leader that NFKC folds to '.') and spaces, with at least one dot: ".", "..", "...",
// ". .", ".. " all move around the tree in some server or on some file system.
func dotSegment(seg string) bool {
	dots := 0
	for _, r := range seg {
		switch r {
		case '.', '\uff0e', '\u2024', '\ufe52':
			dots++
		case ' ':
		default:
			return false
		}
	}
	return dots > 0
}

// hasOverlong reports whether s holds an overlong UTF-8 sequence (C0/C1 leads, E0 80–9F,
// F0 80–8F), which a lax decoder reads as an ASCII '.', '/' or '\'.
func hasOverlong(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0xc0 || c == 0xc1:
			return true
		case c == 0xe0 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f:
			return true
		case c == 0xf0 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x8f:
			return true
		}
	}
	return false
}

// percentDecode decodes %XX and %uXXXX escapes once; a '%' that starts neither is kept as it
// is. It reports whether anything was decoded.
func percentDecode(s string) (string, bool) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	changed := false
	for ; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			changed = true
			continue
		}
		if i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') && ishex(s[i+2]) && ishex(s[i+3]) && ishex(s[i+4]) && ishex(s[i+5]) {
			r := rune(unhex(s[i+2]))<<12 | rune(unhex(s[i+3]))<<8 | rune(unhex(s[i+4]))<<4 | rune(unhex(s[i+5]))
			b.WriteRune(r)
			i += 5
			changed = true
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), changed
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
