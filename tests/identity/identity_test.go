// Package identity_test checks, against the real keygate binary over sockets, what a route
// asks of a caller (scopes, issue 14) and what it tells its upstream (the signed identity,
// X-Keygate-Jwt): the upstream verifies the token as docs/identity.md shows, with the keys it
// fetches from the gateway's /.well-known/jwks.json, across key edits and key rotations; and
// the Go and Node verification examples of docs/identity.md, run as they are printed, accept
// what the gateway sends and refuse forgeries.
package identity_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/tests/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}

const (
	adminEmail    = "ada@example.com"
	adminPassword = "correct horse battery staple"
	timeout       = 15 * time.Second
)

// cli runs a command that must succeed and returns its stdout.
func cli(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	res, err := harness.CLI(context.Background(), bin, dir, "", args...)
	if err != nil || res.Code != 0 {
		t.Fatalf("keygate %s: exit %d %v\n%s%s", strings.Join(args, " "), res.Code, err, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

type created struct {
	ID     string   `json:"id"`
	Key    string   `json:"key"`
	OrgID  string   `json:"orgId"`
	Scopes []string `json:"scopes"`
}

func createKey(t *testing.T, bin, dir string, args ...string) created {
	t.Helper()
	var c created
	if err := json.Unmarshal([]byte(cli(t, bin, dir, append([]string{"keys", "create", "--json", "--name", "k"}, args...)...)), &c); err != nil || c.Key == "" {
		t.Fatalf("keys create: %v", err)
	}
	return c
}

// eventually retries until f holds: a change the CLI makes beside the running server reaches
// it through the store's revision, polled about every second.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5 s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// upstream records the headers of the requests it receives.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		w.Write([]byte("upstream ok"))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		return http.Header{}
	}
	return u.seen[len(u.seen)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// claims are the token's claims as an upstream reads them.
type claims struct {
	jwt.Claims
	Org    string            `json:"org"`
	Scopes []string          `json:"scopes"`
	Meta   map[string]string `json:"meta"`
}

// jwks fetches the gateway's public keys over HTTP, as an upstream does.
// jwksMaxAge is the max-age the gateway under test serves its key set with, in seconds:
// $KEYGATE_JWKS_MAX_AGE when a test sets it, else the default five minutes.
func jwksMaxAge() string {
	if d, err := time.ParseDuration(os.Getenv("KEYGATE_JWKS_MAX_AGE")); err == nil {
		return strconv.Itoa(int(d / time.Second))
	}
	return "300"
}

func jwks(t *testing.T, gateway string) jose.JSONWebKeySet {
	t.Helper()
	res, err := http.Get(gateway + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("jwks: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if want := "public, max-age=" + jwksMaxAge(); res.Header.Get("Cache-Control") != want {
		t.Fatalf("jwks Cache-Control %q, want %q", res.Header.Get("Cache-Control"), want)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Algorithm != "ES256" || k.Use != "sig" || k.KeyID == "" {
			t.Fatalf("jwks holds %+v", k)
		}
	}
	return set
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	slices.Sort(out)
	return out
}

// verify checks tok with set as an upstream of audience aud would (ES256 only, the key its kid
// names, iss, aud, exp) and returns its kid and claims.
func verify(t *testing.T, set jose.JSONWebKeySet, tok, iss, aud string) (string, claims) {
	t.Helper()
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse %q: %v", tok, err)
	}
	h := parsed.Headers[0]
	if h.Algorithm != "ES256" || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("token header %+v", h)
	}
	ks := set.Key(h.KeyID)
	if len(ks) != 1 {
		t.Fatalf("kid %q is not in the JWKS %v", h.KeyID, kids(set))
	}
	var c claims
	if err := parsed.Claims(ks[0].Key, &c); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: iss, AnyAudience: jwt.Audience{aud}, Time: time.Now()}, 5*time.Second); err != nil {
		t.Fatalf("claims %+v: %v", c.Claims, err)
	}
	iat, exp := c.IssuedAt.Time(), c.Expiry.Time()
	if exp.Sub(iat) != 2*time.Minute || time.Until(exp) > 2*time.Minute || iat.Second() != 0 || c.NotBefore == nil || !c.NotBefore.Time().Equal(iat) {
		t.Errorf("times: iat %v nbf %v exp %v (now %v)", iat, c.NotBefore, exp, time.Now())
	}
	return h.KeyID, c
}

