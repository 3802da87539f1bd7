package gateway

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"unsafe"
)

// inbound is what the fasthttp engine reads from a request head, in one pass over the raw
// header block. The strings point into the connection's buffer (no copies): they are valid only
// until the handler returns, so anything kept longer (the request log, caches) is cloned first.
//
// The pass also refuses, before anything else looks at the request, every head that net/http and
// an upstream might read differently from fasthttp: bare LF line ends, folded (obs-fold) lines,
// malformed names or values, more than one Host or Content-Length, a Content-Length that is not
// a plain number, any Transfer-Encoding but a single "chunked", and both framings at once. The
// gateway re-frames every body it forwards, so an upstream never sees the client's framing; the
// refusal keeps the gateway's own reading unambiguous.
type inbound struct {
	method   string
	rawPath  string // as sent, escaped; absolute-form targets reduced to their path
	path     string // decoded, for routing
	rawQuery string
	host     string

	apiKey, authorization, cookie, requestID, upgrade []string
	xff, xfHost, xfProto, secFetchSite, connection    []string
	origin                                            string
	contentType                                       string // the last one, which fasthttp keeps (and forwards)
	acrMethod, acrHeaders                             string
	hasOrigin, hasACRMethod, hasHost                  bool
	contentLength                                     int64 // -1: none given
	chunked, expect                                   bool
	badEscape                                         bool   // the path has an invalid %-escape
	absHost                                           string // an absolute-form target's authority
	http2Settings                                     bool
	http10                                            bool     // an HTTP/1.0 request
	methodOverride                                    []string // method-override headers' values (methodOverrideHeaders)
	managed                                           []string // names the gateway owns (see managedHeader), as sent
	hop                                               []string // hop-by-hop headers present (hopHeaders), as sent

	// Small backing arrays so that a request with a few values allocates nothing.
	buf [16]string
	n   int
}

// errAmbiguous is a request head the gateway refuses to interpret.
var errAmbiguous = errors.New("ambiguous or malformed request head")

func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// s2b views s as bytes, for fasthttp calls that copy what they are given and never write it.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// add appends v to *dst using the inline buffer while it lasts.
func (in *inbound) add(dst *[]string, v string) {
	if *dst == nil && in.n < len(in.buf) {
		*dst = in.buf[in.n : in.n : in.n+1]
		in.n++
	}
	*dst = append(*dst, v)
}

// parseHead reads the request line parts and the raw header block. method, uri and proto are
// the request line as fasthttp split it; raw is the header block (name: value lines).
func (in *inbound) parseHead(method, uri, proto, raw []byte, trustedPeer bool) error {
	if !validMethod(method) || len(uri) == 0 || !validTarget(uri) {
		return errAmbiguous
	}
	switch b2s(proto) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		in.http10 = true
	default:
		return errAmbiguous
	}
	in.method = b2s(method)
	in.contentLength = -1
	if err := in.parseTarget(b2s(uri)); err != nil {
		return err
	}
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		var line []byte
		if i < 0 {
			line, raw = raw, nil
		} else {
			if i == 0 || raw[i-1] != '\r' {
				return errAmbiguous // bare LF
			}
			line, raw = raw[:i-1], raw[i+1:]
		}
		if len(line) == 0 {
			break // end of the head
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errAmbiguous // obs-fold
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return errAmbiguous
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !validName(name) || !validValue(value) {
			return errAmbiguous
		}
		if err := in.header(b2s(name), b2s(value), trustedPeer); err != nil {
			return err
		}
	}
	if in.chunked && in.contentLength >= 0 {
		return errAmbiguous
	}
	if in.absHost != "" {
		// RFC 9112 §3.2.2: the target's authority is the host and the Host header is ignored
		// (as in net/http), so the host checks see the name an upstream would.
		in.host = in.absHost
	}
	return nil
}

