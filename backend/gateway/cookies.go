package gateway

import (
	"net/http"

	"github.com/keygate/keygate/backend/cookies"
)

// Session cookie names: the console sets the __Secure- one when it is served over HTTPS.
const (
	SessionCookie       = cookies.Session
	SecureSessionCookie = cookies.SecureSession
)

// CleanUpstreamResponse removes from an upstream's response headers what only the gateway
// may say, or what would reach into the console on the same host (cookies are not bound to
// a port):
//
//   - X-Request-Id and Access-Control-Allow-* / -Expose-Headers: the gateway is the one source
//     of request ids and of CORS
//   - every Set-Cookie a browser would store as a console cookie (cookies.SetsConsoleCookie:
//     "keygate_session=…", " KEYGATE_SESSION =…", the nameless "=keygate_session=…", …) and
//     the obsolete Set-Cookie2: they would plant or overwrite a console session
//   - Clear-Site-Data: it would sign the user out of the console (its "cookies" directive
//     clears every cookie of the site, ports included)
//
// It works on the header map alone, so any HTTP engine can call it.
func CleanUpstreamResponse(h http.Header) {
	for _, name := range upstreamOwnedHeaders {
		delete(h, name)
	}
	if sc := h["Set-Cookie"]; len(sc) > 0 {
		if kept := WithoutConsoleSetCookie(sc); len(kept) > 0 {
			h["Set-Cookie"] = kept
		} else {
			delete(h, "Set-Cookie")
		}
	}
}

// upstreamOwnedHeaders are the answer headers CleanUpstreamResponse removes whole (both engines).
var upstreamOwnedHeaders = []string{"X-Request-Id", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
	"Access-Control-Expose-Headers", "Clear-Site-Data", "Set-Cookie2"}

// WithoutConsoleSetCookie returns the Set-Cookie lines that cannot set a console cookie.
func WithoutConsoleSetCookie(lines []string) []string {
	out := lines[:0:0]
	for _, line := range lines {
		if !cookies.SetsConsoleCookie(line) {
			out = append(out, line)
		}
	}
	return out
}
