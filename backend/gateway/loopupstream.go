package gateway

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/fasthttp"
)

// loopupstream.go is the event-loop engine's side towards the upstreams: per loop, a pool of
// keep-alive connections for each upstream address, and the exchange of one request on one of
// them — the request written, the answer's head read and cleaned, its body relayed to the
// client as it arrives (with its length, or re-chunked).

// The states of an exchange.
const (
	xNone    uint8 = iota
	xWaiting       // for a pooled connection (or a dial)
	xHead          // the request is written; waiting for the answer's head
	xBody          // relaying a body of known length (left)
	xChunked       // relaying a chunked body (dec)
	xToClose       // relaying a body that ends when the upstream closes
)

// exchange is one request's trip upstream; it lives in its loopClient.
type loopExchange struct {
	lc         *loopClient
	p          *upPool
	up         *upConn
	snap       *snapshot
	out        []byte // the request as written upstream (kept for one retry)
	state      uint8
	replayable bool
	head       bool // a HEAD request: the answer has no body
	reused     bool // sent on a connection that had carried an exchange before
	answered   bool // the answer's head has arrived (nothing may be sent twice)
	retried    bool
	keepUp     bool         // the upstream connection may be pooled again after this answer
	offLoop    bool         // the rest of the body is read off the loop (relayOffLoop)
	capture    *captureBody // a learning route's copy of the answer's body
	carry      []byte       // off the loop: the end of a piece the chunk decoder has yet to take
	interim    int          // 1xx answers skipped
	deadline   time.Time
	left       int
	dec        chunkDecoder
	answer     upstreamAnswer // the answer's head, as read (answerHead)
}

// forward sends a request that passed its checks (beginFast) to its route's upstream.
func (l *evLoop) forward(lc *loopClient, snap *snapshot) {
	ctx, st := &lc.ctx, lc.st
	x := &lc.x
	*x = loopExchange{lc: lc, snap: snap, replayable: replayableMethod(st.in.method),
		head: st.in.method == fasthttp.MethodHead, deadline: st.start.Add(snap.timeout),
		out: l.g.appendRewritten(x.out[:0], st, st.route, ctx.Request.Body())}
	ctx.Response.Reset()
	x.p = l.pool(st.route.client.Addr)
	x.p.acquire(x)
}

// answerHead reads the answer's head at the front of buf into x.answer; it returns the head's
// length, 0 when it has not all arrived, or an error.
func (l *evLoop) answerHead(x *loopExchange, buf []byte) (int, error) {
	end := answerHeadEnd(buf)
	if end < 0 {
		if len(buf) > upstreamHeadMax {
			return 0, errors.New("upstream answer's head is too large")
		}
		return 0, nil
	}
	if err := parseAnswer(&x.answer, buf[:end]); err != nil {
		return 0, err
	}
	return end, nil
}

// upTraffic reads what an upstream sent: the head of the answer it owes, then its body. What
// it owes the client from one read — the head and what came of the body — goes out in one write.
func (l *evLoop) upTraffic(uc *upConn) gnet.Action {
	x := uc.x
	if x == nil { // nothing was asked: a broken or closing upstream
		return gnet.Close
	}
	l.out = l.out[:0]
	for uc.x == x {
		buf, _ := uc.c.Peek(-1)
		if len(buf) == 0 {
			break
		}
		if x.state != xHead {
			n, complete, err := l.relayBody(x, buf)
			_, _ = uc.c.Discard(n)
			switch {
			case err != nil:
				if l.flush(x.lc) {
					l.brokenBody(x, err)
				}
				return gnet.None
			case complete:
				l.answered(x)
				return gnet.None
			case n < len(buf):
				goto flush // the rest of a chunk's framing has not come yet
			}
			continue
		}
		n, err := l.answerHead(x, buf)
		if err != nil {
			l.abort(x)
			l.fail(x.lc, err)
			return gnet.None
		}
		if n == 0 {
			return gnet.None
		}
		x.answered = true
		if s := x.answer.status; s < 200 {
			_, _ = uc.c.Discard(n)
			x.interim++
			if s == fasthttp.StatusSwitchingProtocols || x.interim > 8 {
				l.abort(x)
				l.fail(x.lc, errUnexpectedUpgrade)
				return gnet.None
			}
			continue // an interim answer (100, 103): the real one follows
		}
		complete := l.startAnswer(x) // (from the head, still buffered)
		_, _ = uc.c.Discard(n)
		if complete {
			l.answered(x)
			return gnet.None
		}
	}
flush:
	if l.flush(x.lc) && x.up == uc && x.lc.c.OutboundBuffered() > clientLagMax && l.relayOffLoop(x) {
		// Closed now, before gnet reads the socket again: from here on only the duplicate
		// is read.
		return gnet.Close
	}
	return gnet.None
}

