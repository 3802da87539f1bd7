package identity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keygate/keygate/tests/harness"
)

// exampleBlock is a code block of docs/identity.md that prints a file: the comment naming the
// file, then the fenced block.
var exampleBlock = regexp.MustCompile("(?s)<!-- example: (\\S+) -->\n```\\w+\n(.*?)```\n")

// TestExamplesAreTheDocs: the verification examples docs/identity.md prints are the files
// under docs/examples/identity that TestExamplesAsUpstreams runs, byte for byte.
func TestExamplesAreTheDocs(t *testing.T) {
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "identity.md"))
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, m := range exampleBlock.FindAllSubmatch(doc, -1) {
		name := string(m[1])
		shown[name] = true
		file, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("docs/identity.md prints %s: %v", name, err)
			continue
		}
		if string(file) != string(m[2]) {
			t.Errorf("docs/identity.md's block for %s differs from the file: copy the file into the block", name)
		}
	}
	for _, name := range []string{"docs/examples/identity/go/main.go", "docs/examples/identity/node/upstream.mjs"} {
		if !shown[name] {
			t.Errorf("docs/identity.md does not print %s", name)
		}
	}
}

// TestExamplesAsUpstreams runs the Go and the Node example of docs/identity.md, as they are
// printed, as the upstreams of a real gateway: each accepts what comes through the gateway
// (also after a rotation, which it learns from the JWKS) and refuses forged tokens sent to it
// directly.
func TestExamplesAsUpstreams(t *testing.T) {
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed to run the Node example of docs/identity.md (scripts/setup.sh installs it)")
	}
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	goUpstream := filepath.Join(t.TempDir(), "upstream")
	build := exec.Command("go", "build", "-o", goUpstream, "./docs/examples/identity/go")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the Go example: %v\n%s", err, out)
	}

	dir := filepath.Join(t.TempDir(), "data")
	other := newUpstream(t) // a route of another API: its tokens are not for the examples
	cli(t, bin, dir, "routes", "add", "/other", other.URL, "--identity-jwt")
	k := createKey(t, bin, dir, "--scope", "pets:read", "--meta", "plan=pro")
	srv, err := harness.Start(bin, dir, harness.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	// The examples' ports are chosen once the server listens: a port the kernel gives the
	// gateway cannot be one of them (it once was, and the gateway proxied /go to itself).
	goPort, nodePort := freePort(t), freePort(t)
	cli(t, bin, dir, "routes", "add", "/go", fmt.Sprintf("http://127.0.0.1:%d", goPort), "--identity-jwt")
	cli(t, bin, dir, "routes", "add", "/node", fmt.Sprintf("http://127.0.0.1:%d", nodePort), "--identity-jwt")

	examples := []struct {
		name, prefix string
		port         int
		cmd          *exec.Cmd
	}{
		{"go", "/go", goPort, exec.Command(goUpstream)},
		{"node", "/node", nodePort, exec.Command(node, filepath.Join(root, "docs", "examples", "identity", "node", "upstream.mjs"))},
	}
	for _, ex := range examples {
		ex.cmd.Env = append(os.Environ(), "KEYGATE_URL="+srv.GatewayURL, "AUDIENCE="+ex.prefix,
			fmt.Sprintf("LISTEN=127.0.0.1:%d", ex.port), fmt.Sprintf("PORT=%d", ex.port))
		out := &strings.Builder{}
		ex.cmd.Stdout, ex.cmd.Stderr = out, out
		if err := ex.cmd.Start(); err != nil {
			t.Fatalf("start the %s example: %v", ex.name, err)
		}
		t.Cleanup(func() {
			ex.cmd.Process.Kill()
			ex.cmd.Wait()
			if t.Failed() {
				t.Logf("the %s example said:\n%s", ex.name, out)
			}
		})
		waitListening(t, ex.name, ex.port)
		eventually(t, "the route "+ex.prefix, func() bool { // (added while the server runs)
			return call(t, srv.GatewayURL, "GET", ex.prefix+"/pets", k.Key, false).status != 404
		})
	}

	// A real token of another route (aud /other), and the current key id, for the forgeries.
	if a := call(t, srv.GatewayURL, "GET", "/other/x", k.Key, false); a.status != 200 {
		t.Fatalf("the other route: %d %s", a.status, a.body)
	}
	otherToken := other.last().Get("X-Keygate-Jwt")
	kid := jwks(t, srv.GatewayURL).Keys[0].KeyID

	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			through := func(when string) {
				t.Helper()
				a := call(t, srv.GatewayURL, "GET", ex.prefix+"/pets", k.Key, false)
				var who claims
				json.Unmarshal([]byte(a.body), &who)
				if a.status != 200 || who.Subject != k.ID || who.Org != k.OrgID || len(who.Scopes) != 1 || who.Meta["plan"] != "pro" {
					t.Fatalf("%s: through the gateway the example answered %d %s", when, a.status, a.body)
				}
			}
			through("first request")

			// Sent to the example directly, past the gateway.
			direct := fmt.Sprintf("http://127.0.0.1:%d", ex.port)
			impostor := sign(t, newKey(t), kid, "ES256", ex.prefix, srv.GatewayURL, k)
			parts := strings.Split(impostor, ".")
			for _, f := range []struct{ what, token string }{
				{"no token", ""},
				{"not a token", "forged.token.here"},
				{"unsigned (alg none)", b64json(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}) + "." + parts[1] + "."},
				{"signed with another key under the gateway's kid", impostor},
				{"signed with another key under its own kid", sign(t, newKey(t), "attacker", "ES256", ex.prefix, srv.GatewayURL, k)},
				{"HS256 keyed with the gateway's public key", hs256(t, jwks(t, srv.GatewayURL).Keys[0], kid, ex.prefix, srv.GatewayURL, k)},
				{"a gateway token with its claims changed", tamper(t, gatewayToken(t, srv.GatewayURL, other, k))},
				{"a gateway token for another route", otherToken},
			} {
				a := call(t, direct, "GET", "/pets", "", false, "X-Keygate-Jwt", f.token)
				if a.status != 401 || !strings.HasPrefix(a.body, "not signed by Keygate") {
					t.Errorf("%s: the example answered %d %s", f.what, a.status, a.body)
				}
			}
		})
	}

	// After an emergency rotation (the new key signs at once) the examples fetch the set again
	// for the new kid.
	cli(t, bin, dir, "identity", "rotate", "--now")
	eventually(t, "tokens of the new key", func() bool {
		call(t, srv.GatewayURL, "GET", "/other/x", k.Key, false)
		return tokenKid(t, other.last().Get("X-Keygate-Jwt")) != kid
	})
	for _, ex := range examples {
		a := call(t, srv.GatewayURL, "GET", ex.prefix+"/pets", k.Key, false)
		if a.status != 200 || !strings.Contains(a.body, k.ID) {
			t.Errorf("%s after the rotation: %d %s", ex.name, a.status, a.body)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitListening(t *testing.T, name string, port int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s example does not listen on %d", name, port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// forgedClaims are what a token of the gateway would say about k for aud.
func forgedClaims(aud, iss string, k created) claims {
	now := time.Now()
	return claims{
		Claims: jwt.Claims{Issuer: iss, Subject: k.ID, Audience: jwt.Audience{aud}, IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))},
		Org: k.OrgID, Scopes: []string{"*"}, Meta: map[string]string{},
	}
}

// sign makes a token with key under kid that claims what the gateway would.
func sign(t *testing.T, key any, kid string, alg jose.SignatureAlgorithm, aud, iss string, k created) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(forgedClaims(aud, iss, k)).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// hs256 is the algorithm-confusion forgery: HMAC keyed with the bytes of the gateway's public
// key, which a verifier that trusted the header's alg would accept.
func hs256(t *testing.T, pub jose.JSONWebKey, kid, aud, iss string, k created) string {
	t.Helper()
	b, err := pub.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, b, kid, jose.HS256, aud, iss, k)
}

func gatewayToken(t *testing.T, gateway string, u *upstream, k created) string {
	t.Helper()
	if a := call(t, gateway, "GET", "/other/x", k.Key, false); a.status != 200 {
		t.Fatalf("the other route: %d %s", a.status, a.body)
	}
	return u.last().Get("X-Keygate-Jwt")
}

// tamper keeps tok's header and signature and changes its claims: another subject, every
// scope, and the example's audience.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(b, &c)
	c["sub"], c["scopes"], c["aud"] = "key_someone_else", []string{"*"}, []string{"/go", "/node"}
	return parts[0] + "." + b64json(c) + "." + parts[2]
}

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenKid(t *testing.T, tok string) string {
	t.Helper()
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse %q: %v", tok, err)
	}
	return parsed.Headers[0].KeyID
}
