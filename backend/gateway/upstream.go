package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// upstreams are the fasthttp engine's connection pools, one per upstream host, shared by every
// route to that host and kept across reloads (so a reload does not drop warm connections).
type upstreams struct {
	mu       sync.Mutex
	byHost   map[string]*fasthttp.HostClient
	maxConns int
}

func newUpstreams(maxConns int) *upstreams {
	return &upstreams{byHost: map[string]*fasthttp.HostClient{}, maxConns: maxConns}
}

// client returns the pool for u's scheme and host.
func (us *upstreams) client(u *url.URL) *fasthttp.HostClient {
	tls := u.Scheme == "https"
	addr := u.Host
	if u.Port() == "" {
		if tls {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	key := u.Scheme + "://" + addr
	us.mu.Lock()
	defer us.mu.Unlock()
	if hc := us.byHost[key]; hc != nil {
		return hc
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	hc := &fasthttp.HostClient{
		Addr:  addr,
		IsTLS: tls,
		Dial:  func(addr string) (net.Conn, error) { return d.Dial("tcp", addr) },
		// A pool as large as the cap: neither a steady load nor an overload dials per
		// request; requests beyond the cap wait for a pooled connection.
		MaxConns:                      us.maxConns,
		MaxConnWaitTimeout:            time.Minute,
		MaxIdleConnDuration:           30 * time.Second,
		ReadBufferSize:                16 << 10,
		WriteBufferSize:               16 << 10,
		MaxResponseBodySize:           0,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		NoDefaultUserAgentHeader:      true,
	}
	us.byHost[key] = hc
	return hc
}

// closeIdle closes the idle connections of every pool.
func (us *upstreams) closeIdle() {
	us.mu.Lock()
	defer us.mu.Unlock()
	for _, hc := range us.byHost {
		hc.CloseIdleConnections()
	}
}

// Upstream failures the fast engine tells apart (see upstreamCode).
var (
	errUpstreamTimeout = errors.New("upstream did not answer in time")
	errClientGone      = errors.New("client closed the connection")
)

// bufferedBodyMax is the largest upstream body read whole before it is answered; larger ones,
// and those without a length (chunked, SSE), are streamed as they arrive.
const bufferedBodyMax = 64 << 10

// headOnlyMax bounds the head of a request without a body that exchangeOnce writes under the
// first poll's deadline (well under the smallest send buffer Linux starts a socket with).
const headOnlyMax = 8 << 10

// pollEvery is how often a request waiting for its upstream checks whether its client left.
const pollEvery = 100 * time.Millisecond

// exchange sends req on a pooled connection and reads the answer into resp. A stale pooled
// connection (closed by the upstream while idle) is retried once on a fresh one when the
// request can be sent again. It returns a relay when the body is to be streamed; otherwise the
// body is in resp and the connection is back in the pool.
func exchange(hc *fasthttp.HostClient, ctx *fasthttp.RequestCtx, req *fasthttp.Request, resp *fasthttp.Response,
	timeout time.Duration, replayable bool) (*relay, error) {
	for attempt := 0; ; attempt++ {
		rl, reused, err := exchangeOnce(hc, ctx, req, resp, timeout)
		if err == nil {
			return rl, nil
		}
		if !reused || !replayable || attempt > 0 || !staleConn(err) {
			return nil, err
		}
	}
}

// staleConn reports errors that a keep-alive connection closed by the peer produces before
// any byte of an answer.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

type staleError struct{ error }

func (e staleError) Unwrap() error { return e.error }

// The timeout bounds the wait for a pooled connection, the writing of a request whose body is
// at hand, and then — like net/http's ResponseHeaderTimeout — the wait for the answer's head
// once the request is written. A streamed request body takes as long as the client takes.
func exchangeOnce(hc *fasthttp.HostClient, ctx *fasthttp.RequestCtx, req *fasthttp.Request, resp *fasthttp.Response,
	timeout time.Duration) (rl *relay, reused bool, err error) {
	cc, err := hc.AcquireConn(timeout, false)
	if err != nil {
		if errors.Is(err, fasthttp.ErrNoFreeConns) || errors.Is(err, fasthttp.ErrTimeout) {
			return nil, false, errUpstreamTimeout
		}
		return nil, false, err
	}
	conn := cc.Conn()
	now := time.Now()
	reused = now.Sub(cc.CreatedTime()) > 50*time.Millisecond || cc.LastUseTime().After(cc.CreatedTime())
	fail := func(err error) (*relay, bool, error) {
		hc.CloseConn(cc)
		return nil, reused, err
	}
	// A request that is a small head alone goes out in one write the socket's empty send
	// buffer takes whole, so its write and the first wait for the answer share one deadline:
	// one update instead of two, and the runtime keeps a single timer while read and write
	// deadlines are equal. (Should that write ever stall, it ends at the first poll, 504.)
	headOnly := !req.IsBodyStream() && len(req.Body()) == 0 && len(req.Header.RawHeaders()) < headOnlyMax
	if headOnly {
		if err := conn.SetDeadline(now.Add(min(pollEvery, timeout))); err != nil {
			return fail(err)
		}
	} else {
		var writeDeadline time.Time
		if !req.IsBodyStream() {
			writeDeadline = now.Add(timeout)
		}
		if err := conn.SetWriteDeadline(writeDeadline); err != nil {
			return fail(err)
		}
	}
	bw := hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		if isTimeout(err) {
			return fail(errUpstreamTimeout)
		}
		return fail(err)
	}
	// The head's timeout runs from the end of the write: at once for a body at hand (whose write
	// took microseconds), after the client's upload for a streamed one.
	if req.IsBodyStream() {
		now = time.Now()
	}
	deadline := now.Add(timeout)
	br := hc.AcquireReader(conn)
	release := func(keep bool) {
		hc.ReleaseReader(br)
		if keep {
			hc.ReleaseConn(cc)
		} else {
			hc.CloseConn(cc)
		}
	}
	if err := awaitAnswer(conn, br, ctx, now, deadline, headOnly); err != nil {
		release(false)
		return nil, reused, err
	}
	reused = false // an answer began: never send the request twice
	if headOnly {
		conn.SetDeadline(deadline) // both, so they stay equal (one timer)
	} else {
		conn.SetReadDeadline(deadline)
	}
	if err := readHead(resp, br); err != nil {
		release(false)
		if isTimeout(err) {
			err = errUpstreamTimeout
		}
		return nil, false, err
	}
	keep := !resp.ConnectionClose() && !req.ConnectionClose()
	if req.Header.IsHead() || resp.StatusCode() == fasthttp.StatusNoContent || resp.StatusCode() == fasthttp.StatusNotModified ||
		resp.StatusCode() < 200 {
		resp.SkipBody = true
		release(keep)
		return nil, false, nil
	}
	if n := resp.Header.ContentLength(); n >= 0 && n <= bufferedBodyMax {
		if err := resp.ReadBody(br, 0); err != nil {
			release(false)
			return nil, false, err
		}
		release(keep)
		return nil, false, nil
	}
	// Stream: the relay hands the body on as it arrives and returns the connection when the
	// body has ended (or closes it when it did not).
	// The timeout is for the answer's head, as in net/http: a streamed body takes its time.
	// (A body read whole is read at once, still under the head's deadline; the next exchange on
	// this connection sets its own deadlines.)
	conn.SetReadDeadline(time.Time{})
	up := fasthttp.AcquireResponse()
	resp.Header.CopyTo(&up.Header)
	up.StreamBody = true
	if err := up.ReadBody(br, 0); err != nil {
		fasthttp.ReleaseResponse(up)
		release(false)
		return nil, false, err
	}
	// A closure of its own: one that escapes is allocated, and only streamed answers need it.
	hand := func(keep bool) {
		hc.ReleaseReader(br)
		if keep {
			hc.ReleaseConn(cc)
		} else {
			hc.CloseConn(cc)
		}
	}
	return &relay{body: up.BodyStream(), up: up, release: hand, keep: keep, length: up.Header.ContentLength()}, false, nil
}

// awaitAnswer waits for the first byte of the upstream's answer until deadline, checking every
// pollEvery whether the client has gone (then the wait ends with errClientGone). armed says the
// first poll's deadline is set already.
func awaitAnswer(conn net.Conn, br *bufio.Reader, ctx *fasthttp.RequestCtx, now, deadline time.Time, armed bool) error {
	for {
		next := now.Add(pollEvery)
		if next.After(deadline) {
			next = deadline
		}
		if !armed {
			conn.SetReadDeadline(next)
		}
		armed = false
		_, err := br.Peek(1)
		if err == nil {
			return nil
		}
		if !isTimeout(err) {
			return staleError{err}
		}
		if now = time.Now(); !now.Before(deadline) {
			return errUpstreamTimeout
		}
		if ctx != nil && clientGone(ctx.Conn()) {
			return errClientGone
		}
	}
}

// readHead reads the answer's head, skipping interim (1xx) answers other than 101. Each head is
// checked as an event loop checks it (parseAnswer) before fasthttp parses it, so both engines
// refuse the same heads (502): a folded line, a field name that is not a token, a control
// character in a value, an ambiguous framing. A head whose lines end with a bare LF, which a
// loop reads, is given to fasthttp with CRLFs: fasthttp ends a head only at a CRLFCRLF and would
// wait for one until the timeout.
func readHead(resp *fasthttp.Response, br *bufio.Reader) error {
	a := answerPool.Get().(*upstreamAnswer) // (parseAnswer's answer points into itself: it would escape)
	defer func() { *a = upstreamAnswer{}; answerPool.Put(a) }()
	for i := 0; i < 8; i++ {
		head, err := peekAnswerHead(br)
		if err != nil {
			return err
		}
		if err := parseAnswer(a, head); err != nil {
			return err
		}
		if n := len(head); bytes.Count(head, crlf) == bytes.Count(head, lf) {
			err = resp.Header.Read(br) // (the whole head is buffered: parsed at once)
		} else {
			err = resp.Header.Read(bufio.NewReaderSize(bytes.NewReader(withCRLF(head)), 2*n))
			_, _ = br.Discard(n)
		}
		if err != nil {
			return err
		}
		if s := resp.StatusCode(); s >= 200 || s == fasthttp.StatusSwitchingProtocols {
			if s == fasthttp.StatusSwitchingProtocols {
				return errUnexpectedUpgrade // the fast path never asks for an upgrade
			}
			return nil
		}
	}
	return errors.New("upstream sent too many interim answers")
}

var answerPool = sync.Pool{New: func() any { return new(upstreamAnswer) }}

var crlf, lf = []byte("\r\n"), []byte("\n")

// errAnswerHeadSize is an answer's head larger than the read buffer (upstreamHeadMax).
var errAnswerHeadSize = errors.New("upstream answer's head is too large")

// peekAnswerHead waits until the head at the front of br has all arrived (answerHeadEnd) and
// returns it, still buffered.
func peekAnswerHead(br *bufio.Reader) ([]byte, error) {
	for n := 1; ; {
		buf, err := br.Peek(n)
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, errAnswerHeadSize
			}
			return nil, err
		}
		buf, _ = br.Peek(br.Buffered())
		if end := answerHeadEnd(buf); end > 0 {
			return buf[:end], nil
		}
		if len(buf) >= br.Size() {
			return nil, errAnswerHeadSize
		}
		n = len(buf) + 1
	}
}