// relayBody takes what it can of an answer's body from buf into l.out, framed for the client:
// it returns how much of buf it used and whether the body is complete.
func (l *evLoop) relayBody(x *loopExchange, buf []byte) (n int, complete bool, err error) {
	switch x.state {
	case xBody:
		n = min(x.left, len(buf))
		l.out = append(l.out, buf[:n]...)
		if x.capture != nil {
			x.capture.keep(buf[:n])
		}
		x.left -= n
		return n, x.left == 0, nil
	case xChunked:
		l.out, n, complete, err = x.dec.decode(l.out, buf)
		return n, complete, err
	case xToClose:
		l.out = appendChunk(l.out, buf)
		if x.capture != nil {
			x.capture.keep(buf)
		}
		return len(buf), false, nil
	}
	return 0, false, errors.New("no body expected")
}

// clientLagMax is how far a client may fall behind the answer it is sent before the rest of
// the answer is relayed off the loop (relayOffLoop): a loop cannot stop reading an upstream
// while its client reads slowly (gnet cannot pause a read), so what the client has not taken
// waits in memory.
const clientLagMax = 1 << 20

// relayOffLoop moves the rest of an answer whose client reads slowly off the loop: the
// upstream socket leaves the loop (a duplicate of it is read on a goroutine; the loop closes
// its own), and each piece read is relayed on the loop only once the client has taken most of
// what it was sent — so memory stays bounded, as with fasthttp's blocking writes. The upstream
// connection is not pooled again. It runs in the upstream connection's OnTraffic, which closes
// that connection when it returns true.
func (l *evLoop) relayOffLoop(x *loopExchange) bool {
	uc := x.up
	fd, err := uc.c.Dup()
	var up net.Conn
	if err == nil {
		f := os.NewFile(uintptr(fd), "upstream")
		up, err = net.FileConn(f)
		f.Close()
	}
	if err != nil {
		l.g.log.Warn("cannot relay a slow client's answer off the loop; connection closed", "err", err,
			"request_id", x.lc.st.requestID[0])
		l.abort(x)
		x.lc.st.code = CodeClientClosed
		l.finish(x.lc)
		l.close(x.lc)
		return false
	}
	// Bytes the loop read and did not relay (none: each read is relayed whole) go first.
	rest, _ := uc.c.Next(-1)
	rest = append([]byte(nil), rest...)
	uc.x, x.up, x.offLoop = nil, nil, true
	// The duplicate is a connection to the upstream until slowRelay closes it: it counts
	// against the pool's cap (closed takes off the loop's own when OnTraffic closes it).
	uc.p.conns++
	go l.slowRelay(x, uc.p, up, rest)
	return true
}

// slowRelay reads the rest of an answer on a goroutine and hands each piece to the loop, then
// waits while the client is more than clientLagMax/4 behind.
func (l *evLoop) slowRelay(x *loopExchange, p *upPool, up net.Conn, rest []byte) {
	defer func() {
		up.Close()
		_ = l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			p.relayed()
			return nil
		})) // (an error: the loops have stopped, and their pools with them)
	}()
	buf := make([]byte, 64<<10)
	reply := make(chan int, 1) // what the client has yet to take; -1: stop
	for {
		piece, eof := rest, false
		rest = nil
		if len(piece) == 0 {
			n, err := up.Read(buf)
			piece, eof = buf[:n], err != nil
		}
		for {
			p, e := piece, eof
			step := gnet.RunnableFunc(func(context.Context) error {
				reply <- l.slowPiece(x, p, e)
				return nil
			})
			if l.el.Execute(context.Background(), step) != nil {
				return // the loops have stopped
			}
			behind := <-reply
			if behind < 0 {
				return
			}
			if behind <= clientLagMax/4 {
				break
			}
			// Ask again in a moment, with nothing more to relay.
			time.Sleep(5 * time.Millisecond)
			piece, eof = nil, false
		}
	}
}

