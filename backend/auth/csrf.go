package auth

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// CSRFHeader carries the session's CSRF token on state-changing requests.
const CSRFHeader = "X-CSRF-Token"

// SafeMethod reports whether a method changes nothing (and so needs no CSRF check).
func SafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// SameOrigin reports whether r was sent by a page of the console itself. Browsers mark every
// request with Sec-Fetch-Site (which pages cannot forge): only "same-origin" passes. Without it,
// the Origin header must equal the console's origin: publicOrigin when set (a console behind a
// proxy), else the scheme (https when secure) and the Host the request was sent to. A request
// with neither header is refused: every browser sends at least one on a state-changing request.
//
// Go's http.CrossOriginProtection was considered and not used, because it is laxer in three
// ways the console relies on: it admits a request with neither header and one marked
// Sec-Fetch-Site: none, and it compares only the Origin's host with the Host header, so an
// http:// page on the console's host passes for a console served over HTTPS (and a console
// behind a proxy that rewrites Host needs its origin trusted by hand). Login and first-admin
// setup have no CSRF token and rely on this check alone.
func SameOrigin(r *http.Request, publicOrigin string, secure bool) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return false
	}
	want := publicOrigin
	if want == "" {
		scheme := "http"
		if secure {
			scheme = "https"
		}
		want = scheme + "://" + r.Host
	}
	return sameOrigin(origin, want)
}

func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil || ua.Host == "" {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(hostPort(ua), hostPort(ub))
}

// hostPort spells the default port out so that http://h and http://h:80 compare equal.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return u.Host + ":80"
	case "https":
		return u.Host + ":443"
	}
	return u.Host
}

// ValidCSRF reports whether r carries sess's CSRF token, compared in constant time.
func ValidCSRF(r *http.Request, sess Session) bool {
	got := r.Header.Get(CSRFHeader)
	return got != "" && sess.CSRFToken != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) == 1
}
