package gateway

import (
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies parses CIDR prefixes or single addresses ("10.0.0.0/8", "127.0.0.1").
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, &badProxyError{s}
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

type badProxyError struct{ s string }

func (e *badProxyError) Error() string {
	return "trusted proxy " + e.s + " is neither an IP address nor a CIDR prefix such as 10.0.0.0/8"
}

func trusted(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr returns the address of the TCP peer.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// clientAddr returns the client's address: the peer's, or, when the peer is a trusted proxy,
// the rightmost address in X-Forwarded-For that is not itself a trusted proxy. Anything left of
// that could have been written by the client and is ignored.
func clientAddr(r *http.Request, proxies []netip.Prefix) (client netip.Addr, peerTrusted bool) {
	peer := peerAddr(r)
	if len(proxies) == 0 || !trusted(proxies, peer) {
		return peer, false
	}
	xff := r.Header["X-Forwarded-For"]
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer, true
			}
			a = a.Unmap()
			if !trusted(proxies, a) {
				return a, true
			}
		}
	}
	return peer, true
}

// limiterKey is the failed-authentication limit's key for a client: IPv6 clients are grouped by
// /64, the block one subscriber usually controls, so that rotating addresses within it does not
// escape the limit.
func limiterKey(a netip.Addr) string {
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			a = p.Addr()
		}
	}
	var b [64]byte
	return string(a.AppendTo(append(b[:0], "ip:"...)))
}
