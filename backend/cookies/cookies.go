// Package cookies reads cookie headers the way browsers write and read them, and names the
// console's cookies. The gateway (which strips the session from requests and filters what an
// upstream may set) and the console (which reads the session) both parse through here, so a
// header such as "keygate_session =x" means one thing everywhere.
package cookies

import "strings"

// The console's session cookie names: the __Secure- one is used when the console is served
// over HTTPS.
const (
	Session       = "keygate_session"
	SecureSession = "__Secure-keygate_session"
)

// console lists the names of every cookie the console sets or reads.
var console = []string{Session, SecureSession}

// Pair is one cookie of a Cookie request header.
type Pair struct {
	Name, Value string
}

// Parse splits Cookie header lines into pairs as browsers send them (RFC 6265 §5.4): pairs
// are separated by ';', spaces and tabs around names and values are not part of them, a pair
// without '=' is a nameless cookie (its text is the value), and double quotes around a value
// are dropped. Empty pairs are skipped.
func Parse(lines []string) []Pair {
	var out []Pair
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			name, value, ok := strings.Cut(part, "=")
			if !ok {
				name, value = "", name
			}
			name, value = trim(name), trim(value)
			if name == "" && value == "" {
				continue
			}
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			out = append(out, Pair{Name: name, Value: value})
		}
	}
	return out
}

// Values returns the values of every cookie called name in Cookie header lines, in order.
func Values(lines []string, name string) []string {
	var out []string
	for _, p := range Parse(lines) {
		if p.Name == name {
			out = append(out, p.Value)
		}
	}
	return out
}

// Single returns the value of the cookie called name when it is present and every copy of it
// agrees. Browsers send several cookies of one name when their paths or domains differ; one
// of them may have been planted ("cookie tossing"), so disagreeing copies count as none.
func Single(lines []string, name string) (string, bool) {
	vs := Values(lines, name)
	if len(vs) == 0 {
		return "", false
	}
	for _, v := range vs[1:] {
		if v != vs[0] {
			return "", false
		}
	}
	return vs[0], true
}

// Without returns Cookie header lines without the console's cookies (and without nameless
// cookies whose text starts with one of their names), dropping lines that become empty.
func Without(lines []string) []string {
	var out []string
	for _, line := range lines {
		var keep []string
		drop := false
		for part := range strings.SplitSeq(line, ";") {
			name, value, ok := strings.Cut(part, "=")
			if !ok {
				name, value = "", name
			}
			if IsConsole(trim(name)) || trim(name) == "" && IsConsole(trim(value)) {
				drop = true
				continue
			}
			if p := trim(part); p != "" {
				keep = append(keep, p)
			}
		}
		switch {
		case !drop:
			out = append(out, line)
		case len(keep) > 0:
			out = append(out, strings.Join(keep, "; "))
		}
	}
	return out
}

// SetCookiePair returns the name and value a browser stores for a Set-Cookie line (RFC 6265bis
// §5.6): the text before the first ';', split at the first '='; without '=' the name is empty
// and the whole text is the value; spaces and tabs around both are dropped. ok is false for a
// line a browser ignores (nothing before ';').
func SetCookiePair(line string) (name, value string, ok bool) {
	nv, _, _ := strings.Cut(line, ";")
	name, value, hasEq := strings.Cut(nv, "=")
	if !hasEq {
		name, value = "", name
	}
	name, value = trim(name), trim(value)
	return name, value, name != "" || value != ""
}

// SetsConsoleCookie reports whether a Set-Cookie line would store, or overwrite, something a
// browser sends back as one of the console's cookies: its name starts with a console cookie
// name, or it is nameless and its value does (a nameless cookie "keygate_session=X" is sent
// back as exactly that). Names are compared ignoring case and a __Secure- or __Host- prefix,
// so no spelling a browser might treat alike gets through.
func SetsConsoleCookie(line string) bool {
	name, value, ok := SetCookiePair(line)
	if !ok {
		return false
	}
	return IsConsole(name) || name == "" && IsConsole(value)
}

// IsConsole reports whether s starts with the name of one of the console's cookies, ignoring
// case and a __Secure- or __Host- prefix.
func IsConsole(s string) bool {
	l := strings.ToLower(trim(s))
	for _, prefix := range []string{"__secure-", "__host-"} {
		l = strings.TrimPrefix(l, prefix)
	}
	for _, n := range console {
		n = strings.TrimPrefix(strings.ToLower(n), "__secure-")
		if strings.HasPrefix(l, n) {
			return true
		}
	}
	return false
}

// trim drops the spaces and tabs browsers drop around cookie names and values.
func trim(s string) string { return strings.Trim(s, " \t") }
