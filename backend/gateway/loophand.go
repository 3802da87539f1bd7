package gateway

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// loophand.go is how an event loop hands a connection to the fasthttp server: a handConn is a
// net.Conn whose reads are the bytes the loop reads from the socket (starting with the request
// the loop would not take) and whose writes the loop sends; handListener gives such
// connections to the server's Serve, so that fasthttp's own limits, timeouts, drain and
// connection tracking apply to them as to any.

// handConn is a connection a loop handed over. The loop pushes what it reads (push) and says
// when the client closed (end); the server's goroutine reads, writes and sets deadlines.
type handConn struct {
	c           gnet.Conn
	local, peer net.Addr

	mu      sync.Mutex
	cond    sync.Cond
	in      []byte // read from the socket, not yet by the server
	eof     bool   // the client closed
	closed  bool   // Close was called
	rdl     time.Time
	rtimer  *time.Timer
	wdl     time.Time
	written chan writeDone
	quit    chan struct{} // closed at end or Close: a write waits no more
	quitter sync.Once
}

func newHandConn(c gnet.Conn) *handConn {
	hc := &handConn{c: c, local: c.LocalAddr(), peer: c.RemoteAddr(), written: make(chan writeDone, 1),
		quit: make(chan struct{})}
	hc.cond.L = &hc.mu
	return hc
}

// push adds bytes the loop read (they are copied: the loop reuses its buffer).
func (hc *handConn) push(p []byte) {
	if len(p) == 0 {
		return
	}
	hc.mu.Lock()
	hc.in = append(hc.in, p...)
	hc.mu.Unlock()
	hc.cond.Broadcast()
}

// end is the client's close, as the loop saw it.
func (hc *handConn) end() {
	hc.mu.Lock()
	hc.eof = true
	hc.mu.Unlock()
	hc.cond.Broadcast()
	hc.quitter.Do(func() { close(hc.quit) })
}

// peerGone says the client has closed (clientGone asks it while a request waits upstream).
func (hc *handConn) peerGone() bool {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	return hc.eof && len(hc.in) == 0
}

func (hc *handConn) Read(p []byte) (int, error) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for {
		switch {
		case len(hc.in) > 0:
			n := copy(p, hc.in)
			hc.in = hc.in[n:]
			if len(hc.in) == 0 {
				hc.in = nil
			}
			return n, nil
		case hc.closed:
			return 0, net.ErrClosed
		case hc.eof:
			return 0, io.EOF
		case !hc.rdl.IsZero() && !time.Now().Before(hc.rdl):
			return 0, os.ErrDeadlineExceeded
		}
		hc.cond.Wait()
	}
}

// writeDone is the loop's word on a write: its error, and how much the client has yet to take.
type writeDone struct {
	err    error
	behind int
}

// Write sends p through the loop and waits until the loop has taken it (into the socket or its
// buffer for it) and the client is no more than clientLagMax/4 behind — gnet buffers what the
// socket does not take, so this wait is what holds back a writer whose client reads slowly —,
// until the write deadline passes, or the connection closes.
func (hc *handConn) Write(p []byte) (int, error) {
	hc.mu.Lock()
	closed, eof, wdl := hc.closed, hc.eof, hc.wdl
	hc.mu.Unlock()
	switch {
	case closed:
		return 0, net.ErrClosed
	case eof:
		return 0, syscall.EPIPE
	case len(p) == 0:
		return 0, nil
	}
	var timeout <-chan time.Time
	if !wdl.IsZero() {
		t := time.NewTimer(time.Until(wdl))
		defer t.Stop()
		timeout = t.C
	}
	b := append([]byte(nil), p...)
	for {
		if err := hc.c.AsyncWrite(b, func(c gnet.Conn, err error) error {
			hc.written <- writeDone{err, c.OutboundBuffered()}
			return nil
		}); err != nil {
			return 0, err
		}
		select {
		case d := <-hc.written:
			if d.err != nil {
				return 0, d.err
			}
			if d.behind <= clientLagMax/4 {
				return len(p), nil
			}
		case <-timeout:
			// The loop may still send it; the connection is of no further use.
			hc.Close()
			return 0, os.ErrDeadlineExceeded
		case <-hc.quit:
			return 0, net.ErrClosed
		}
		// Written, but the client is far behind: ask again in a moment, writing nothing.
		b = nil
		select {
		case <-time.After(5 * time.Millisecond):
		case <-timeout:
			hc.Close()
			return 0, os.ErrDeadlineExceeded
		case <-hc.quit:
			return 0, net.ErrClosed
		}
	}
}

func (hc *handConn) Close() error {
	hc.mu.Lock()
	if hc.closed {
		hc.mu.Unlock()
		return nil
	}
	hc.closed = true
	if hc.rtimer != nil {
		hc.rtimer.Stop()
	}
	hc.mu.Unlock()
	hc.cond.Broadcast()
	hc.quitter.Do(func() { close(hc.quit) })
	return hc.c.Close()
}

func (hc *handConn) LocalAddr() net.Addr  { return hc.local }
func (hc *handConn) RemoteAddr() net.Addr { return hc.peer }

func (hc *handConn) SetDeadline(t time.Time) error {
	hc.SetReadDeadline(t)
	return hc.SetWriteDeadline(t)
}

func (hc *handConn) SetReadDeadline(t time.Time) error {
	hc.mu.Lock()
	hc.rdl = t
	if hc.rtimer != nil {
		hc.rtimer.Stop()
		hc.rtimer = nil
	}
	if !t.IsZero() {
		hc.rtimer = time.AfterFunc(time.Until(t), hc.cond.Broadcast)
	}
	hc.mu.Unlock()
	hc.cond.Broadcast()
	return nil
}

func (hc *handConn) SetWriteDeadline(t time.Time) error {
	hc.mu.Lock()
	hc.wdl = t
	hc.mu.Unlock()
	return nil
}

// handListener is the listener the fasthttp server takes handed-over connections from.
type handListener struct {
	addr   net.Addr
	ch     chan net.Conn
	done   chan struct{}
	closer sync.Once
}

func newHandListener(addr net.Addr) *handListener {
	return &handListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// give passes hc to the server (without holding up the loop); after Close it closes hc.
func (l *handListener) give(hc *handConn) {
	select {
	case l.ch <- hc:
		return
	default:
	}
	go func() {
		select {
		case l.ch <- hc:
		case <-l.done:
			hc.Close()
		}
	}()
}

func (l *handListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handListener) Close() error {
	l.closer.Do(func() { close(l.done) })
	return nil
}

func (l *handListener) Addr() net.Addr { return l.addr }