// slowPiece relays, on the loop, a piece slowRelay read (eof: the upstream's end); it returns
// how much the client has yet to take, or -1 once the answer is over (complete, broken or its
// client gone).
func (l *evLoop) slowPiece(x *loopExchange, piece []byte, eof bool) int {
	lc := x.lc
	if lc.closed || !x.offLoop || lc.st == nil {
		return -1
	}
	l.out = l.out[:0]
	var n int
	var complete bool
	var err error
	if len(x.carry) > 0 && len(piece) > 0 {
		piece = append(append([]byte(nil), x.carry...), piece...)
		x.carry = x.carry[:0]
	}
	if len(piece) > 0 {
		n, complete, err = l.relayBody(x, piece)
		if err == nil && !complete && n < len(piece) {
			// The decoder waits for more of a chunk's framing: keep the piece's tail for it.
			x.carry = append(x.carry[:0], piece[n:]...)
		}
	}
	if err == nil && !complete && eof {
		if x.state == xToClose {
			l.out = append(l.out, lastChunk...)
			complete = true
		} else {
			err = errUpstreamClosed
		}
	}
	switch {
	case err != nil:
		x.offLoop = false
		if l.flush(lc) {
			l.brokenBody(x, err)
		}
		return -1
	case complete:
		x.offLoop, x.keepUp = false, false
		l.answered(x)
		return -1
	}
	if !l.flush(lc) {
		return -1
	}
	return lc.c.OutboundBuffered()
}

// flush writes what upTraffic gathered for the client; false when the client is gone.
func (l *evLoop) flush(lc *loopClient) bool {
	if len(l.out) == 0 {
		return !lc.closed
	}
	ok := l.write(lc, l.out)
	l.out = l.out[:0]
	return ok
}

// startAnswer puts the client's head for the answer (x.answer) in l.out and sets up the
// body's relay; it says whether the answer is complete (no body).
func (l *evLoop) startAnswer(x *loopExchange) bool {
	lc := x.lc
	st := lc.st
	a := &x.answer
	lc.ctx.Response.SetStatusCode(a.status) // (for the log and the metrics)
	x.keepUp = !a.close
	x.capture = nil
	if st.learn != nil {
		x.capture = learnAnswer(st.learn, a.status, b2s(a.contentType), b2s(a.encoding))
	}
	frame := frameLength
	switch {
	case x.head || a.status == fasthttp.StatusNoContent || a.status == fasthttp.StatusNotModified:
		frame = frameNone
	case a.length >= 0:
		x.state, x.left = xBody, a.length
	case a.chunked:
		frame, x.state = frameChunked, xChunked
		x.dec = chunkDecoder{keep: x.capture}
	default: // no length: the body ends when the upstream closes; the client gets it chunked
		frame, x.state, x.keepUp = frameChunked, xToClose, false
	}
	l.out = appendAnswer(l.out, a, st, l.dateLine(), frame, st.clientClose || l.e.draining.Load())
	return frame == frameNone || (x.state == xBody && x.left == 0)
}

// answered ends an exchange whose answer is complete, its last bytes gathered in l.out: the
// upstream connection goes back to the pool (or closes), the request is finished, the bytes
// are written, and the client's next request is read.
func (l *evLoop) answered(x *loopExchange) {
	uc, lc := x.up, x.lc
	x.up, x.state = nil, xNone
	if uc != nil {
		uc.x = nil
		if x.keepUp && uc.c.InboundBuffered() == 0 {
			uc.p.release(uc)
		} else {
			_ = uc.c.Close()
		}
	}
	closing := lc.st.clientClose || lc.ctx.Response.ConnectionClose() || l.e.draining.Load()
	// Logged before its last bytes are written (see answerLocal).
	l.finish(lc)
	switch {
	case !l.flush(lc):
	case closing:
		l.close(lc)
	default:
		l.process(lc)
	}
}