// keyList is what `keygate identity list|rotate --json` prints.
type keyList struct {
	Keys []struct {
		ID        string     `json:"id"`
		State     string     `json:"state"`
		Active    bool       `json:"active"`
		SignsFrom time.Time  `json:"signsFrom"`
		RetiresAt *time.Time `json:"retiresAt"`
	} `json:"keys"`
	MaxAge int `json:"maxAge"`
}

// TestSignedIdentityOverSockets: a route with --identity-jwt sends its upstream X-Keygate-Jwt
// in place of the credential; the token verifies with the JWKS fetched from the gateway and
// says who called; it is reused within its minute and replaced at the next request after an
// edit of the key; after `keygate identity rotate` beside the running server the JWKS holds
// both keys at once while tokens keep the old kid until the new key's signs_from (the key
// set's max-age later), then carry the new kid, and old ones still verify; a console session
// is vouched for as its user.
func TestSignedIdentityOverSockets(t *testing.T) {
	// A short max-age of the key set (the Cache-Control of /.well-known/jwks.json and the lead a
	// rotated key waits before it signs), for the server and the CLI alike.
	const maxAge = 6
	t.Setenv("KEYGATE_JWKS_MAX_AGE", "6s")
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	up := newUpstream(t)
	plain := newUpstream(t)
	cli(t, bin, dir, "routes", "add", "/signed", up.URL, "--identity-jwt", "--console-session")
	cli(t, bin, dir, "routes", "add", "/plain", plain.URL)
	if err := harness.AddAdmin(context.Background(), bin, dir, adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	k := createKey(t, bin, dir, "--scope", "pets:read", "--scope", "orders:*", "--meta", "plan=pro", "--meta", "team=zoo")
	srv, err := harness.Start(bin, dir, harness.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	iss := srv.GatewayURL // no --gateway-url: the address the gateway listens on

	set := jwks(t, srv.GatewayURL)
	if len(set.Keys) != 1 {
		t.Fatalf("a fresh instance publishes %v", kids(set))
	}

	// The upstream gets one token, never the client's forgery nor the credential.
	through := func(bearer bool) string {
		t.Helper()
		a := call(t, srv.GatewayURL, "GET", "/signed/pets", k.Key, bearer, "X-Keygate-Jwt", "forged.token.here")
		if a.status != 200 {
			t.Fatalf("through the gateway: %d %s", a.status, a.body)
		}
		h := up.last()
		if len(h.Values("X-Keygate-Jwt")) != 1 || h.Get("X-Keygate-Jwt") == "forged.token.here" {
			t.Fatalf("the upstream got X-Keygate-Jwt %q", h.Values("X-Keygate-Jwt"))
		}
		if h.Get("X-Api-Key") != "" || h.Get("Authorization") != "" || strings.Contains(strings.Join(h.Values("Cookie"), ""), k.Key) {
			t.Fatalf("the credential reached the upstream: %v", h)
		}
		return h.Get("X-Keygate-Jwt")
	}
	first := through(false)
	kid1, c := verify(t, set, first, iss, "/signed")
	if c.Subject != k.ID || c.Org != k.OrgID || k.OrgID == "" || !slices.Equal(c.Scopes, []string{"orders:*", "pets:read"}) && !slices.Equal(c.Scopes, []string{"pets:read", "orders:*"}) ||
		len(c.Meta) != 2 || c.Meta["plan"] != "pro" || c.Meta["team"] != "zoo" {
		t.Fatalf("claims %+v (key %+v)", c, k)
	}
	if len(c.Audience) != 1 {
		t.Errorf("aud %v", c.Audience)
	}

	// Minted once per key and minute: the same token again, unless the minute turned between.
	if again := through(true); again != first {
		if _, c2 := verify(t, set, again, iss, "/signed"); c2.IssuedAt.Time().Equal(c.IssuedAt.Time()) {
			t.Fatal("a second token within the same minute")
		}
		first = again
		if through(false) != first {
			t.Fatal("a new token for each request")
		}
	}

	// A route without --identity-jwt sends none, and removes the client's.
	if a := call(t, srv.GatewayURL, "GET", "/plain/x", k.Key, false, "X-Keygate-Jwt", first); a.status != 200 || plain.last().Get("X-Keygate-Jwt") != "" {
		t.Fatalf("a route without an identity: %d, the upstream got %q", a.status, plain.last().Get("X-Keygate-Jwt"))
	}

	// An edit of the key's scopes through the console shows in the very next request's token.
	admin := testutil.NewClient(t, srv.ConsoleURL)
	if err := admin.SignIn(context.Background(), adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	if res, body := admin.Do("PATCH", "/api/v1/keys/"+k.ID, map[string]any{"scopes": []string{"pets:write"}}); res.StatusCode != 200 {
		t.Fatalf("edit the key: %d %s", res.StatusCode, body)
	}
	edited := through(false)
	if edited == first {
		t.Fatal("the token of before the edit was sent after it")
	}
	if _, c := verify(t, set, edited, iss, "/signed"); !slices.Equal(c.Scopes, []string{"pets:write"}) || c.Meta["plan"] != "pro" {
		t.Fatalf("after the edit: %+v", c)
	}
	// And an edit by the CLI beside the running server, once the server has seen it.
	cli(t, bin, dir, "keys", "update", k.ID, "--meta", "plan=enterprise")
	eventually(t, "the CLI's edit in the token", func() bool {
		_, c := verify(t, set, through(false), iss, "/signed")
		return c.Meta["plan"] == "enterprise" && len(c.Meta) == 1 && slices.Equal(c.Scopes, []string{"pets:write"})
	})
	old := through(false)

	// Rotation by the CLI beside the running server. The new key is in the JWKS at once, but
	// tokens keep the old kid until its signs_from (the key set's max-age later: every cache
	// upstream has the new key by then), and carry the new kid from then on. The old tokens
	// still verify.
	var rotation keyList
	rotatedAt := time.Now()
	if err := json.Unmarshal([]byte(cli(t, bin, dir, "identity", "rotate", "--json")), &rotation); err != nil {
		t.Fatal(err)
	}
	rotated := rotation.Keys
	if len(rotated) != 2 || rotated[0].Active || rotated[0].State != "next" || rotated[0].ID == kid1 || rotated[1].ID != kid1 ||
		!rotated[1].Active || rotated[1].State != "current" || rotation.MaxAge != maxAge ||
		rotated[0].SignsFrom.Sub(rotatedAt) < maxAge*time.Second-time.Second || rotated[0].SignsFrom.Sub(rotatedAt) > maxAge*time.Second+time.Second ||
		rotated[1].RetiresAt == nil || !rotated[1].RetiresAt.Equal(rotated[0].SignsFrom.Add(24*time.Hour)) {
		t.Fatalf("identity rotate: %+v (the first key %s)", rotation, kid1)
	}
	kid2, signsFrom := rotated[0].ID, rotated[0].SignsFrom
	eventually(t, "the new key in the JWKS", func() bool { return slices.Contains(kids(jwks(t, srv.GatewayURL)), kid2) })
	if time.Now().After(signsFrom.Add(-2 * time.Second)) {
		t.Fatalf("the JWKS took until %v to publish a key that signs from %v", time.Now(), signsFrom)
	}
	set = jwks(t, srv.GatewayURL)
	if got := kids(set); !slices.Equal(got, kids(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{KeyID: kid1}, {KeyID: kid2}}})) {
		t.Fatalf("jwks after the rotation: %v, want %s and %s", got, kid1, kid2)
	}
	// Until signs_from every token carries the old kid; from it on, the new one.
	var after string
	oldKidSeen := 0
	for {
		sent := time.Now()
		tok := through(false)
		kid, _ := verify(t, set, tok, iss, "/signed")
		if kid == kid2 {
			if sent.Before(signsFrom.Add(-50 * time.Millisecond)) {
				t.Fatalf("a token of the new key at %v, before its signs_from %v", sent, signsFrom)
			}
			after = tok
			break
		}
		if kid != kid1 {
			t.Fatalf("a token with kid %s", kid)
		}
		oldKidSeen++
		if time.Since(signsFrom) > 5*time.Second {
			t.Fatalf("still the old kid 5 s after signs_from %v", signsFrom)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if oldKidSeen < 5 {
		t.Fatalf("only %d tokens of the old key between the rotation and signs_from", oldKidSeen)
	}
	if kid, _ := verify(t, set, old, iss, "/signed"); kid != kid1 {
		t.Fatalf("the old token has kid %s", kid)
	}
	var list keyList
	json.Unmarshal([]byte(cli(t, bin, dir, "identity", "list", "--json")), &list)
	listed := list.Keys
	if len(listed) != 2 || listed[0].ID != kid2 || !listed[0].Active || listed[1].ID != kid1 || listed[1].Active {
		t.Fatalf("identity list: %+v", listed)
	}

	// A console session (the route opts in) is vouched for as its user.
	var me struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if code := admin.Call("GET", "/api/v1/me", nil, &me); code != 200 || me.User.ID == "" {
		t.Fatalf("me: %d %+v", code, me)
	}
	cookie := ""
	for _, ck := range admin.HTTP.Jar.Cookies(mustParse(t, srv.ConsoleURL)) {
		if ck.Name == "keygate_session" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if cookie == "" {
		t.Fatal("no session cookie")
	}
	if a := call(t, srv.GatewayURL, "GET", "/signed/mine", "", false, "Cookie", cookie); a.status != 200 {
		t.Fatalf("a console session through the gateway: %d %s", a.status, a.body)
	}
	h := up.last()
	if h.Get("Cookie") != "" {
		t.Errorf("the session cookie reached the upstream: %q", h.Get("Cookie"))
	}
	if _, c := verify(t, set, h.Get("X-Keygate-Jwt"), iss, "/signed"); c.Subject != me.User.ID || len(c.Scopes) != 0 || len(c.Meta) != 0 {
		t.Fatalf("session claims %+v, want sub %s", c, me.User.ID)
	}
	// Without a credential nobody is vouched for: 401 and nothing forwarded.
	n := up.count()
	if a := call(t, srv.GatewayURL, "GET", "/signed/pets", "", false, "X-Keygate-Jwt", after); a.status != 401 || up.count() != n {
		t.Fatalf("no credential with a replayed token: %d, forwarded %d", a.status, up.count()-n)
	}

	// Restarted behind a proxy (--gateway-url): the issuer is the public URL; the keys, the
	// rotation and the old tokens survive the restart.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	const public = "https://api.example.test"
	srv, err = harness.Start(bin, dir, harness.Options{Args: []string{"--gateway-url", public}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	set = jwks(t, srv.GatewayURL)
	if got := kids(set); len(got) != 2 || !slices.Contains(got, kid1) || !slices.Contains(got, kid2) {
		t.Fatalf("jwks after a restart: %v", got)
	}
	verify(t, set, old, iss, "/signed")
	kid, c := verify(t, set, through(false), public, "/signed")
	if kid != kid2 || c.Issuer != public || c.Subject != k.ID {
		t.Fatalf("behind the proxy: kid %s, claims %+v", kid, c)
	}
}
