package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/keys"
)

// TestMaskShapes: every credential shape, pasted anywhere in a logged string, is masked; what
// is not a credential is kept as it was.
func TestMaskShapes(t *testing.T) {
	k, err := keys.Generate("kg")
	if err != nil {
		t.Fatal(err)
	}
	key := k.Raw
	body := strings.TrimPrefix(key, "kg_")
	session := "Xq3_-vB9kLmN0pQrStUvWxYz12345678AbCdEfGhIjK"   // base64url of 32 bytes: 43 characters
	reset := "aZ3kQ9mB2nC8xV7lP1oI4uY6tR5eW0qS"                // 32 base62 characters, like reset and setup tokens
	letters := "ba_" + strings.Repeat("QwErTyUiOpAsDfGh", 4)   // Better Auth's default: 64 letters
	whsec := "whsec_3q2+7w/bAc9Dk1Lm5Nn0Pp8Qq4Rr6Ss+Tt7Uu2Vv=" // webhook secret (base64 with + / =)
	for _, tc := range []struct{ name, in, secret string }{
		{"key alone", key, key},
		{"key in parentheses", "app/1.0 (" + key + ")", key},
		{"key after a colon", "key:" + key, key},
		{"key after a slash", "/v1/" + key + "/items", key},
		{"key glued to a word", "token" + key, body},
		{"key with a character appended", key + "x", body},
		{"key with a wrong checksum", key[:len(key)-1] + "0", body[:30]},
		{"key without its prefix", "ua " + body, body},
		{"key in a query sent in the path", "/x?api_key=" + key, key},
		{"session cookie value", "ua/1 " + session, session},
		{"reset token", "/reset/" + reset, reset},
		{"Better Auth key", "sdk " + letters, letters},
		{"Better Auth key without prefix", "sdk=" + letters[3:], letters[3:]},
		{"webhook secret", "hook " + whsec + " end", whsec[6:]},
		{"webhook secret without whsec_", "/hooks/" + whsec[6:], whsec[6:]},
		{"base64 with slashes only", "ua Ab3dEfGhIjKlMn0/pQrStUvWx9zAbCd/EfGhIjKlMn0", "pQrStUvWx9zAbCd"},
	} {
		got := maskShapes(tc.in)
		if strings.Contains(got, tc.secret) || !strings.Contains(got, Redacted) {
			t.Errorf("%s: %q masked as %q", tc.name, tc.in, got)
		}
	}
	for _, keep := range []string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		`"33a64df551425fcc55e4d42a148795d9f25f89d4"`,        // hex ETag
		"123e4567-e89b-12d3-a456-426614174000",              // UUID
		"/api/v1/getUserAccountSettingsForOrganizationName", // camelCase, no digit
		"sec-gw-12345", "application/vnd.github.v3+json", "kg_short",
		"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", // uppercase hex
		"/api/v2/Organizations/Acme/Members/12345/Permissions",             // a path of words and ids
		"/orders/8f2c0b7e-1d2a-4c3b-9e8f-0a1b2c3d4e5f/items",
	} {
		if got := maskShapes(keep); got != keep {
			t.Errorf("%q changed to %q", keep, got)
		}
	}
}

// TestLoggedNames: a credential sent as a header's name (either engine changes its case) is not
// kept; real header names are.
func TestLoggedNames(t *testing.T) {
	k, _ := keys.Generate("kg")
	for _, name := range []string{http.CanonicalHeaderKey(k.Raw), "Ba_" + strings.Repeat("q", 24), "X-Token-" + "Ab3dEfGhIjKlMn0pQrStUvWx9z"} {
		if got := LoggedHeaders(http.Header{name: {"1"}}); len(got[Redacted]) != 1 || len(got) != 1 {
			t.Errorf("header name %q logged as %v", name, got)
		}
	}
	for _, name := range []string{"X-Amz-Server-Side-Encryption-Customer-Algorithm", "Sec-Websocket-Extensions", "Access-Control-Request-Headers", "X_Forwarded_For"} {
		if got := LoggedHeaders(http.Header{name: {"v"}}); len(got[name]) != 1 {
			t.Errorf("header name %q logged as %v", name, got)
		}
	}
}

// finderFunc is a SecretFinder over a fixed set of secrets; err makes every lookup fail.
type finderFunc struct {
	secrets map[string]bool
	err     error
	asked   [][]string
}

func (f *finderFunc) HasForeignSecrets(context.Context) (bool, error) { return f.err == nil, f.err }

func (f *finderFunc) ForeignSecrets(_ context.Context, words []string) (map[string]bool, error) {
	f.asked = append(f.asked, words)
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]bool{}
	for _, w := range words {
		if f.secrets[w] {
			out[w] = true
		}
	}
	return out, nil
}

