package gateway

import (
	"context"
	"strings"

	"github.com/keygate/keygate/backend/keys"
)

// SecretFinder tells which words of logged text are secrets that have no shape to be told by:
// keys imported in another format (Better Auth's, plain keys). *keys.Service is one; the gateway
// uses Config.Keys when it is one, and the console passes its key service to QueryRequests.
type SecretFinder interface {
	// HasForeignSecrets reports whether any key has a secret in another format, at once (one
	// atomic load) while the answer is known; an error means the store cannot say.
	HasForeignSecrets(ctx context.Context) (bool, error)
	// ForeignSecrets answers which of words are a key's secret (of any status). It answers at
	// once, without hashing or a lookup, while no key with a secret in another format exists.
	ForeignSecrets(ctx context.Context, words []string) (map[string]bool, error)
}

// logMask is the one place that decides what the logs keep of the text a request sent: the
// path, the client's X-Request-Id and the allowlisted header values, in the request log (the
// ring the console reads, the rows written, the rows read back, the live stream) and in the
// gateway's own log lines. A credential can be pasted into any of them (a key in User-Agent,
// a session cookie in the path, an imported key in X-Request-Id, "?api_key=" sent
// percent-encoded as part of the path), so each goes through:
//
//   - maskShapes, offline: anything shaped like a Keygate key (checksum or not), a webhook
//     secret, or a long random token (session cookies, reset and setup tokens, most imported
//     keys) — see isRandomToken;
//   - then, when the finder says keys with secrets in another format exist, every word of at
//     least minForeignWord characters, its pieces and the runs of its pieces (candidates.add)
//     are looked up by hash (one query for a whole batch).
//
// It runs when entries are written or read, never on the request path (but for the debug log
// line, when debug logging is on). The query string is never logged at all.
type logMask struct{ finder SecretFinder }

// minForeignWord is the shortest word looked up as a possible imported secret (an import refuses
// shorter plain keys).
const minForeignWord = keys.MinForeignSecret

// loggedIDAndPath masks a request's id and path for the debug log line, as the request log
// masks them. Only with debug logging on: then a path with long words may cost a lookup.
func (g *Gateway) loggedIDAndPath(ctx context.Context, id, path string) (string, string) {
	es := []Entry{{RequestID: id, Path: path}}
	g.mask.entries(ctx, es)
	return es[0].RequestID, es[0].Path
}

// loggedName is what the request log keeps of a header name: the name, unless it is shaped
// like a credential or holds 20 or more letters, digits and '_' without a '-' (no real header
// name does; a key sent as a header's name does, after either engine has changed its case,
// which a lookup could no longer match).
func loggedName(name string) string {
	run := 0
	for i := 0; i < len(name); i++ {
		if c := name[i]; isBase62(c) || c == '_' {
			if run++; run >= 20 {
				return Redacted
			}
		} else {
			run = 0
		}
	}
	return maskShapes(name)
}

// text masks one string (a log message of the HTTP engine).
func (m logMask) text(ctx context.Context, s string) string {
	s = maskShapes(s)
	if m.finder == nil {
		return s
	}
	c := m.candidates(ctx)
	if c == nil {
		return s
	}
	c.add(s)
	return replaceFound(s, m.find(ctx, c))
}

// candidates starts the candidates of a batch: nil while no imported key has a secret in
// another format (nothing to look up), finest pieces only while the store cannot say.
func (m logMask) candidates(ctx context.Context) *candidates {
	some, err := m.finder.HasForeignSecrets(ctx)
	if err == nil && !some {
		return nil
	}
	c := newCandidates()
	c.finestOnly = err != nil
	return c
}

// entries masks the headers (names; allowlisted values), path and request id of es in place and
// drops what they were made from.
func (m logMask) entries(ctx context.Context, es []Entry) {
	for i := range es {
		e := &es[i]
		if e.raw != nil || e.rawHead != nil {
			e.Headers = keptHeaders(e.inboundHeaders())
			e.raw, e.rawHead = nil, nil
		} else {
			e.Headers = keptHeaders(e.Headers)
		}
		e.Path = maskShapes(e.Path)
		e.RequestID = maskShapes(e.RequestID)
	}
	defer func() {
		for i := range es {
			cutValues(es[i].Headers) // after masking: a secret cut in two is no longer found
		}
	}()
	if m.finder == nil || len(es) == 0 {
		return
	}
	c := m.candidates(ctx)
	if c == nil {
		return
	}
	for i := range es {
		e := &es[i]
		c.add(e.Path)
		c.add(e.RequestID)
		for _, vs := range e.Headers {
			for _, v := range vs {
				c.add(v)
			}
		}
	}
	found := m.find(ctx, c)
	if len(found) == 0 {
		return
	}
	for i := range es {
		e := &es[i]
		e.Path = replaceFound(e.Path, found)
		e.RequestID = replaceFound(e.RequestID, found)
		for _, vs := range e.Headers {
			for j, v := range vs {
				vs[j] = replaceFound(v, found)
			}
		}
	}
}

