package cookies_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/cookies"
)

func TestParse(t *testing.T) {
	got := cookies.Parse([]string{`a=1; keygate_session =s ;` + "\t" + `b="q"; nameless; ;c=`, "d=4"})
	want := []cookies.Pair{{"a", "1"}, {"keygate_session", "s"}, {"b", "q"}, {"", "nameless"}, {"c", ""}, {"d", "4"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse = %q, want %q", got, want)
	}
}

func TestSingle(t *testing.T) {
	for _, tt := range []struct {
		lines []string
		want  string
		ok    bool
	}{
		{[]string{"keygate_session=a"}, "a", true},
		{[]string{"x=1; keygate_session = a "}, "a", true},
		{[]string{"keygate_session=a", "keygate_session=a"}, "a", true},
		{[]string{"keygate_session=a; keygate_session=b"}, "", false}, // a tossed cookie beside the real one
		{[]string{"KEYGATE_SESSION=a"}, "", false},
		{[]string{"x=1"}, "", false},
	} {
		got, ok := cookies.Single(tt.lines, cookies.Session)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Single(%q) = %q, %v; want %q, %v", tt.lines, got, ok, tt.want, tt.ok)
		}
	}
}

// TestConsoleParsingMatchesGo checks that the console's reading agrees with Go's own for
// well-formed headers, so nothing that used to work stops working.
func TestConsoleParsingMatchesGo(t *testing.T) {
	for _, line := range []string{"keygate_session=abc", "a=1; keygate_session=abc; b=2", `keygate_session="abc"`} {
		r := &http.Request{Header: http.Header{"Cookie": {line}}}
		c, err := r.Cookie(cookies.Session)
		got, ok := cookies.Single(r.Header["Cookie"], cookies.Session)
		if err != nil || !ok || got != c.Value {
			t.Errorf("%q: Go %v %v, cookies %q %v", line, c, err, got, ok)
		}
	}
}

func TestSetsConsoleCookie(t *testing.T) {
	drop := []string{
		"keygate_session=x", "keygate_session=x; Path=/; HttpOnly", " keygate_session =x", "\tkeygate_session\t=x",
		"KEYGATE_SESSION=x", "Keygate_Session=x", "__Secure-keygate_session=x; Secure", "__SECURE-keygate_session=x",
		"__Host-keygate_session=x", "keygate_session2=x", "keygate_session", "keygate_session;Path=/",
		"=keygate_session=x", " = keygate_session=x", "=KEYGATE_SESSION=x", "=__Secure-keygate_session=x", "= keygate_session",
	}
	keep := []string{"app=1", "session=keygate_session", "my_keygate_session=x", "=app=1", "x=keygate_session=1", "", ";keygate_session=x"}
	for _, l := range drop {
		if !cookies.SetsConsoleCookie(l) {
			t.Errorf("SetsConsoleCookie(%q) = false, want true", l)
		}
	}
	for _, l := range keep {
		if cookies.SetsConsoleCookie(l) {
			t.Errorf("SetsConsoleCookie(%q) = true, want false", l)
		}
	}
}

func TestWithout(t *testing.T) {
	got := cookies.Without([]string{"a=1; keygate_session=s; b=2", "keygate_session =s", "c=3", "=keygate_session=s; d=4"})
	want := []string{"a=1; b=2", "c=3", "d=4"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Without = %q, want %q", got, want)
	}
}

// FuzzSetsConsoleCookie checks the filter against the browser's reading: whatever a browser
// would send back as a console cookie after storing a line is refused.
func FuzzSetsConsoleCookie(f *testing.F) {
	for _, s := range []string{"keygate_session=x", "=keygate_session=x", " KEYGATE_session =x", "a=b", "__Host-keygate_session=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		name, value, ok := cookies.SetCookiePair(line)
		if !ok || cookies.SetsConsoleCookie(line) {
			return
		}
		// What the browser sends back: "name=value", or the value alone for a nameless cookie.
		sent := name + "=" + value
		if name == "" {
			sent = value
		}
		for _, p := range cookies.Parse([]string{sent}) {
			if strings.EqualFold(p.Name, cookies.Session) || strings.EqualFold(p.Name, cookies.SecureSession) {
				t.Fatalf("%q passes the filter and comes back as %q", line, sent)
			}
		}
	})
}
