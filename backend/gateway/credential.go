package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/keygate/keygate/backend/cookies"
)

// maxCredentialLen bounds a presented credential; anything longer is malformed.
const maxCredentialLen = 512

// CredentialKind says where a credential was found.
type CredentialKind uint8

const (
	CredentialNone CredentialKind = iota
	CredentialHeader
	CredentialBearer
	CredentialSession
	CredentialQuery
)

// String names the kind for logs.
func (k CredentialKind) String() string {
	switch k {
	case CredentialHeader:
		return "x-api-key"
	case CredentialBearer:
		return "bearer"
	case CredentialSession:
		return "session"
	case CredentialQuery:
		return "query"
	}
	return "none"
}

// Credential is what a request presented to authenticate.
type Credential struct {
	Kind  CredentialKind
	Value string
}

var (
	// ErrNoCredential means the request presented nothing to authenticate with.
	ErrNoCredential = errors.New("no credential")
	// ErrMalformedCredential means a credential is present but unusable: empty, repeated with
	// different values, too long or badly encoded.
	ErrMalformedCredential = errors.New("malformed credential")
)

// CredentialSources says which optional places ExtractCredential may look in.
type CredentialSources struct {
	// Cookie admits the console session cookie.
	Cookie bool
	// QueryParam names the query parameter that may carry a key ("" refuses the query string).
	QueryParam string
}

// ExtractCredential finds the credential in a request, in order: the x-api-key header, an
// Authorization Bearer token, the session cookie, then (only when the route allows it) the
// query parameter. The first place that holds anything decides: a malformed x-api-key is not
// rescued by a good cookie, so a request never silently authenticates as someone else.
func ExtractCredential(h http.Header, rawQuery string, src CredentialSources) (Credential, error) {
	return extractCredential(h["X-Api-Key"], h["Authorization"], h["Cookie"], rawQuery, src)
}

// extractCredential is ExtractCredential over the values of the three headers that can carry a
// credential, whichever engine read them.
func extractCredential(apiKey, authorization, cookie []string, rawQuery string, src CredentialSources) (Credential, error) {
	if vs := apiKey; len(vs) > 0 {
		return single(CredentialHeader, vs, func(v string) string { return v })
	}
	if vs := authorization; len(vs) > 0 {
		var tokens []string
		for _, v := range vs {
			if t, ok := bearer(v); ok {
				tokens = append(tokens, t)
			}
		}
		if len(tokens) > 0 {
			if len(tokens) != len(vs) {
				return Credential{}, ErrMalformedCredential
			}
			return single(CredentialBearer, tokens, func(v string) string { return v })
		}
	}
	if src.Cookie {
		if c, ok, err := sessionCookie(cookie); ok || err != nil {
			return c, err
		}
	}
	if src.QueryParam != "" && rawQuery != "" {
		vals, err := queryValues(rawQuery, src.QueryParam)
		if err != nil {
			return Credential{}, ErrMalformedCredential
		}
		if len(vals) > 0 {
			return single(CredentialQuery, vals, func(v string) string { return v })
		}
	}
	return Credential{}, ErrNoCredential
}

// single accepts one non-empty value, or repeats of the same value.
func single(kind CredentialKind, vs []string, clean func(string) string) (Credential, error) {
	v := strings.TrimSpace(clean(vs[0]))
	for _, o := range vs[1:] {
		if strings.TrimSpace(clean(o)) != v {
			return Credential{}, ErrMalformedCredential
		}
	}
	if v == "" || len(v) > maxCredentialLen || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Credential{}, ErrMalformedCredential
	}
	return Credential{Kind: kind, Value: v}, nil
}

// bearer returns the token of an "Authorization: Bearer TOKEN" value.
func bearer(v string) (string, bool) {
	v = strings.TrimLeft(v, " \t")
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", true // "Bearer" with no token: ours, and malformed
	}
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", false // e.g. "BearerX": some other scheme
	}
	return strings.Trim(rest, " \t"), true
}

// sessionCookie finds the session cookie (parsed by backend/cookies, as the console does);
// the __Secure- name wins when both are sent.
func sessionCookie(lines []string) (Credential, bool, error) {
	if len(lines) == 0 {
		return Credential{}, false, nil
	}
	pick := cookies.Values(lines, SecureSessionCookie)
	if len(pick) == 0 {
		pick = cookies.Values(lines, SessionCookie)
	}
	if len(pick) == 0 {
		return Credential{}, false, nil
	}
	c, err := single(CredentialSession, pick, func(v string) string { return v })
	return c, true, err
}

// queryValues returns the unescaped values of param in a raw query, in order.
func queryValues(rawQuery, param string) ([]string, error) {
	if !strings.Contains(rawQuery, param) {
		return nil, nil
	}
	var out []string
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if k != param {
			uk, err := url.QueryUnescape(k)
			if err != nil || uk != param {
				continue
			}
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return nil, err
		}
		out = append(out, uv)
	}
	return out, nil
}

// withoutQueryParam returns rawQuery without any pair whose key is param, keeping the order of
// the rest (url.Values.Encode would sort them and change what the upstream sees).
func withoutQueryParam(rawQuery, param string) string {
	if param == "" || !strings.Contains(rawQuery, param) {
		return rawQuery
	}
	var b strings.Builder
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); k == param || err == nil && uk == param {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}

// withoutSessionCookie removes the console's cookies from Cookie header lines, dropping lines
// that become empty.
func withoutSessionCookie(lines []string) []string { return cookies.Without(lines) }
