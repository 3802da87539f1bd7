package console

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/problem"
)

// HandlerOptions configure the console's http.Handler.
type HandlerOptions struct {
	// Assets is the built frontend (index.html at its root). Nil or without index.html, the
	// console answers pages with a "frontend not built" message; the API still works.
	Assets fs.FS
	// Metrics is mounted at /metrics (the gateway's Prometheus handler), if set.
	Metrics http.Handler
	// OpenAPI is mounted at /openapi/ (the generated documents), if set.
	OpenAPI http.Handler
	// Secure says the console is reached over HTTPS (e.g. behind a TLS proxy) even when the
	// request itself is plain: cookies get Secure and the __Secure- name. A TLS request is
	// always treated as secure.
	Secure bool
	// PublicOrigin is the console's origin as browsers see it (e.g. https://keygate.example.com)
	// when a proxy changes the Host; CSRF checks compare Origin headers with it.
	PublicOrigin string
	// AllowedHosts, when set, are the only Host headers the console answers (421 otherwise).
	// A console on loopback is only ever reached as localhost, 127.0.0.1 or [::1]: refusing
	// other names stops a DNS-rebinding page from talking to it as a "same-origin" site.
	AllowedHosts []string
}

// LoopbackHosts lists the Host values a console listening on loopback addr (host:port) can be
// reached by, plus the host of publicOrigin if given (gateway.LoopbackHosts, the one list both
// listeners use). It returns nil for a non-loopback addr.
func LoopbackHosts(addr, publicOrigin string) []string {
	var extra string
	if u, err := url.Parse(publicOrigin); err == nil {
		extra = u.Host
	}
	return gateway.LoopbackHosts(addr, extra)
}

func hostAllowed(host string, allowed []string) bool { return gateway.HostAllowed(host, allowed) }

