package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/routes"
)

func FuzzExtractCredential(f *testing.F) {
	f.Add("kg_abc", "", "", "", "", false)
	f.Add("", "Bearer kg_abc", "", "", "api_key", true)
	f.Add("", "bearer\tx", "keygate_session=s1; a=b", "api_key=k1&x=2", "api_key", true)
	f.Add("", "Basic abc", "__Secure-keygate_session=\"s\"; keygate_session=t", "", "", true)
	f.Add("", "", "", "api%5Fkey=v&api_key=v", "api_key", false)
	f.Add(" ", "Bearer", "keygate_session=", "api_key=%zz", "api_key", true)
	f.Fuzz(func(t *testing.T, apiKey, authz, cookie, query, param string, allowCookie bool) {
		h := http.Header{}
		if apiKey != "" {
			h["X-Api-Key"] = strings.Split(apiKey, "\x00")
		}
		if authz != "" {
			h["Authorization"] = []string{authz}
		}
		if cookie != "" {
			h["Cookie"] = []string{cookie}
		}
		c, err := gateway.ExtractCredential(h, query, gateway.CredentialSources{Cookie: allowCookie, QueryParam: param})
		if err != nil {
			if c != (gateway.Credential{}) {
				t.Fatalf("error %v with credential %+v", err, c)
			}
			return
		}
		if c.Value == "" || len(c.Value) > 512 || strings.ContainsAny(c.Value, " \t\r\n") {
			t.Fatalf("bad credential value %q", c.Value)
		}
		switch c.Kind {
		case gateway.CredentialHeader:
			if apiKey == "" {
				t.Fatal("header credential without x-api-key")
			}
		case gateway.CredentialBearer:
			if apiKey != "" || authz == "" {
				t.Fatal("bearer chosen over x-api-key or without Authorization")
			}
		case gateway.CredentialSession:
			if !allowCookie || apiKey != "" || !strings.Contains(cookie, gateway.SessionCookie) {
				t.Fatal("cookie used when not allowed, or over a header")
			}
		case gateway.CredentialQuery:
			if param == "" || apiKey != "" {
				t.Fatal("query used when not allowed, or over a header")
			}
		default:
			t.Fatalf("kind %v", c.Kind)
		}
	})
}

func FuzzOriginMatch(f *testing.F) {
	f.Add("https://app.example.com", "https://app.example.com")
	f.Add("https://app.example.com", "https://app.example.com.evil.com")
	f.Add("http://localhost:8788", "http://localhost:8788/")
	f.Add("HTTPS://App.Example.com:443", "https://app.example.com")
	f.Add("http://[::1]:8788", "http://[::1]:8788")
	f.Add("https://*.example.com", "https://a.example.com")
	f.Add("null", "null")
	f.Fuzz(func(t *testing.T, allowed, origin string) {
		l := gateway.NewOriginList([]string{allowed})
		ok := l.Allows(origin)
		n, err := routes.NormalizeOrigin(allowed)
		if ok {
			// Admitted only as the exact normalized form of the one entry.
			if err != nil || origin != n {
				t.Fatalf("Allows(%q) with list [%q] (normalized %q, %v)", origin, allowed, n, err)
			}
			if origin == "null" || strings.Contains(origin, "*") || strings.HasSuffix(origin, "/") {
				t.Fatalf("admitted %q", origin)
			}
		}
		if err == nil && !l.Allows(n) {
			t.Fatalf("normalized entry %q not admitted", n)
		}
		if err == nil {
			// Normalizing is idempotent.
			if n2, err := routes.NormalizeOrigin(n); err != nil || n2 != n {
				t.Fatalf("normalize(%q) = %q, %v", n, n2, err)
			}
		}
	})
}
