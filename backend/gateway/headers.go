package gateway

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/keygate/keygate/backend/keys"
)

// loggedValueHeaders are the request headers whose values the request log keeps (lower case).
// Every other header is logged by name only, its value replaced by "[redacted]": a header the
// gateway does not know may hold a token (Private-Token, X-Upstream-Token,
// X-Amz-Security-Token, a key with a typo, …), and the log reaches the database, backups, the
// API and every role that may read it. Add a name here only when no deployment could put a
// secret in it. The migration that redacted older rows (backend/store/migrations,
// *_request_log_redact.sql) lists the same names; a test keeps the two equal.
var loggedValueHeaders = map[string]bool{
	"accept": true, "accept-charset": true, "accept-encoding": true, "accept-language": true,
	"cache-control": true, "connection": true, "content-encoding": true, "content-language": true,
	"content-length": true, "content-type": true, "dnt": true, "expect": true, "if-match": true,
	"if-modified-since": true, "if-none-match": true, "if-range": true, "if-unmodified-since": true,
	"origin": true, "pragma": true, "priority": true, "range": true, "sec-fetch-dest": true,
	"sec-fetch-mode": true, "sec-fetch-site": true, "sec-fetch-user": true, "te": true,
	"upgrade": true, "upgrade-insecure-requests": true, "user-agent": true, "x-request-id": true,
	"x-requested-with": true,
}

// LoggedValueHeaders returns the lower-case names of the headers whose values are logged,
// sorted.
func LoggedValueHeaders() []string {
	out := make([]string, 0, len(loggedValueHeaders))
	for n := range loggedValueHeaders {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Redacted replaces a header value the request log does not keep.
const Redacted = "[redacted]"

// Limits of what the request log keeps of one request's headers.
const (
	maxLoggedHeaders    = 64
	maxLoggedValueBytes = 512
)

// LoggedHeaders is what the request log keeps of request headers: every name (at most 64, in
// order), and values only for the allowlist (loggedValueHeaders), each cut to 512 bytes after
// anything shaped like a credential is replaced (maskShapes; logMask masks imported keys too).
// Other values become "[redacted]", one per value. It is used before anything is stored or
// shown, and again on rows read back, so older rows never show more than new ones.
func LoggedHeaders(h http.Header) http.Header { return cutValues(keptHeaders(h)) }

// keptHeaders is LoggedHeaders before values are cut, so that logMask sees whole words.
func keptHeaders(h http.Header) http.Header {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) > maxLoggedHeaders {
		names = names[:maxLoggedHeaders]
	}
	out := make(http.Header, len(names))
	for _, k := range names {
		vs := make([]string, 0, len(h[k]))
		keep := loggedValueHeaders[strings.ToLower(k)]
		for _, v := range h[k] {
			if keep {
				vs = append(vs, maskShapes(v))
			} else {
				vs = append(vs, Redacted)
			}
		}
		n := loggedName(k)
		out[n] = append(out[n], vs...)
	}
	return out
}

// cutValues cuts each value of h to maxLoggedValueBytes, in place.
func cutValues(h http.Header) http.Header {
	for _, vs := range h {
		for i, v := range vs {
			if len(v) > maxLoggedValueBytes {
				vs[i] = v[:maxLoggedValueBytes]
			}
		}
	}
	return h
}

// ForwardedHost returns the X-Forwarded-Host and X-Forwarded-Proto the upstream gets. They
// describe how the public reached the gateway, so they come only from what the operator
// configured or a trusted proxy said, never from an arbitrary client's Host header:
//
//   - public (the gateway's configured public URL, may be nil) gives both;
//   - else, from a trusted proxy, its X-Forwarded-Host (first value) and X-Forwarded-Proto
//     ("http" or "https" only);
//   - else no host ("") and the scheme of the connection itself (tls).
func ForwardedHost(public *url.URL, trustedPeer bool, in http.Header, tls bool) (host, proto string) {
	proto = "http"
	if tls {
		proto = "https"
	}
	if public != nil && public.Host != "" {
		return public.Host, public.Scheme
	}
	if trustedPeer {
		if v := in["X-Forwarded-Host"]; len(v) > 0 && validHost(v[0]) {
			host = v[0]
		}
		if v := in["X-Forwarded-Proto"]; len(v) > 0 && (v[0] == "http" || v[0] == "https") {
			proto = v[0]
		}
	}
	return host, proto
}

// validHost accepts a host[:port] made of the characters a host name, IPv4 or bracketed IPv6
// address and port can hold.
func validHost(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.:[]_", c) >= 0) {
			return false
		}
	}
	return true
}

