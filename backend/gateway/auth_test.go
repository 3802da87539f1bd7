package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/routes"
)

func TestAuthentication(t *testing.T) {
	sessions := fakeSessions{
		"good-session":  {Code: keys.CodeValid, UserID: "usr_alice", OrgIDs: []string{"org_elsewhere"}},
		"stale-session": {Code: keys.CodeExpired},
		// A user taken out of every organization keeps their account (and session) but must
		// lose the gateway with their last membership.
		"orphan-session": {Code: keys.CodeValid, UserID: "usr_bob"},
	}
	e := newEnv(t, func(c *gateway.Config) { c.Sessions = sessions })
	ctx := context.Background()
	other, err := orgs.New(e.st, e.clock).Create(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := e.keys.Create(ctx, keys.CreateParams{OrgID: other.ID, Name: "other", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	revoked, _ := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: "revoked", CreatedBy: "test"})
	if _, err := e.keys.Revoke(ctx, "", revoked.ID, "test"); err != nil {
		t.Fatal(err)
	}
	expiring, _ := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: "expiring", Expires: "7d", CreatedBy: "test"})
	e.clock.Advance(8 * 24 * time.Hour)
	unknown, err := keys.Generate("kg")
	if err != nil {
		t.Fatal(err)
	}
	e.addRoute(routes.Params{Prefix: "/bound", Upstream: e.up.URL, OrgID: e.org.ID})
	e.addRoute(routes.Params{Prefix: "/query", Upstream: e.up.URL, QueryKeyParam: "api_key"})
	f := false
	e.addRoute(routes.Params{Prefix: "/public", Upstream: e.up.URL, AuthRequired: &f})
	e.addRoute(routes.Params{Prefix: "/sess", Upstream: e.up.URL, ConsoleSession: true})
	e.addRoute(routes.Params{Prefix: "/boundsess", Upstream: e.up.URL, OrgID: e.org.ID, ConsoleSession: true})
	k := e.key.Key
	const docs = "https://app.example.com" // an allowlisted origin, as the console's docs viewer is

	tests := []struct {
		name     string
		path     string
		hdr      map[string]string
		want     int
		wantCode gateway.Code
	}{
		{"no credential", "/x", nil, 401, gateway.CodeMissingCredential},
		{"x-api-key", "/x", map[string]string{"x-api-key": k}, 200, ""},
		{"bearer", "/x", map[string]string{"Authorization": "Bearer " + k}, 200, ""},
		{"bearer lowercase scheme", "/x", map[string]string{"Authorization": "bearer " + k}, 200, ""},
		{"bearer without token", "/x", map[string]string{"Authorization": "Bearer"}, 401, gateway.CodeMalformed},
		{"basic auth is not a key", "/x", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 401, gateway.CodeMissingCredential},
		{"empty x-api-key", "/x", map[string]string{"x-api-key": " "}, 401, gateway.CodeMalformed},
		{"malformed key", "/x", map[string]string{"x-api-key": "kg_nothing"}, 401, gateway.CodeMalformed},
		{"bad checksum", "/x", map[string]string{"x-api-key": k[:len(k)-1] + flip(k[len(k)-1])}, 401, gateway.CodeMalformed},
		{"unknown key", "/x", map[string]string{"x-api-key": unknown.Raw}, 401, gateway.CodeNotFound},
		{"revoked key", "/x", map[string]string{"x-api-key": revoked.Key}, 401, gateway.CodeRevoked},
		{"expired key", "/x", map[string]string{"x-api-key": expiring.Key}, 401, gateway.CodeExpired},
		{"x-api-key wins over a bad bearer", "/x", map[string]string{"x-api-key": k, "Authorization": "Bearer junk"}, 200, ""},
		{"bad x-api-key is not rescued by a good bearer", "/x", map[string]string{"x-api-key": "junk", "Authorization": "Bearer " + k}, 401, gateway.CodeMalformed},
		{"key in query refused by default", "/x?api_key=" + k, nil, 401, gateway.CodeMissingCredential},
		{"key in query allowed by route", "/query/x?api_key=" + k, nil, 200, ""},
		{"other organization on bound route", "/bound/x", map[string]string{"x-api-key": otherKey.Key}, 403, gateway.CodeForbidden},
		{"own organization on bound route", "/bound/x", map[string]string{"x-api-key": k}, 200, ""},
		{"other organization on open route", "/x", map[string]string{"x-api-key": otherKey.Key}, 200, ""},
		{"public route", "/public/x", nil, 200, ""},
		// Routes that opt in to the console session (ConsoleSession): the gateway's own pages.
		{"session cookie", "/sess/x", map[string]string{"Cookie": "theme=dark; keygate_session=good-session"}, 200, ""},
		{"secure session cookie", "/sess/x", map[string]string{"Cookie": "__Secure-keygate_session=good-session"}, 200, ""},
		{"session cookie with spaces around the name", "/sess/x", map[string]string{"Cookie": "keygate_session =good-session"}, 200, ""},
		{"expired session", "/sess/x", map[string]string{"Cookie": "keygate_session=stale-session"}, 401, gateway.CodeExpired},
		{"unknown session", "/sess/x", map[string]string{"Cookie": "keygate_session=nope"}, 401, gateway.CodeNotFound},
		{"disagreeing session cookies", "/sess/x", map[string]string{"Cookie": "keygate_session=good-session; keygate_session=nope"}, 401, gateway.CodeMalformed},
		{"session not a member of the bound org", "/boundsess/x", map[string]string{"Cookie": "keygate_session=good-session"}, 403, gateway.CodeForbidden},
		{"session of a user in no organization", "/sess/x", map[string]string{"Cookie": "keygate_session=orphan-session"}, 403, gateway.CodeForbidden},
		{"cross-site session ignored", "/sess/x", map[string]string{"Cookie": "keygate_session=good-session", "Sec-Fetch-Site": "cross-site"}, 401, gateway.CodeMissingCredential},
		{"cross-site session from allowed origin", "/sess/x", map[string]string{"Cookie": "keygate_session=good-session", "Sec-Fetch-Site": "cross-site", "Origin": docs}, 200, ""},
		// Cookies are not port-bound: a page of any other local server is same-site and gets
		// the console cookie sent along, but must not act as the signed-in user.
		{"same-site session from another origin ignored", "/sess/x", map[string]string{"Cookie": "keygate_session=good-session", "Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:3000"}, 401, gateway.CodeMissingCredential},
		{"same-site session from allowed origin", "/sess/x", map[string]string{"Cookie": "keygate_session=good-session", "Sec-Fetch-Site": "same-site", "Origin": docs}, 200, ""},
		{"same-origin session", "/sess/x", map[string]string{"Cookie": "keygate_session=good-session", "Sec-Fetch-Site": "same-origin"}, 200, ""},
		{"foreign origin without Sec-Fetch-Site ignored", "/sess/x", map[string]string{"Cookie": "keygate_session=good-session", "Origin": "http://127.0.0.1:3000"}, 401, gateway.CodeMissingCredential},
		// Routes that do not opt in (the default): only allowlisted origins other than the
		// gateway's own, i.e. the docs viewer. A page served through the gateway gets nothing.
		{"default route: same-origin page ignored", "/x", map[string]string{"Cookie": "keygate_session=good-session", "Sec-Fetch-Site": "same-origin"}, 401, gateway.CodeMissingCredential},
		{"default route: same-origin page with its Origin ignored", "/x", map[string]string{"Cookie": "keygate_session=good-session", "Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}, 401, gateway.CodeMissingCredential},
		{"default route: navigation ignored", "/x", map[string]string{"Cookie": "keygate_session=good-session", "Sec-Fetch-Site": "none"}, 401, gateway.CodeMissingCredential},
		{"default route: no Sec-Fetch-Site, no Origin ignored", "/x", map[string]string{"Cookie": "keygate_session=good-session"}, 401, gateway.CodeMissingCredential},
		{"default route: docs viewer", "/x", map[string]string{"Cookie": "keygate_session=good-session", "Sec-Fetch-Site": "same-site", "Origin": docs}, 200, ""},
		{"default route: docs viewer, bound route, not a member", "/bound/x", map[string]string{"Cookie": "keygate_session=good-session", "Sec-Fetch-Site": "same-site", "Origin": docs}, 403, gateway.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do("GET", tt.path, tt.hdr, nil)
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
			if res.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id on the answer")
			}
			if !hasVaryOrigin(res.Header) {
				t.Errorf("Vary %q lacks Origin", res.Header.Values("Vary"))
			}
			if tt.want == 200 {
				readEcho(t, res)
				return
			}
			p := readProblem(t, res)
			if p.Code != tt.wantCode {
				t.Fatalf("code %s, want %s", p.Code, tt.wantCode)
			}
			if tt.want == 401 && res.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func hasVaryOrigin(h http.Header) bool {
	for _, v := range h.Values("Vary") {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), "Origin") {
				return true
			}
		}
	}
	return false
}