// TestLogMaskForeignSecrets: an imported key (no shape: short, one case, or only letters) is
// masked wherever an entry keeps text — allowlisted header values, path, request id — in one
// lookup per batch; a lookup that fails masks every candidate word.
func TestLogMaskForeignSecrets(t *testing.T) {
	secret := "imported-plain-key-2024" // no credential shape at all
	f := &finderFunc{secrets: map[string]bool{secret: true}}
	m := logMask{f}
	es := []Entry{
		{Path: "/v1/" + secret + "/items", RequestID: secret, raw: http.Header{
			"User-Agent":    {"app/1.0 (" + secret + ")"},
			"Origin":        {"https://x.example/?k=" + secret},
			"Accept":        {"application/json"},
			"Authorization": {"Bearer " + secret},
		}},
		{Path: "/x%3Fapi_key=" + secret, rawHead: []byte("User-Agent: key:" + secret + "\r\nX-Request-Id: " + secret + "\r\n")},
		{Path: "/plain", raw: http.Header{"User-Agent": {strings.Repeat("y", 500) + " " + secret}}},
	}
	m.entries(context.Background(), es)
	if len(f.asked) != 1 {
		t.Fatalf("%d lookups for one batch, want 1", len(f.asked))
	}
	for i, e := range es {
		all := e.Path + " " + e.RequestID
		for _, vs := range e.Headers {
			all += " " + strings.Join(vs, " ")
		}
		if strings.Contains(all, secret) || strings.Contains(all, secret[:12]) {
			t.Errorf("entry %d keeps the imported secret: %q", i, all)
		}
		if e.raw != nil || e.rawHead != nil {
			t.Errorf("entry %d keeps its raw headers", i)
		}
	}
	if got := es[0].Headers.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q", got)
	}
	if got := es[0].Path; got != "/v1/"+Redacted+"/items" {
		t.Errorf("path = %q", got)
	}
	if v := es[2].Headers.Get("User-Agent"); len(v) > maxLoggedValueBytes {
		t.Errorf("User-Agent not cut: %d bytes", len(v))
	}

	// The store cannot answer: candidate words are masked, short ones kept.
	down := logMask{&finderFunc{err: errors.New("store down")}}
	es = []Entry{{Path: "/v1/items/" + secret, raw: http.Header{"User-Agent": {"curl/8.5.0"}}}}
	down.entries(context.Background(), es)
	if es[0].Path != "/v1/items/"+Redacted || es[0].Headers.Get("User-Agent") != "curl/8.5.0" {
		t.Errorf("with the store down: path %q, User-Agent %q", es[0].Path, es[0].Headers.Get("User-Agent"))
	}
}

// TestLogMaskGluedForeignSecrets: an imported secret that itself holds URL punctuation is masked
// whole when glued to other text on both sides by punctuation — in a header value, a path
// segment, after "key=", percent-encoded in a path — with every punctuation character the word
// splitting cuts at; each place alone in its batch (a secret found in one place is masked in
// all), one lookup per batch; the text around it is kept.
func TestLogMaskGluedForeignSecrets(t *testing.T) {
	var secrets []string
	for _, p := range []string{"=", ":", "/", "?", "&", "#", "@"} {
		secrets = append(secrets, "abc"+p+"Def"+p+"ghi"+p+"123")
	}
	secrets = append(secrets, "abc:Def/ghi=123", "zz9@host.example:pw", "Zm9vYmFyYmF6==", "=lead/ing", "a=b=c=d=e=f", "q1=q2:q3/q4?q5&q6#q7@q8")
	known := map[string]bool{}
	for _, s := range secrets {
		known[s] = true
	}
	esc := strings.NewReplacer("=", "%3D", ":", "%3A", "/", "%2F", "?", "%3F", "&", "%26", "#", "%23", "@", "%40")
	for _, secret := range secrets {
		enc := esc.Replace(secret)
		type place struct{ path, ua, origin, rid string }
		for _, p := range []place{
			{path: "/x/" + secret + "/y"},
			{path: "/x?token=" + secret + "&next=1"},
			{path: "/x/a:" + secret + "@b/y"},
			{path: "/x/" + enc + "/y"},
			{path: "/x/a%3D" + enc + "%26b/y"},
			{path: "/x%3Fapi_key%3D" + enc + "%26z%3D1"},
			{ua: "app/1.0 key=" + secret + "&more"},
			{ua: "app/1.0 (+https://x.example/cb#" + secret + "#y)"},
			{origin: "https://x.example/a:" + secret + ":b/c"},
			{rid: "id=" + secret + "/1"},
		} {
			f := &finderFunc{secrets: known}
			e := Entry{Path: p.path, RequestID: p.rid, raw: http.Header{}}
			if p.ua != "" {
				e.raw["User-Agent"] = []string{p.ua}
			}
			if p.origin != "" {
				e.raw["Origin"] = []string{p.origin}
			}
			es := []Entry{e}
			logMask{f}.entries(context.Background(), es)
			if len(f.asked) != 1 {
				t.Fatalf("%q: %d lookups for one batch, want 1", secret, len(f.asked))
			}
			sent := p.path + p.rid + p.ua + p.origin
			got := es[0].Path + es[0].RequestID + es[0].Headers.Get("User-Agent") + es[0].Headers.Get("Origin")
			if strings.Contains(got, secret) || strings.Contains(got, enc) || !strings.Contains(got, Redacted) {
				t.Errorf("%q: %q kept as %q", secret, sent, got)
			}
			around := strings.SplitN(strings.ReplaceAll(sent, enc, secret), secret, 2)
			if !strings.HasPrefix(got, around[0]) || !strings.HasSuffix(got, around[1]) {
				t.Errorf("%q: %q over-masked as %q", secret, sent, got)
			}
		}
	}
}