// Handler returns the console: /api/v1/… (the operation table), /metrics, /openapi/… and the
// single-page app for everything else. The same handler serves `keygate serve`'s console
// listener and, in desktop mode, the Wails window.
func (s *Service) Handler(opts HandlerOptions) http.Handler {
	mux := http.NewServeMux()
	methods := map[string][]string{}
	for _, o := range table {
		if o.Mode == ModeCLI {
			continue
		}
		mux.Handle(o.Pattern(), s.serveOp(o, opts))
		methods[o.Path] = append(methods[o.Path], o.Method)
	}
	// A known path with another method: 405 with Allow, as problem+json.
	for path, ms := range methods {
		sort.Strings(ms)
		allow := strings.Join(ms, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			s.fail(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: problem.CodeMethodNotAllowed}, i18n.Match(r.Header.Get("Accept-Language")))
		})
	}
	mux.Handle("GET "+RequestStreamPath, s.serveRequestStream(opts))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &Error{Status: http.StatusNotFound, Code: problem.CodeNotFound, Msg: "problem.NOT_FOUND.api.detail"},
			i18n.Match(r.Header.Get("Accept-Language")))
	})
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	if opts.OpenAPI != nil {
		mux.Handle("/openapi/", s.guardGatewayDocument(opts.OpenAPI, opts))
	}
	mux.Handle("/", newSPA(opts.Assets))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.serveHealth(w, r) {
			return
		}
		if len(opts.AllowedHosts) > 0 && !hostAllowed(r.Host, opts.AllowedHosts) {
			s.fail(w, r, &Error{Status: http.StatusMisdirectedRequest, Code: problem.CodeUnknownHost}, i18n.Match(r.Header.Get("Accept-Language")))
			return
		}
		// ServeMux would redirect /api/v1/keys/.. to /api/v1/: an id of "." or ".." names no
		// item, and an API answer is a problem, not a redirect.
		if uncleanAPIPath(r.URL.Path) {
			s.fail(w, r, &Error{Status: http.StatusNotFound, Code: problem.CodeNotFound, Msg: "problem.NOT_FOUND.api.detail"},
				i18n.Match(r.Header.Get("Accept-Language")))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// uncleanAPIPath reports whether p is under /api/ but not in the clean form ServeMux routes
// without a redirect (no ".", ".." or empty segments).
func uncleanAPIPath(p string) bool {
	if !strings.HasPrefix(p, "/api/") {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c != p
}

func (s *Service) serveOp(o Operation, opts HandlerOptions) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		secure := r.TLS != nil || opts.Secure
		c, err := s.caller(w, r, opts, o.Need)
		if err != nil {
			s.fail(w, r, err, c.Lang)
			return
		}
		in, err := decode(w, r, o)
		if err != nil {
			s.fail(w, r, err, c.Lang)
			return
		}
		out, err := s.execute(ctx, o, c, in)
		if c.newSession != nil {
			http.SetCookie(w, auth.SessionCookie(c.newSession.token, c.newSession.session, secure))
		}
		if c.endSession {
			http.SetCookie(w, auth.ClearCookie(secure))
		}
		if err != nil {
			s.fail(w, r, err, c.Lang)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if f, ok := out.(File); ok {
			writeFile(w, r, o, &f)
			return
		}
		if o.Status == http.StatusNoContent {
			w.WriteHeader(o.Status)
			return
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(o.Status)
		if r.Method != http.MethodHead {
			json.NewEncoder(w).Encode(out)
		}
	}
}

// caller finds out who sends r: the desktop's user, a session's user (an ended session's
// cookie is cleared), or nobody. It refuses a cross-site state-changing request, and one from a
// signed-in browser without the session's CSRF token. c is usable (its Lang) even on error.
func (s *Service) caller(w http.ResponseWriter, r *http.Request, opts HandlerOptions, need auth.Need) (*Call, error) {
	ctx := r.Context()
	secure := r.TLS != nil || opts.Secure
	c := &Call{ClientAddr: clientAddr(r), accept: r.Header.Get("Accept-Language")}
	c.Lang = i18n.Match(c.accept)
	// Cross-site requests never get as far as reading a session.
	if !auth.SafeMethod(r.Method) && !s.sameOrigin(r, opts, secure) {
		return c, errCSRF
	}
	if s.Desktop {
		c.Principal = s.localPrincipal()
		c.Lang = i18n.Match(c.accept, s.desktopLanguage(ctx))
	} else if tok := auth.TokenFromRequest(r, secure); tok != "" {
		c.token = tok
		sess, err := s.Auth.Session(ctx, tok)
		if err == nil {
			var p auth.Principal
			if p, err = s.principal(ctx, sess); err == nil {
				c.Principal, c.session = p, &sess
				if u, uerr := s.Auth.User(ctx, p.UserID); uerr == nil {
					c.Lang = i18n.Match(c.accept, u.Language)
				}
			}
		}
		switch {
		case errors.Is(err, auth.ErrNoSession):
			http.SetCookie(w, auth.ClearCookie(secure))
		case err != nil:
			return c, err
		}
	}
	// A signed-in browser proves the request comes from the console's own page with the
	// session's CSRF token; login and setup (public) rely on the origin check alone.
	if !s.Desktop && !auth.SafeMethod(r.Method) && need != auth.NeedPublic && c.session != nil &&
		!auth.ValidCSRF(r, *c.session) {
		return c, errCSRF
	}
	return c, nil
}

// sameOrigin applies auth.SameOrigin. The desktop's window has its own scheme (wails://), so
// there only the host is compared; a request from any other site is still refused.
func (s *Service) sameOrigin(r *http.Request, opts HandlerOptions, secure bool) bool {
	if auth.SameOrigin(r, opts.PublicOrigin, secure) {
		return true
	}
	if s.Desktop && r.Header.Get("Sec-Fetch-Site") == "" {
		if origin := r.Header.Get("Origin"); origin != "" {
			_, host, ok := strings.Cut(origin, "://")
			return ok && strings.EqualFold(host, r.Host)
		}
	}
	return false
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error, lang string) {
	e := classify(err)
	if e.Status >= 500 {
		// The server's own failure (a caller's mistake is a 4xx): enough to find the cause.
		s.Logger.Error("console operation failed", "status", e.Status, "code", e.Code, "operation", r.Pattern,
			"method", r.Method, "path", r.URL.Path, "err", e.Err)
	}
	problem.Write(w, e.problem(s.bundle(), lang))
}

// clientAddr is the peer's IP address. The console does not trust X-Forwarded-For: it
// listens on loopback by default, and a spoofable address would defeat the login limit.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
