package gateway

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/keygate/keygate/backend/learn"
)

// looprewrite.go writes the request an upstream gets from an event loop. The rules are
// rewriteFast's (planRewrite, identityHeaders): the fasthttp engine applies them as edits to
// fasthttp's parsed head and then serializes it; a loop applies them in one pass over the
// client's header lines as they came (st.head, which parseHead has checked line by line), each
// line either copied or left out, and the gateway's own headers appended.

// appendRewritten appends to dst the request for rt's upstream, with body.
func (g *Gateway) appendRewritten(dst []byte, st *reqState, rt *route, body []byte) []byte {
	in := &st.in
	if g.learns(rt) {
		st.learn = newLearnCapture(in)
	}
	p := g.planRewrite(st, rt)
	dst = append(dst, in.method...)
	dst = append(dst, ' ')
	dst = append(dst, p.uri...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, rt.target.Host...)
	dst = append(dst, '\r', '\n')
	lc := st.learn
	for rest := st.head; len(rest) > 0; {
		var line []byte
		if line, rest = nextLine(rest); len(line) == 0 {
			break // the end of the head
		}
		colon := bytes.IndexByte(line, ':') // (parseHead: there is one, after a valid name)
		name, value := b2s(line[:colon]), trimOWS(line[colon+1:])
		if !forwardedAsSent(name, st.trusted, &p) {
			continue
		}
		dst = append(dst, name...)
		dst = append(dst, ':', ' ')
		dst = append(dst, value...)
		dst = append(dst, '\r', '\n')
		if lc != nil {
			lc.names = append(lc.names, strings.Clone(name))
		}
	}
	if in.contentType != "" {
		// One Content-Type, the one the gateway's checks read (formMethods), as on fasthttp.
		dst = appendHeader(dst, hnContentType, in.contentType)
	}
	if len(p.cookies) > 0 {
		// One Cookie line (RFC 6265 §5.4), as fasthttp writes it.
		dst = append(dst, "Cookie: "...)
		for i, c := range p.cookies {
			if i > 0 {
				dst = append(dst, ';', ' ')
			}
			dst = append(dst, c...)
		}
		dst = append(dst, '\r', '\n')
	}
	hs, n := identityHeaders(st, rt)
	for _, hv := range hs[:n] {
		dst = appendHeader(dst, hv.name, hv.value)
	}
	if p.setXFF {
		dst = append(dst, "X-Forwarded-For: "...)
		dst = append(dst, p.xff...)
		dst = st.peer.AppendTo(dst)
		dst = append(dst, '\r', '\n')
	}
	if p.xfHost != "" {
		dst = appendHeader(dst, hnForwardedHost, p.xfHost)
	}
	dst = appendHeader(dst, hnForwardedProto, p.xfProto)
	// A body goes with its length; so does an empty one of a method that has a body (as
	// fasthttp writes it: some upstreams answer a POST without a length 411).
	if len(body) > 0 || in.method != http.MethodGet && in.method != http.MethodHead {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, '\r', '\n')
	}
	dst = append(dst, '\r', '\n')
	if lc != nil {
		lc.reqType = in.contentType
		lc.reqHasBody = len(body) > 0
		if learn.WantsBody(lc.reqType) && len(body) > 0 {
			lc.req = &captureBody{}
			lc.req.keep(body)
		}
	}
	return append(dst, body...)
}

var hnContentType = []byte("Content-Type")

func appendHeader(dst, name []byte, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// forwardedAsSent says whether a client's header line goes to the upstream as it is. What the
// gateway sets itself (Host, the length, the cookies less the session's, the forwarding and
// identity headers, one Content-Type), every header it owns (managedHeader: the credential among them),
// Authorization when it carried the credential, the hop-by-hop headers and those the
// Connection header names stay behind.
func forwardedAsSent(name string, trusted bool, p *rewritePlan) bool {
	switch len(name) {
	case 4:
		if strings.EqualFold(name, "Host") {
			return false
		}
	case 6:
		if strings.EqualFold(name, "Cookie") {
			return false
		}
	case 12:
		if strings.EqualFold(name, "Content-Type") {
			return false
		}
	case 13:
		if p.dropAuth && strings.EqualFold(name, "Authorization") {
			return false
		}
	case 14:
		if strings.EqualFold(name, "Content-Length") {
			return false
		}
	case 15, 16, 17: // set by the gateway, or dropped, whoever sent them
		if strings.EqualFold(name, "X-Forwarded-For") || strings.EqualFold(name, "X-Forwarded-Host") ||
			strings.EqualFold(name, "X-Forwarded-Proto") {
			return false
		}
	}
	if isHopHeader(name) || managedHeader(name, trusted) {
		return false
	}
	for _, n := range p.named {
		if strings.EqualFold(name, n) {
			return false
		}
	}
	return true
}
