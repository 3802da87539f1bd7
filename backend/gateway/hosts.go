package gateway

import (
	"net"
	"strings"
)

// LoopbackHosts lists the Host values a server listening on loopback addr (host:port) can be
// reached by — localhost, 127.0.0.1, [::1] and the listen host, with the port — plus extra
// (host[:port] of a configured public URL). It returns nil for a non-loopback addr: a server
// reachable from the network may be named in ways Keygate cannot know.
//
// A server on loopback answers only these names: a DNS-rebinding page (evil.example first
// resolving to the attacker, then to 127.0.0.1) reaches the socket with its own name in Host,
// and would otherwise talk to the server as a "same-origin" site.
func LoopbackHosts(addr string, extra ...string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil
	}
	hosts := []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, net.JoinHostPort(host, port)}
	for _, e := range extra {
		if e != "" {
			hosts = append(hosts, e)
		}
	}
	return hosts
}

// HostAllowed reports whether a request's Host is one of allowed (compared ignoring case; a
// trailing dot of a fully qualified name is ignored). An empty allowed list allows every Host.
func HostAllowed(host string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	h := host
	if strings.HasSuffix(host, ".") || strings.Contains(host, ".:") { // (every request: split only when there is a dot to drop)
		h = strings.TrimSuffix(host, ".")
		if hn, port, err := net.SplitHostPort(host); err == nil {
			h = net.JoinHostPort(strings.TrimSuffix(hn, "."), port)
		}
	}
	for _, a := range allowed {
		if strings.EqualFold(h, a) {
			return true
		}
	}
	return false
}
