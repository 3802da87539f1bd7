package gateway

import (
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"
)

// transportSwitch is the proxy's RoundTripper: a tuned http.Transport that is replaced when
// the upstream timeout setting changes (ResponseHeaderTimeout cannot change on a live one).
type transportSwitch struct {
	cur      atomic.Pointer[http.Transport]
	mu       sync.Mutex
	timeout  time.Duration
	maxConns int
}

func newTransportSwitch(timeout time.Duration, maxConns int) *transportSwitch {
	s := &transportSwitch{timeout: timeout, maxConns: maxConns}
	s.cur.Store(newTransport(timeout, maxConns))
	return s
}

func (s *transportSwitch) RoundTrip(r *http.Request) (*http.Response, error) {
	return s.cur.Load().RoundTrip(r)
}

func (s *transportSwitch) setTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d == s.timeout {
		return
	}
	s.timeout = d
	old := s.cur.Swap(newTransport(d, s.maxConns))
	// Idle connections close now; busy ones finish their request on the old transport.
	time.AfterFunc(time.Second, old.CloseIdleConnections)
	old.CloseIdleConnections()
}

// CloseIdleConnections closes the upstream connections not in use.
func (s *transportSwitch) CloseIdleConnections() { s.cur.Load().CloseIdleConnections() }

// newTransport is tuned for one process talking to a few upstreams a lot: a large keep-alive
// pool as big as the connection cap (so neither a steady load nor an overload dials per
// request), no compression games (bodies pass as they are), HTTP/1.1 (WebSocket upgrades need
// it), and never the environment's proxy settings.
func newTransport(timeout time.Duration, maxConns int) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		MaxIdleConns:           4 * maxConns,
		MaxIdleConnsPerHost:    maxConns,
		MaxConnsPerHost:        maxConns,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		ResponseHeaderTimeout:  timeout,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
		WriteBufferSize:        16 << 10,
		ReadBufferSize:         16 << 10,
	}
}

// bufferPool hands ReverseProxy its copy buffers from a bounded free list; a channel holds
// slices without the allocation sync.Pool would make to box each one.
var _ httputil.BufferPool = (*bufferPool)(nil)

type bufferPool struct {
	free chan []byte
	size int
}

func (p *bufferPool) Get() []byte {
	select {
	case b := <-p.free:
		return b
	default:
		return make([]byte, p.size)
	}
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) != p.size {
		return
	}
	select {
	case p.free <- b[:p.size]:
	default:
	}
}