// brokenBody ends an answer whose body the upstream broke off: the client's connection closes
// (its answer is incomplete), and the request is logged with the status it began with.
func (l *evLoop) brokenBody(x *loopExchange, err error) {
	lc := x.lc
	l.g.log.Warn("upstream answer broke off", "err", err, "request_id", lc.st.requestID[0], "route", lc.st.route.Prefix)
	l.abort(x)
	l.finish(lc)
	l.close(lc)
}

// abort takes an exchange off its upstream connection (closing it: its answer is not wanted)
// or out of its pool's queue.
func (l *evLoop) abort(x *loopExchange) {
	if uc := x.up; uc != nil {
		uc.x = nil
		x.up = nil
		_ = uc.c.Close()
	} else if x.state == xWaiting && x.p != nil {
		x.p.unqueue(x)
	}
	x.state = xNone
}

// fail answers a request whose exchange failed (504, 502) and finishes it.
func (l *evLoop) fail(lc *loopClient, err error) {
	ctx, st := &lc.ctx, lc.st
	l.g.upstreamFailed(ctx, st, lc.x.snap, err)
	l.answerLocal(lc)
	if !lc.closed {
		l.process(lc)
	}
}

// upPool is one loop's connections to one upstream address.
type upPool struct {
	l       *evLoop
	addr    string
	idle    []*upConn
	waiting xQueue
	conns   int // open or being dialled
	max     int
}

// upConn is an upstream connection of a pool.
type upConn struct {
	p     *upPool
	c     gnet.Conn
	x     *loopExchange // the exchange it carries
	uses  int
	since time.Time // idle since
}

// pool is the loop's pool for addr.
func (l *evLoop) pool(addr string) *upPool {
	p := l.pools[addr]
	if p == nil {
		// The cap on connections to one upstream, less the fasthttp pools' share for what the
		// loops hand over (handedConns), is shared out among the loops.
		c := &l.g.cfg
		p = &upPool{l: l, addr: addr, max: max((c.MaxUpstreamConns-handedConns(c))/l.e.nloops, 1)}
		l.pools[addr] = p
	}
	return p
}

// acquire sends x on an idle connection, or queues it (dialling when the pool has room).
func (p *upPool) acquire(x *loopExchange) {
	x.p = p
	if n := len(p.idle); n > 0 {
		uc := p.idle[n-1]
		p.idle = p.idle[:n-1]
		uc.send(x)
		return
	}
	x.state = xWaiting
	p.waiting.push(x)
	if p.conns < p.max && p.conns < p.waiting.len()+len(p.idle) {
		p.dial()
	}
}

func (p *upPool) unqueue(x *loopExchange) { p.waiting.remove(x) }

// xQueue is a pool's waiting exchanges, oldest first: a slice with a head index, so that taking
// the oldest neither allocates nor moves the rest. (Slicing the front off, as before, made the
// next append allocate whenever the queue had been short: about every fourth proxied request
// under load.)
type xQueue struct {
	q    []*loopExchange
	head int
}

func (w *xQueue) len() int { return len(w.q) - w.head }

func (w *xQueue) push(x *loopExchange) {
	switch {
	case w.head == len(w.q): // empty: start again at the front
		w.q, w.head = w.q[:0], 0
	case w.head > 0 && len(w.q) == cap(w.q) && w.head >= len(w.q)/2: // full, half taken: move up
		n := copy(w.q, w.q[w.head:])
		clear(w.q[n:])
		w.q, w.head = w.q[:n], 0
	}
	w.q = append(w.q, x)
}

// pop takes the oldest; the queue must not be empty.
func (w *xQueue) pop() *loopExchange {
	x := w.q[w.head]
	w.q[w.head] = nil
	w.head++
	return x
}

func (w *xQueue) remove(x *loopExchange) {
	for i := w.head; i < len(w.q); i++ {
		if w.q[i] == x {
			copy(w.q[i:], w.q[i+1:])
			w.q[len(w.q)-1] = nil
			w.q = w.q[:len(w.q)-1]
			return
		}
	}
}