// withCRLF copies a head that parseAnswer accepted with each line ending in CRLF (its lines
// hold no CR: parseAnswer refuses one).
func withCRLF(head []byte) []byte {
	out := make([]byte, 0, len(head)+bytes.Count(head, lf))
	for rest := head; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		out = append(append(out, line...), '\r', '\n')
	}
	return out
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// clientGone reports whether the client closed its side: a peek at the socket finds the end of
// the stream. Bytes waiting (a pipelined request) mean it is still there.
func clientGone(c net.Conn) bool {
	if pg, ok := c.(interface{ peerGone() bool }); ok { // a connection an event loop handed over
		return pg.peerGone()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	return peekGone(rc)
}

// relay is a streamed upstream body on its way to the client. The server closes it when it has
// written the answer (or failed to); the connection goes back to the pool only when the body
// was read to its end.
type relay struct {
	body    io.Reader
	up      *fasthttp.Response
	release func(keep bool)
	keep    bool
	length  int
	eof     bool
	readErr error
	done    func(r *relay, writeErr error)
}

func (r *relay) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	switch {
	case err == io.EOF:
		r.eof = true
	case err != nil:
		r.readErr = err
	}
	return n, err
}

// CloseWithError is called by the server once the answer is written; err is why writing
// stopped early (the client left), if it did.
func (r *relay) CloseWithError(err error) error {
	fasthttp.ReleaseResponse(r.up)
	r.release(r.keep && r.eof)
	// done puts the request's state back in the pool: it must run once.
	if done := r.done; done != nil {
		r.done = nil
		done(r, err)
	}
	return nil
}

var _ fasthttp.ReadCloserWithError = (*relay)(nil)
