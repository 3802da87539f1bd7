package gateway

import (
	"net"
	"net/http"
	"strings"

	"github.com/keygate/keygate/backend/routes"
)

// OriginList is an exact-origin allowlist: an Origin header is admitted only when it equals,
// byte for byte, one of the normalized entries. No wildcards, no suffix matching, never "null".
type OriginList struct {
	set map[string]struct{}
}

// NewOriginList normalizes origins (see routes.NormalizeOrigin) and drops invalid ones.
func NewOriginList(origins ...[]string) *OriginList {
	l := &OriginList{set: map[string]struct{}{}}
	for _, os := range origins {
		for _, o := range os {
			if n, err := routes.NormalizeOrigin(o); err == nil {
				l.set[n] = struct{}{}
			}
		}
	}
	return l
}

// Allows reports whether a browser's Origin header value is on the list.
func (l *OriginList) Allows(origin string) bool {
	if origin == "" || l == nil {
		return false
	}
	_, ok := l.set[origin]
	return ok
}

// Len is the number of origins on the list.
func (l *OriginList) Len() int { return len(l.set) }

// ConsoleOrigins returns the origins of a console listening on addr: http://HOST:PORT, plus
// http://localhost:PORT when HOST is a loopback address.
func ConsoleOrigins(addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	out := []string{"http://" + net.JoinHostPort(host, port)}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		out = append(out, "http://localhost:"+port, "http://127.0.0.1:"+port)
	}
	return out
}

var (
	hdrTrue          = []string{"true"}
	hdrVaryOrigin    = []string{"Origin"}
	hdrVaryPreflight = []string{"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
	hdrExpose        = []string{"X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Keygate-Quota-Remaining"}
	hdrAllowMethods  = []string{"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"}
	hdrMaxAge        = []string{"600"}
)

// baseAllowedHeaders are always allowed in a preflight; others the browser asks for are
// echoed when they are plain header names.
const baseAllowedHeaders = "x-api-key, authorization, content-type"

// isPreflight reports whether r is a CORS preflight (not merely an OPTIONS request).
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a CORS preflight without authentication.
func preflight(w http.ResponseWriter, r *http.Request, allowed bool) {
	h := w.Header()
	h["Vary"] = hdrVaryPreflight
	if !allowed {
		writeProblem(w, CodeOriginNotAllowed)
		return
	}
	h["Access-Control-Allow-Origin"] = []string{r.Header.Get("Origin")}
	h["Access-Control-Allow-Credentials"] = hdrTrue
	h["Access-Control-Allow-Methods"] = hdrAllowMethods
	h["Access-Control-Allow-Headers"] = []string{allowedHeaders(r.Header.Get("Access-Control-Request-Headers"))}
	h["Access-Control-Max-Age"] = hdrMaxAge
	w.WriteHeader(http.StatusNoContent)
}

func allowedHeaders(requested string) string {
	out := baseAllowedHeaders
	for name := range strings.SplitSeq(requested, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" || !isToken(name) || strings.Contains(out, name) && strings.Contains(", "+out+",", ", "+name+",") {
			continue
		}
		out += ", " + name
	}
	return out
}

func isToken(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
