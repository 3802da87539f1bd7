package gateway

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// rewrite builds the outbound request: upstream URL, credentials removed, spoofable headers
// removed, identity and forwarding headers set. ReverseProxy has already removed hop-by-hop
// headers, including any the client named in Connection, so nothing set here can be removed
// by a Connection header trick.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	st := stateOf(pr.In.Context())
	rt := st.route
	out := pr.Out
	if rt.StripPrefix && rt.Prefix != "/" {
		stripPrefix(out.URL, rt.Prefix)
	}
	if rt.QueryKeyParam != "" {
		out.URL.RawQuery = withoutQueryParam(out.URL.RawQuery, rt.QueryKeyParam)
	}
	pr.SetURL(rt.target)

	// Request trailers are not forwarded (see dropTrailers): fields the gateway never checked.
	out.Trailer = nil
	h := out.Header
	// ReverseProxy removes its own list of hop-by-hop headers; these two of ours (hopHeaders)
	// are not on it. Expect in particular: the gateway's server has answered it (100 Continue
	// when the body is first read), as the other engines do. Forwarded, it brought the
	// upstream's own 100 Continue back through ReverseProxy's 1xx relay to a client that had
	// already taken the first as its go-ahead, and it makes the transport wait for that 100
	// (ExpectContinueTimeout) before it sends the body.
	delete(h, "Expect")
	delete(h, "Http2-Settings")
	delete(h, "X-Api-Key")
	if av := h["Authorization"]; len(av) > 0 && (st.cred == CredentialBearer || carriesKey(av) || g.carriesForeignKey(st.Context, av)) {
		delete(h, "Authorization")
	}
	if c := h["Cookie"]; len(c) > 0 {
		if rest := withoutSessionCookie(c); len(rest) > 0 {
			h["Cookie"] = rest
		} else {
			delete(h, "Cookie")
		}
	}
	for name := range h {
		if managedHeader(name, st.trusted) {
			delete(h, name)
		}
	}
	switch {
	case st.keyID != "":
		h["X-Keygate-Key-Id"] = []string{st.keyID}
		h["X-Keygate-Key-Name"] = []string{headerSafe(st.keyName)}
		h["X-Keygate-Org-Id"] = []string{st.orgID}
	case st.userID != "":
		h["X-Keygate-User-Id"] = []string{st.userID}
		if rt.OrgID != "" {
			h["X-Keygate-Org-Id"] = []string{rt.OrgID}
		}
	}
	h["X-Request-Id"] = st.requestID
	if st.jwt != "" {
		h["X-Keygate-Jwt"] = []string{st.jwt}
	}

	if st.trusted {
		if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
			h["X-Forwarded-For"] = []string{strings.Join(prior, ", ")}
		}
	}
	pr.SetXForwarded()
	// SetXForwarded copies the client's Host into X-Forwarded-Host: replace it with what the
	// operator configured or a trusted proxy said (ForwardedHost), or nothing.
	host, proto := ForwardedHost(g.cfg.PublicURL, st.trusted, pr.In.Header, pr.In.TLS != nil)
	if host != "" {
		h["X-Forwarded-Host"] = []string{host}
	} else {
		delete(h, "X-Forwarded-Host")
	}
	h["X-Forwarded-Proto"] = []string{proto}
}

var errUnexpectedUpgrade = errors.New("upstream switched protocols without a WebSocket upgrade request")

// modifyResponse makes the gateway the one source of CORS and request-id headers and refuses
// any protocol switch other than a requested WebSocket upgrade.
func (g *Gateway) modifyResponse(res *http.Response) error {
	st := stateOf(res.Request.Context())
	if res.StatusCode == http.StatusSwitchingProtocols {
		if st == nil || !st.websocket {
			return errUnexpectedUpgrade
		}
		st.upgraded = true
	}
	if st != nil && st.learn != nil {
		learnResponse(st.learn, res)
	}
	CleanUpstreamResponse(res.Header)
	if st != nil && st.rw.interim {
		setOwnHeaders(st.rw.Header(), st)
	}
	return nil
}

// upstreamError turns a failed round trip into a problem answer: 504 on a timeout, 502 when
// the upstream cannot be reached, 413 when the body ran over the route's limit, and nothing at
// all (logged as 499) when the client has gone.
func (g *Gateway) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	st := stateOf(r.Context())
	if st != nil && st.rw.interim {
		setOwnHeaders(w.Header(), st)
	}
	var code Code
	var ne net.Error
	var oe *net.OpError
	switch {
	case st != nil && st.body != nil && st.body.exceeded:
		code = CodePayloadTooLarge
	case r.Context().Err() != nil && !errors.Is(err, errUnexpectedUpgrade):
		g.metrics.upstream.clientClosed.Add(1)
		if st != nil {
			st.status, st.code = 499, CodeClientClosed
		}
		return
	case errors.As(err, &oe) && oe.Op == "dial":
		code = CodeUpstreamUnavailable
	case errors.As(err, &ne) && ne.Timeout():
		code = CodeUpstreamTimeout
	default:
		code = CodeUpstreamUnavailable
	}
	switch code {
	case CodeUpstreamTimeout:
		g.metrics.upstream.timeout.Add(1)
	case CodeUpstreamUnavailable:
		g.metrics.upstream.unavailable.Add(1)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL may carry the client's query string
	}
	attrs := []any{"code", code, "err", err}
	if st != nil {
		attrs = append(attrs, "request_id", st.requestID[0], "route", st.route.Prefix)
		st.code = code
	}
	g.log.Warn("upstream request failed", attrs...)
	writeProblem(w, code)
}

// limitedBody enforces a route's body limit on bodies without (or with a lying) length.
type limitedBody struct {
	rc       io.ReadCloser
	left     int64
	exceeded bool
}

var errBodyTooLarge = errors.New("request body too large")

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		b.exceeded = true
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		// The byte past the limit only detects the overflow: it is not handed on, so the
		// upstream never receives more than the limit.
		b.exceeded = true
		return n + int(b.left), errBodyTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
