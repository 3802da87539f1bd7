package gateway_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/gateway"
)

func TestCheckPath(t *testing.T) {
	good := []string{"/", "/a", "/a/", "/a/b.json", "/a/..b", "/a/b..", "/a/.well-known/x", "/a;v=1/b", "/files/100%25",
		"/caf%C3%A9", "/a%2Fb", "/%7Euser", "/a/b;jsessionid=1", "/x%E2%80%A8y"}
	bad := []string{
		"", "a", "//x", "/a//b", "/.", "/..", "/a/.", "/a/..", "/a/./b", "/a/../b",
		// path parameters: Tomcat, Jetty and Spring cut at ';'
		"/public/..;/a/secret", "/public/.;/a", "/public/..;x=1/a", "/public/;/a", "/;x/a",
		// percent-encoded dots, semicolons and separators, once or repeatedly
		"/public/%2e%2e;/a", "/public/%2E%2E/a", "/public/..%3b/a", "/public/..%3B/a", "/public/.%2e/a",
		"/public/%252e%252e/a", "/public/%25252e%25252e/a", "/public/..%253b/a", "/public/%2e%2e%2fa",
		"/public/..%2fa", "/public/%u002e%u002e/a", "/public/%U002E./a",
		// backslashes, raw and in any encoding
		"/public/..%5c/a", "/public/..%5Ca", "/public\\..\\a", "/public/%255c", "/public/%u005c", "/a/%EF%BC%BC/b",
		// NUL and control characters
		"/a%00", "/a%2500", "/a\x00", "/a%0d%0ab", "/a%09", "/a%7f",
		// spellings that Windows or NFKC fold into ".."
		"/public/.../a", "/public/.. /a", "/public/%2e%2e%20/a", "/public/%EF%BC%8E%EF%BC%8E/a", "/public/%E2%80%A4%E2%80%A4/a",
		// overlong UTF-8 for '.', '/' and '\'
		"/public/%c0%ae%c0%ae/a", "/public/%c0%af", "/public/%c1%9c", "/public/%e0%80%ae",
		// more layers of encoding than any client sends
		"/a%2525252525252525",
	}
	for _, p := range good {
		if !gateway.CheckPath(p) {
			t.Errorf("CheckPath(%q) = false, want true", p)
		}
	}
	for _, p := range bad {
		if gateway.CheckPath(p) {
			t.Errorf("CheckPath(%q) = true, want false", p)
		}
	}
}

// FuzzCheckPath checks that an accepted path has no segment an upstream could read as "." or
// "..", however many times it decodes the path and whether or not it cuts at ';'.
func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"/a/b", "/public/..;/a", "/%252e%252e/x", "/a%5cb", "/a/%2e", "/a;b/c", "/%u002e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !gateway.CheckPath(p) {
			return
		}
		cur := p
		for i := 0; i < 8; i++ {
			for _, seg := range strings.Split(cur, "/") {
				cut, _, _ := strings.Cut(seg, ";")
				if cut == "." || cut == ".." || seg == "." || seg == ".." {
					t.Fatalf("accepted %q, which reads as %q", p, cur)
				}
			}
			if strings.ContainsAny(cur, "\\\x00") {
				t.Fatalf("accepted %q with a backslash or NUL in %q", p, cur)
			}
			next, err := url.PathUnescape(cur)
			if err != nil || next == cur {
				break
			}
			cur = next
		}
	})
}
