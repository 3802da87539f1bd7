package gateway

import (
	"net/http"
	"strings"
)

// SessionAllowed decides whether the console session cookie may authenticate a request. Cookies
// are not bound to a port, so a browser sends the console's cookie with every request to the
// gateway's host: from pages of any other local server (same-site), from cross-site top-level
// navigations, and from pages the gateway itself serves for an upstream (same-origin). host is
// the request's Host; originOK says its Origin is on the CORS allowlist.
//
// By default only the console's docs viewer and other allowlisted origins may use the session:
// an Origin on the allowlist that is not the gateway's own origin (so the request does not come
// from a page served through the gateway). A route that opts in (routes.Route.ConsoleSession)
// also admits the gateway's own pages and the user's own navigations (Sec-Fetch-Site
// same-origin or none) and, from browsers without Sec-Fetch-Site, requests without a foreign
// Origin. The default is off because the gateway serves whatever its upstreams send: one
// upstream's page (or script planted in it) would otherwise act as the signed-in user on every
// route of every other upstream.
func SessionAllowed(h http.Header, host string, originOK, routeOptIn bool) bool {
	var origin, site string
	if o := h["Origin"]; len(o) > 0 {
		origin = o[0]
	}
	if s := h["Sec-Fetch-Site"]; len(s) > 0 {
		site = s[0]
	}
	if originOK && origin != "" && site != "same-origin" && !sameHost(origin, host) {
		return true
	}
	if !routeOptIn {
		return false
	}
	if originOK {
		return true
	}
	if site != "" {
		return site == "same-origin" || site == "none"
	}
	return origin == "" || sameHost(origin, host)
}

// sameHost reports whether origin (scheme://host[:port]) names host.
func sameHost(origin, host string) bool {
	_, oh, ok := strings.Cut(origin, "://")
	return ok && strings.EqualFold(oh, host)
}