// dial connects a new upstream connection off the loop; it joins the loop (opened) or the
// oldest waiting exchange fails (dialFailed).
func (p *upPool) dial() {
	p.conns++
	uc := &upConn{p: p}
	e, el := p.l.e, p.l.el
	go func() {
		c, err := e.dialer.Dial("tcp", p.addr)
		if err == nil {
			var ch <-chan gnet.RegisteredResult
			if ch, err = el.Enroll(gnet.NewContext(context.Background(), uc), c); err == nil {
				if res := <-ch; res.Err != nil {
					err = res.Err
				}
			} else {
				c.Close()
			}
		}
		if err != nil {
			_ = el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
				p.dialFailed(err)
				return nil
			}))
		}
	}()
}

func (p *upPool) dialFailed(err error) {
	p.conns--
	if p.waiting.len() == 0 {
		return
	}
	x := p.waiting.pop()
	x.state = xNone
	p.l.fail(x.lc, err)
}

// opened is a dialled connection joining its loop.
func (uc *upConn) opened(c gnet.Conn) {
	uc.c = c
	uc.p.release(uc)
}

// release gives a free connection the oldest waiting exchange, or idles it.
func (p *upPool) release(uc *upConn) {
	if p.waiting.len() > 0 {
		uc.send(p.waiting.pop())
		return
	}
	uc.since = p.l.now
	p.idle = append(p.idle, uc)
}

// send writes x's request on uc.
func (uc *upConn) send(x *loopExchange) {
	uc.x, x.up = x, uc
	x.reused = uc.uses > 0
	uc.uses++
	x.state = xHead
	if x.retried { // a second try gets its own time
		x.deadline = time.Now().Add(x.snap.timeout)
	}
	_, _ = uc.c.Write(x.out)
}

// closed is the end of an upstream connection. An exchange that had no answer yet is sent once
// more on a fresh connection when the connection was a reused one and the request can be sent
// twice (the upstream closed it while idle); otherwise it fails (502), or — for a body that
// ends with the connection — it is complete.
func (p *upPool) closed(uc *upConn) {
	p.conns--
	for i, u := range p.idle {
		if u == uc {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			break
		}
	}
	x := uc.x
	uc.x = nil
	if x != nil {
		x.up = nil
		switch {
		case x.state == xHead && !x.answered && x.reused && x.replayable && !x.retried:
			x.retried = true
			p.acquire(x)
		case x.state == xToClose:
			p.l.out = append(p.l.out[:0], lastChunk...)
			p.l.answered(x)
		case x.state == xHead:
			x.state = xNone
			p.l.fail(x.lc, errUpstreamClosed)
		default:
			p.l.brokenBody(x, errUpstreamClosed)
		}
	}
	if p.waiting.len() > 0 && p.conns < p.max {
		p.dial()
	}
}

// relayed is the end of a connection slowRelay read off the loop: its place in the cap goes to
// the oldest waiting exchange.
func (p *upPool) relayed() {
	p.conns--
	if p.waiting.len() > 0 && p.conns < p.max {
		p.dial()
	}
}

// sweep closes connections idle too long (the loop's sweep times out waiting exchanges).
func (p *upPool) sweep(now time.Time) {
	for i := 0; i < len(p.idle); {
		if uc := p.idle[i]; now.Sub(uc.since) > upstreamIdleFor {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			_ = uc.c.Close()
			continue
		}
		i++
	}
}

// upstreamIdleFor is how long an idle upstream connection is kept (as the HostClient pools).
const upstreamIdleFor = 30 * time.Second

var errUpstreamClosed = errors.New("upstream closed the connection")

// lastChunk ends a chunked body.
var lastChunk = []byte("0\r\n\r\n")

// appendChunk appends p as one chunk.
func appendChunk(dst, p []byte) []byte {
	if len(p) == 0 {
		return dst
	}
	dst = strconv.AppendUint(dst, uint64(len(p)), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, p...)
	return append(dst, '\r', '\n')
}