// carriesKey reports whether an Authorization header holds a Bearer Keygate key (which must
// never reach the upstream even when another credential authenticated the request).
func carriesKey(vs []string) bool {
	for _, v := range vs {
		if t, ok := bearer(v); ok {
			if _, err := keys.Parse(t); err == nil {
				return true
			}
		}
	}
	return false
}

// carriesForeignKey reports whether an Authorization header holds a Bearer token that is a
// key in another format (imported: it has no shape to tell it by, so it is looked up — only
// for a request that authenticated otherwise and also sends a Bearer token, and at most a
// cached lookup while no such key exists). Such a key is a credential too, and never reaches
// the upstream.
func (g *Gateway) carriesForeignKey(ctx context.Context, vs []string) bool {
	for _, v := range vs {
		if t, ok := bearer(v); ok {
			if res, err := g.cfg.Keys.Verify(ctx, t); err == nil && res.Key != nil {
				return true
			}
		}
	}
	return false
}

// managedHeader reports whether a client-supplied header must not reach the upstream because
// the gateway owns it: X-Keygate-*, X-Request-Id, any spelling of X-Api-Key (a key's place);
// the headers with which an upstream stack lets a request name another path or method than
// the one the gateway routed and checked scopes on — X-Original-Url and X-Rewrite-Url (IIS
// URL Rewrite, Symfony and Zend-era frameworks), X-Original-Uri and X-Original-Method (nginx
// auth_request setups, read by Authelia-style authorizers), X-Original-Path and
// X-Envoy-Original-Path (Envoy's record of a rewritten path) — from any peer, since a proxy in
// front of the gateway sends it the path it rewrote to; an underscore spelling of a
// method-override header (the scope check reads those spelled with '-'); and, unless the peer is a trusted
// proxy, X-Forwarded-* (among them X-Forwarded-Prefix, -Path, -Uri and -Method, which Spring,
// ASP.NET Core, Kong, Traefik and APISIX forward-auth readers act on), Forwarded and
// X-Real-Ip. A trusted proxy's X-Forwarded-Method still counts for scopes (methodOverrides).
// Names are compared with '_' read as '-', because many upstream frameworks (CGI, PHP,
// Django, …) read X_Keygate_Key_Id as X-Keygate-Key-Id.
func managedHeader(name string, trustedPeer bool) bool {
	if len(name) < 9 {
		return false
	}
	switch name[0] {
	case 'X', 'x', 'F', 'f':
	default:
		return false
	}
	// The name lower-cased with '_' as '-', in a buffer on the stack (no allocation per header).
	var low [64]byte
	var n string
	if len(name) <= len(low) {
		for i := 0; i < len(name); i++ {
			c := name[i]
			switch {
			case c == '_':
				c = '-'
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			low[i] = c
		}
		n = b2s(low[:len(name)])
	} else {
		n = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	}
	switch {
	case strings.HasPrefix(n, "x-keygate-"), n == "x-request-id", n == "x-api-key", n == "x-original-url", n == "x-rewrite-url",
		n == "x-original-uri", n == "x-original-path", n == "x-original-method", n == "x-envoy-original-path":
		return true
	case strings.IndexByte(name, '_') >= 0 && (n == "x-http-method-override" || n == "x-http-method" || n == "x-method-override"):
		// A method override the scope check reads only as spelled with '-' (methodOverrideHeaders):
		// CGI and PHP read X_HTTP_Method_Override as one, so it must not pass unread.
		return true
	case trustedPeer:
		// The proxy wrote these; still drop underscore variants, which no proxy sends.
		return strings.Contains(name, "_") && (strings.HasPrefix(n, "x-forwarded-") || n == "forwarded" || n == "x-real-ip")
	}
	return strings.HasPrefix(n, "x-forwarded-") || n == "forwarded" || n == "x-real-ip"
}

// headerSafe percent-encodes what may not travel raw in a header value (controls, non-ASCII
// and '%'), so any key name reaches the upstream intact and unambiguous.
func headerSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '%' {
			var b strings.Builder
			for j := 0; j < len(s); j++ {
				c := s[j]
				if c < 0x20 || c >= 0x7f || c == '%' {
					b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)>>4, 16)+strconv.FormatUint(uint64(c)&15, 16)))
				} else {
					b.WriteByte(c)
				}
			}
			return b.String()
		}
	}
	return s
}