func TestRevokeTakesEffectOnNextRequest(t *testing.T) {
	e := newEnv(t)
	hdr := map[string]string{"x-api-key": e.key.Key}
	if res := e.do("GET", "/x", hdr, nil); res.StatusCode != 200 {
		t.Fatalf("before revoke: %d", res.StatusCode)
	}
	if _, err := e.keys.Revoke(context.Background(), "", e.key.ID, ""); err != nil {
		t.Fatal(err)
	}
	res := e.do("GET", "/x", hdr, nil)
	if res.StatusCode != 401 || readProblem(t, res).Code != gateway.CodeRevoked {
		t.Fatalf("after revoke: %d", res.StatusCode)
	}
}

// TestRevokeByAnotherProcess revokes through a second Service on the same database file, as
// the CLI does beside a running server: the gateway must refuse the key within a second.
func TestRevokeByAnotherProcess(t *testing.T) {
	e := newEnv(t)
	hdr := map[string]string{"x-api-key": e.key.Key}
	if res := e.do("GET", "/x", hdr, nil); res.StatusCode != 200 {
		t.Fatalf("before revoke: %d", res.StatusCode)
	}
	other, err := openSecond(t, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.New(other).Revoke(context.Background(), "", e.key.ID, "cli"); err != nil {
		t.Fatal(err)
	}
	revokedAt := time.Now()
	for {
		res := e.do("GET", "/x", hdr, nil)
		if res.StatusCode == 401 {
			if p := readProblem(t, res); p.Code != gateway.CodeRevoked {
				t.Fatalf("code %s", p.Code)
			}
			break
		}
		if time.Since(revokedAt) > time.Second {
			t.Fatalf("key still accepted %v after another process revoked it", time.Since(revokedAt))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("refused %v after the revoke", time.Since(revokedAt).Round(time.Millisecond))
}

func TestRateLimitPerKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k, err := e.keys.Create(ctx, keys.CreateParams{OrgID: e.org.ID, Name: "limited", CreatedBy: "test",
		RateLimit: 3, RateWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	hdr := map[string]string{"x-api-key": k.Key}
	for i, wantRemaining := range []string{"2", "1", "0"} {
		res := e.do("GET", "/x", hdr, nil)
		if res.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, res.StatusCode)
		}
		if got := res.Header.Get("RateLimit-Remaining"); got != wantRemaining {
			t.Errorf("request %d: RateLimit-Remaining %q, want %s", i, got, wantRemaining)
		}
		if res.Header.Get("RateLimit-Limit") != "3" {
			t.Errorf("RateLimit-Limit %q", res.Header.Get("RateLimit-Limit"))
		}
	}
	res := e.do("GET", "/x", hdr, nil)
	if res.StatusCode != 429 || readProblem(t, res).Code != gateway.CodeRateLimited {
		t.Fatalf("4th request: %d", res.StatusCode)
	}
	if got := res.Header.Get("Retry-After"); got != "20" {
		t.Errorf("Retry-After %q, want 20 (one request every 20 s)", got)
	}
	if res.Header.Get("RateLimit-Remaining") != "0" || res.Header.Get("RateLimit-Reset") == "" {
		t.Errorf("RateLimit headers %v", res.Header)
	}
	before := e.seen.count()
	e.do("GET", "/x", hdr, nil)
	if e.seen.count() != before {
		t.Error("a rate-limited request reached the upstream")
	}
	e.clock.Advance(20 * time.Second)
	if res := e.do("GET", "/x", hdr, nil); res.StatusCode != 200 {
		t.Fatalf("after Retry-After: %d", res.StatusCode)
	}
	// Steady traffic at the limit is never refused.
	for i := range 30 {
		e.clock.Advance(20 * time.Second)
		if res := e.do("GET", "/x", hdr, nil); res.StatusCode != 200 {
			t.Fatalf("steady request %d: %d", i, res.StatusCode)
		}
	}
	// Other keys are not affected.
	if res := e.do("GET", "/x", map[string]string{"x-api-key": e.key.Key}, nil); res.StatusCode != 200 {
		t.Fatalf("unlimited key: %d", res.StatusCode)
	}
}

func TestFailedAuthLimitPerClient(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.FailedAuthLimit = 5 })
	unknown, _ := keys.Generate("kg")
	for i := range 5 {
		if res := e.do("GET", "/x", map[string]string{"x-api-key": unknown.Raw}, nil); res.StatusCode != 401 {
			t.Fatalf("attempt %d: %d", i, res.StatusCode)
		}
	}
	// Missing credentials are not brute force and do not count; the next wrong key is refused
	// before any lookup, and so is a valid key from the same client until the window passes.
	res := e.do("GET", "/x", map[string]string{"x-api-key": unknown.Raw}, nil)
	if res.StatusCode != 429 || readProblem(t, res).Code != gateway.CodeRateLimited || res.Header.Get("Retry-After") == "" {
		t.Fatalf("6th failure: %d %v", res.StatusCode, res.Header)
	}
	if res := e.do("GET", "/x", map[string]string{"x-api-key": e.key.Key}, nil); res.StatusCode != 429 {
		t.Fatalf("valid key during lockout: %d", res.StatusCode)
	}
	e.clock.Advance(12 * time.Second)
	if res := e.do("GET", "/x", map[string]string{"x-api-key": e.key.Key}, nil); res.StatusCode != 200 {
		t.Fatalf("valid key after 12 s: %d", res.StatusCode)
	}
}