// maskShapes replaces, offline, what is shaped like a credential: a Keygate key (a prefix of
// lowercase letters and digits, '_', 38 or more base62 characters — with or without a valid
// checksum, since a key with a typo still holds almost all of its secret), a webhook secret
// (whsec_ and base64) and any long random token (isRandomToken: a key without its prefix, a
// session cookie, a reset or setup token, a Better Auth key).
func maskShapes(s string) string {
	if len(s) < 32 {
		return s
	}
	return maskBase64(maskTokens(s))
}

// maskBase64 replaces runs of standard base64 (with + / =) of 32 characters or more that hold
// + or =, or whose /-separated pieces average 12 characters or more, when one of the pieces
// between + / = has 12 or more characters mixed as random ones are (mixedLikeRandom): a
// webhook secret without its whsec_, random bytes in base64 — but not a path of words and ids.
func maskBase64(s string) string {
	return maskRuns(s, base64Char, func(i, j int) (int, bool) {
		run := s[i:j]
		return j, len(run) >= 32 && strings.ContainsAny(run, "+/=") &&
			(strings.ContainsAny(run, "+=") || len(run)/(strings.Count(run, "/")+1) >= 12) && randomPiece(run)
	})
}

// randomPiece reports whether a piece of run between + / = has 12 or more characters mixed as
// random ones are.
func randomPiece(run string) bool {
	for _, p := range strings.FieldsFunc(run, func(r rune) bool { return r == '+' || r == '/' || r == '=' }) {
		if len(p) >= 12 && mixedLikeRandom(p) {
			return true
		}
	}
	return false
}

func base64Char(c byte) bool { return tokenChar(c) || c == '+' || c == '/' || c == '=' }

// maskTokens replaces the runs of token characters that are key-shaped or random, and webhook
// secrets.
func maskTokens(s string) string {
	return maskRuns(s, tokenChar, func(i, j int) (int, bool) {
		run := s[i:j]
		if isRandomToken(run) || keyShaped(run) {
			return j, true
		}
		if !strings.Contains(run, "whsec_") {
			return j, false
		}
		// base64 goes on with + / =
		for j < len(s) && base64Char(s[j]) {
			j++
		}
		return j, j-i >= len("whsec_")+20
	})
}

// maskRuns replaces with Redacted each longest run s[i:j] of bytes for which in holds when
// judge(i, j) says so; judge also says where the run ends (it may take in more of s).
func maskRuns(s string, in func(byte) bool, judge func(i, j int) (end int, mask bool)) string {
	var b strings.Builder
	last := 0 // s[last:i] is not yet written
	for i := 0; i < len(s); {
		if !in(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && in(s[j]) {
			j++
		}
		end, mask := judge(i, j)
		if mask {
			b.WriteString(s[last:i])
			b.WriteString(Redacted)
			last = end
		}
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// tokenChar: the characters of keys and tokens (base62, base64url).
func tokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// keyShaped reports whether run holds a Keygate key's shape: '_' preceded by a lowercase letter
// or digit and followed by 38 or more base62 characters.
func keyShaped(run string) bool {
	for i := 1; i < len(run); i++ {
		if run[i] != '_' || !(run[i-1] >= 'a' && run[i-1] <= 'z' || run[i-1] >= '0' && run[i-1] <= '9') {
			continue
		}
		n := 0
		for k := i + 1; k < len(run) && isBase62(run[k]); k++ {
			n++
		}
		if n >= 38 {
			return true
		}
	}
	return false
}

func isBase62(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isRandomToken reports whether a run of token characters looks like random key material: at
// least 32 characters with upper- and lowercase letters, and either a digit or both cases
// making up a quarter of the letters each. Random base62 or base64url of that length fails
// this about once in 100,000; hex digests, UUIDs, version strings, words and camelCase names
// without digits are kept.
func isRandomToken(run string) bool { return len(run) >= 32 && mixedLikeRandom(run) }

// mixedLikeRandom: upper- and lowercase letters, and either a digit or both cases making up a
// quarter of the letters each.
func mixedLikeRandom(run string) bool {
	var upper, lower, digit int
	for i := 0; i < len(run); i++ {
		switch c := run[i]; {
		case c >= 'A' && c <= 'Z':
			upper++
		case c >= 'a' && c <= 'z':
			lower++
		case c >= '0' && c <= '9':
			digit++
		}
	}
	if upper == 0 || lower == 0 {
		return false
	}
	letters := upper + lower
	return digit > 0 || upper*4 >= letters && lower*4 >= letters
}

var _ SecretFinder = (*keys.Service)(nil)
