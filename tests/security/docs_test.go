package security_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func init() {
	attacks = append(attacks, attack{"class 5: the gateway document needs a session and shows only what the caller may list", gatewayDocument})
}

func gatewayDocument(t *testing.T, s *suite) {
	ip := s.ip()
	get := func(c *http.Client, path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, s.srv.ConsoleURL+path, nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	fetches := func() int {
		n := 0
		s.up.any(func(x seen) bool {
			if x.Path == "/spec/openapi.json" {
				n++
			}
			return false
		})
		return n
	}
	before := fetches()
	// Anonymous, with a forged or a foreign cookie, in both formats: 401, and nothing loaded.
	for _, path := range []string{"/openapi/gateway.json", "/openapi/gateway.yaml", "/openapi/gateway.json?x=1"} {
		if st, body := get(client(ip), path); st != http.StatusUnauthorized || strings.Contains(body, "/orgb") {
			t.Errorf("anonymous %s: %d", path, st)
		}
		c := s.withSession(ip, "forged-session-value")
		if st, _ := get(c.HTTP, path); st != http.StatusUnauthorized {
			t.Errorf("forged session %s: %d", path, st)
		}
	}
	if n := fetches() - before; n != 0 {
		t.Errorf("anonymous requests made the console fetch upstream documents %d times", n)
	}
	// Organization B's admin (no role in the instance organization) sees B's routes only.
	b := s.login(t, s.ip(), otherEmail)
	st, body := get(b.HTTP, "/openapi/gateway.json")
	if st != http.StatusOK {
		t.Fatalf("org B admin: %d", st)
	}
	for _, want := range []string{"/orgb", "/leak"} {
		if !strings.Contains(body, want) {
			t.Errorf("org B admin does not see route %s", want)
		}
	}
	for _, hidden := range []string{"/qk", "/small", "/sess", "/fetched", "/public"} {
		if strings.Contains(body, `"`+hidden) {
			t.Errorf("org B admin sees route %s of the instance", hidden)
		}
	}
	// The broken document's load error names the source and the problem, never the file's
	// contents or where it lives.
	for _, leak := range []string{"TOPSECRET", "private/", s.dir, "yaml: line"} {
		if strings.Contains(body, leak) {
			t.Errorf("the gateway document shows %q", leak)
		}
	}
	if !strings.Contains(body, "secret-spec.yaml: it is not a valid OpenAPI 3 document") {
		t.Errorf("the load problem is not named: %.400s", body)
	}
	// A member of the instance organization sees every route; documents are loaded once per
	// route change, not once per request.
	m := s.login(t, s.ip(), memberEmail)
	before = fetches()
	for range 5 {
		if st, body := get(m.HTTP, "/openapi/gateway.json"); st != http.StatusOK || !strings.Contains(body, "/fetched") || !strings.Contains(body, "/qk") {
			t.Fatalf("instance member: %d", st)
		}
	}
	if n := fetches() - before; n > 1 {
		t.Errorf("5 requests fetched the upstream document %d times, want at most once", n)
	}
	a := s.login(t, s.ip(), adminEmail)
	var list struct {
		Routes []map[string]any `json:"routes"`
	}
	if err := a.Send(context.Background(), http.MethodGet, "/api/v1/routes", nil, &list); err != nil {
		t.Fatal(err)
	}
	for _, r := range list.Routes {
		if r["prefix"] == "/fetched" {
			in := map[string]any{"prefix": r["prefix"], "upstream": r["upstream"], "openapiSource": r["openapiSource"], "maxBodyBytes": 4096}
			if err := a.Send(context.Background(), http.MethodPut, "/api/v1/routes/"+r["id"].(string), in, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	before = fetches()
	get(m.HTTP, "/openapi/gateway.json")
	get(m.HTTP, "/openapi/gateway.json")
	if n := fetches() - before; n != 1 {
		t.Errorf("after a route change, 2 requests fetched the upstream document %d times, want once", n)
	}
}