// TestFailedAuthLimitUnderConcurrency: a burst of concurrent wrong keys all pass the check made
// before verification; still only the limit's capacity of them learn their outcome (401), the
// rest are answered 429.
func TestFailedAuthLimitUnderConcurrency(t *testing.T) {
	const n = 64
	gate := &gatedVerifier{arrived: make(chan struct{}, n), open: make(chan struct{})}
	e := newEnv(t, func(c *gateway.Config) {
		c.FailedAuthLimit = 5
		gate.KeyVerifier = c.Keys
		c.Keys = gate
	})
	// Hold every check until all n are in it (or ten seconds have passed): all have passed the
	// limit's first look before any has failed.
	go func() {
		defer close(gate.open)
		for range n {
			select {
			case <-gate.arrived:
			case <-time.After(10 * time.Second):
				return
			}
		}
	}()
	codes := make(chan int, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for range n {
		done.Add(1)
		go func() {
			defer done.Done()
			unknown, _ := keys.Generate("kg")
			start.Wait()
			res := e.do("GET", "/x", map[string]string{"x-api-key": unknown.Raw}, nil)
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	start.Done()
	done.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	t.Logf("answers %v", count)
	if count[401] > 5 || count[401]+count[429] != n {
		t.Fatalf("answers %v: want at most 5 × 401 and the rest 429", count)
	}
}

// gatedVerifier holds each verification until open is closed.
type gatedVerifier struct {
	gateway.KeyVerifier
	arrived chan struct{}
	open    chan struct{}
}

func (g *gatedVerifier) Verify(ctx context.Context, raw string) (keys.Result, error) {
	g.arrived <- struct{}{}
	<-g.open
	return g.KeyVerifier.Verify(ctx, raw)
}