// TestLogMaskKeepsOrdinaryText: with imported keys present, text that holds none of them is kept
// as it was, however many candidates it yields.
func TestLogMaskKeepsOrdinaryText(t *testing.T) {
	f := &finderFunc{secrets: map[string]bool{"abc:Def/ghi=123": true, "imported-plain-key-2024": true}}
	m := logMask{f}
	keep := []string{
		"/v1/orders/8f2c0b7e-1d2a-4c3b-9e8f-0a1b2c3d4e5f/items?x=1",
		"/api/v2/Organizations/Acme/Members/12345/Permissions",
		"/x/abc:Def/ghi=1234/y", "/x/abc:Def/ghi=12", "/x/bc:Def/ghi=123/y",
		"/search%3Fq%3Dhello%20world%26page%3D2",
		"https://example.com:8443/path/to/page?query=value#fragment",
	}
	for _, p := range keep {
		es := []Entry{{Path: p, raw: http.Header{"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " + p}}}}
		m.entries(context.Background(), es)
		if es[0].Path != p || !strings.HasSuffix(es[0].Headers.Get("User-Agent"), p) {
			t.Errorf("%q changed to %q (User-Agent %q)", p, es[0].Path, es[0].Headers.Get("User-Agent"))
		}
	}
}

// TestLogMaskCandidatesBounded: a hostile line of 10,000 pieces costs a bounded number of
// looked-up strings (runs of pieces per string and per batch are capped), in one lookup; without
// imported keys nothing at all is looked up.
func TestLogMaskCandidatesBounded(t *testing.T) {
	var b strings.Builder
	for i := range 10_000 {
		fmt.Fprintf(&b, "p%06d:", i) // 8-character pieces, every one a candidate word
	}
	line := b.String()
	short := strings.Repeat("ab=", 10_000) // pieces too short alone, runs long enough
	f := &finderFunc{secrets: map[string]bool{}}
	m := logMask{f}
	es := []Entry{{Path: "/" + line, RequestID: short, raw: http.Header{"User-Agent": {short + " " + line}}}}
	m.entries(context.Background(), es)
	if len(f.asked) != 1 {
		t.Fatalf("%d lookups, want 1", len(f.asked))
	}
	// The 10,000 pieces of line are looked up each (as before); runs add at most
	// maxStringRuns for each of the three strings.
	if n := len(f.asked[0]); n > 10_000+3*maxStringRuns {
		t.Errorf("%d strings looked up for a line of 10,000 pieces", n)
	}
	c := newCandidates()
	c.add(short + " " + line + " " + strings.ReplaceAll(short, "=", "%3D"))
	if c.runs > 2*maxStringRuns {
		t.Errorf("%d runs for one string, cap %d", c.runs, 2*maxStringRuns)
	}

	none := &finderFunc{}
	noKeys := logMask{noForeign{none}}
	es = []Entry{{Path: "/" + line}}
	noKeys.entries(context.Background(), es)
	if len(none.asked) != 0 {
		t.Errorf("looked up %d times without imported keys", len(none.asked))
	}
}

// noForeign is a finder that says no imported keys exist.
type noForeign struct{ *finderFunc }

func (noForeign) HasForeignSecrets(context.Context) (bool, error) { return false, nil }

// BenchmarkLogMaskEntries: the cost of masking a persisted batch of 64 entries (a browser's
// headers, a path with an id), off the request path: by shape only (no imported keys), and
// with a finder that looks every candidate word up (here answered from memory).
func BenchmarkLogMaskEntries(b *testing.B) {
	head := []byte("Host: api.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n" +
		"Accept: application/json\r\nAccept-Language: en-US,en;q=0.9\r\nX-Api-Key: kg_secret\r\nX-Request-Id: 123e4567-e89b-12d3-a456-426614174000\r\n")
	for _, bc := range []struct {
		name string
		m    logMask
	}{{"shapes", logMask{}}, {"imported keys exist", logMask{&finderFunc{secrets: map[string]bool{}}}}} {
		b.Run(bc.name, func(b *testing.B) {
			es := make([]Entry, 64)
			b.ReportAllocs()
			for b.Loop() {
				for i := range es {
					es[i] = Entry{Path: "/v1/orders/8f2c0b7e-1d2a-4c3b-9e8f-0a1b2c3d4e5f/items", RequestID: "abc-1", rawHead: head}
				}
				if f, ok := bc.m.finder.(*finderFunc); ok {
					f.asked = f.asked[:0]
				}
				bc.m.entries(context.Background(), es)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/64, "ns/entry")
		})
	}
}