func (in *inbound) header(name, value string, trustedPeer bool) error {
	// Names are compared case-insensitively, like net/http's canonical keys; the switch on
	// length keeps the common headers cheap.
	switch len(name) {
	case 4:
		if strings.EqualFold(name, "Host") {
			if in.hasHost {
				return errAmbiguous
			}
			in.hasHost, in.host = true, value
		}
	case 6:
		switch {
		case strings.EqualFold(name, "Cookie"):
			in.add(&in.cookie, value)
		case strings.EqualFold(name, "Origin"):
			if !in.hasOrigin {
				in.origin = value
			}
			in.hasOrigin = true
		case strings.EqualFold(name, "Expect"):
			in.expect = true
		}
	case 7:
		if strings.EqualFold(name, "Upgrade") {
			in.add(&in.upgrade, value)
		}
	case 9:
		if strings.EqualFold(name, "X-Api-Key") {
			in.add(&in.apiKey, value)
		}
	case 10:
		if strings.EqualFold(name, "Connection") {
			in.add(&in.connection, value)
		}
	case 12:
		switch {
		case strings.EqualFold(name, "X-Request-Id"):
			in.add(&in.requestID, value)
		case strings.EqualFold(name, "Content-Type"):
			in.contentType = value
		}
	case 13:
		switch {
		case strings.EqualFold(name, "Authorization"):
			in.add(&in.authorization, value)
		case strings.EqualFold(name, "X-Http-Method"):
			in.add(&in.methodOverride, value)
		}
	case 14:
		switch {
		case strings.EqualFold(name, "Content-Length"):
			if in.contentLength >= 0 {
				return errAmbiguous // a second Content-Length, even an equal one
			}
			n, ok := parseLength(value)
			if !ok {
				return errAmbiguous
			}
			in.contentLength = n
		case strings.EqualFold(name, "Sec-Fetch-Site"):
			in.add(&in.secFetchSite, value)
		case strings.EqualFold(name, "Http2-Settings"):
			in.http2Settings = true
		}
	case 15:
		if strings.EqualFold(name, "X-Forwarded-For") {
			in.add(&in.xff, value)
		}
	case 16:
		if strings.EqualFold(name, "X-Forwarded-Host") {
			in.add(&in.xfHost, value)
		}
	case 17:
		switch {
		case strings.EqualFold(name, "Transfer-Encoding"):
			if in.chunked || !strings.EqualFold(value, "chunked") {
				return errAmbiguous
			}
			in.chunked = true
		case strings.EqualFold(name, "X-Forwarded-Proto"):
			in.add(&in.xfProto, value)
		case strings.EqualFold(name, "X-Method-Override"):
			in.add(&in.methodOverride, value)
		}
	case 18:
		// Forwarded only from a trusted proxy (managedHeader): then an upstream that runs the
		// method it names needs that method's scopes.
		if trustedPeer && strings.EqualFold(name, "X-Forwarded-Method") {
			in.add(&in.methodOverride, value)
		}
	case 22:
		if strings.EqualFold(name, "X-Http-Method-Override") {
			in.add(&in.methodOverride, value)
		}
	case 29:
		if strings.EqualFold(name, "Access-Control-Request-Method") {
			in.acrMethod, in.hasACRMethod = value, true
		}
	case 30:
		if strings.EqualFold(name, "Access-Control-Request-Headers") && in.acrHeaders == "" {
			in.acrHeaders = value
		}
	}
	if managedHeader(name, trustedPeer) {
		in.add(&in.managed, name)
	}
	if isHopHeader(name) {
		in.add(&in.hop, name)
	}
	return nil
}

// parseTarget splits the request target into path and query. An absolute-form target
// (http://host/path) is reduced to its path, as net/http does.
func (in *inbound) parseTarget(uri string) error {
	if uri[0] != '/' {
		if uri == "*" {
			in.rawPath, in.path = uri, uri
			return nil
		}
		scheme, rest, ok := strings.Cut(uri, "://")
		if !ok || !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
			return errAmbiguous
		}
		i := strings.IndexAny(rest, "/?")
		if i < 0 {
			in.absHost, uri = rest, "/"
		} else if rest[i] == '?' {
			in.absHost, uri = rest[:i], "/"+rest[i:]
		} else {
			in.absHost, uri = rest[:i], rest[i:]
		}
	}
	p, q, _ := strings.Cut(uri, "?")
	in.rawPath, in.rawQuery = p, q
	if strings.IndexByte(p, '%') < 0 {
		in.path = p
		return nil
	}
	d, err := url.PathUnescape(p)
	if err != nil {
		in.badEscape = true // CheckPath refuses it: INVALID_PATH, not a framing problem
		return nil
	}
	in.path = d
	return nil
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseLength accepts only 1*DIGIT, as RFC 9110 writes it (no sign, no list, no spaces).
func parseLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// tokenChars marks the characters of an RFC 9110 token.
var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func validName(b []byte) bool {
	for _, c := range b {
		if !tokenChars[c] {
			return false
		}
	}
	return len(b) > 0
}

func validMethod(b []byte) bool { return validName(b) }

// validValue refuses control characters other than horizontal tab (NUL, CR, LF, …) and DEL.
func validValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validTarget refuses spaces and control characters in the request target.
func validTarget(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
