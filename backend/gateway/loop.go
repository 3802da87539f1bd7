package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
	"github.com/valyala/fasthttp"

	"github.com/keygate/keygate/backend/keys"
)

// loop.go is the event-loop engine (EngineLoop), the gateway's default data plane. A few event
// loops (github.com/panjf2000/gnet/v2, one per core: loopCount) each own the client
// connections they were given and the upstream connections they dialled, so a request is read,
// checked, forwarded and answered on one goroutine: no goroutine parked per connection, no read
// that fails with EAGAIN, one epoll_wait for many ready sockets (docs/performance.md,
// "Session 23").
//
// A loop runs the same checks as the fasthttp engine (checkFast, on a fasthttp.RequestCtx of its
// own) and does the socket work itself. It reads a request only when it is sure of it: a whole
// HTTP/1.1 head (and body, with a length) already read — a head that comes in parts is waited
// for, for the head timeout —, which the gateway's strict parser
// (inbound.parseHead) reads alone, with no chunked body, Expect or Upgrade. It takes it through
// when the route's upstream is plain HTTP and the route does not validate, and writes the
// upstream's request and the client's answer head itself, in one pass over the lines it was
// given (looprewrite.go, loopanswer.go; by the fasthttp engine's rules). Anything else — a head
// over the limit or with a bare LF, a chunked upload, a WebSocket, a validated route, a head
// the parser refuses — is handed over: from that request on, the connection's bytes go to the fasthttp
// server (the fasthttp engine, unchanged) through a handConn, and its answers come back the
// same way. So no request is ever read by two parsers, and every refusal is the fasthttp
// engine's own.
//
// Nothing on a loop waits: a check that needs the store (a key not in the cache, a session, a
// quota counted in the store, limits in Redis, a signed identity) runs again on a goroutine and
// comes back (offload); upstream dials run on a goroutine and join the loop when connected; an
// answer whose client reads slowly is read off the loop (relayOffLoop); timeouts are kept by a
// sweep every loopTick; the request log and metrics are memory only.

// EngineLoop is the event-loop engine (Config.Engine).
const EngineLoop = "loop"

// loopTick is how often each loop sweeps for timeouts (upstream answers, idle connections).
const loopTick = 100 * time.Millisecond

// loopBodyMax is the largest request body a loop collects; a larger one is handed over (and
// streamed by fasthttp).
const loopBodyMax = 1 << 20

// loopCount is how many event loops an engine runs: one for each processor the process may use
// as the runtime first found them (GOMAXPROCS: the machine's cores, or fewer under a CPU quota).
// The first engine also gives the Go scheduler one processor more than there are loops, unless
// the GOMAXPROCS variable says how many to use. A loop holds its processor while it waits in
// epoll_wait, a system call; with no processor spare, the runtime's monitor takes a waiting
// loop's processor away to run the process's other goroutines (the request log's writer, the
// usage flusher, offloaded checks), and the loop must get one back when it wakes; the monitor
// itself keeps waking every 20 µs while it finds processors to take. With one to spare, a loop
// keeps its own: measured with scripts/bench/ab.sh on two cores (AB_ENV_A=GOMAXPROCS=2 against
// the default), 0.89–0.96× the CPU per 401 answer and 0.96× per proxied request
// (docs/performance.md, "Session 28").
func loopCount() int {
	loopProcs.Do(func() {
		loopProcs.n = runtime.GOMAXPROCS(0)
		if os.Getenv("GOMAXPROCS") == "" {
			runtime.GOMAXPROCS(loopProcs.n + 1)
		}
	})
	return loopProcs.n
}

var loopProcs struct {
	sync.Once
	n int
}

// upstreamHeadMax bounds an upstream answer's head (fasthttp's HostClient reads 16 KiB).
const upstreamHeadMax = 16 << 10

// loopEngine runs the event loops of one Server run.
type loopEngine struct {
	gnet.BuiltinEventEngine
	g     *Gateway
	cli   *gnet.Client
	fast  *fasthttp.Server // serves handed-over connections
	hand  *handListener
	loops sync.Map // gnet.EventLoop → *evLoop

	// open counts the client connections the loops serve themselves (handed-over ones are
	// fasthttp's); drain waits for it to reach 0.
	open     atomic.Int64
	draining atomic.Bool
	stopTick chan struct{}
	dialer   net.Dialer
	nloops   int
	made     atomic.Int32 // loops made so far (loopOf), for their shards
}

func newLoopEngine(g *Gateway, fast *fasthttp.Server, addr net.Addr) (*loopEngine, error) {
	e := &loopEngine{g: g, fast: fast, hand: newHandListener(addr), stopTick: make(chan struct{}),
		dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}, nloops: loopCount()}
	cli, err := gnet.NewClient(e, gnet.WithMulticore(true), gnet.WithNumEventLoop(e.nloops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay), gnet.WithLogger(gnetLogger{g.log}))
	if err != nil {
		return nil, err
	}
	if err := cli.Start(); err != nil {
		return nil, err
	}
	e.cli = cli
	go e.tick()
	return e, nil
}

// loopRun is the event-loop engine serving a listener, with the fasthttp server that takes
// what the loops hand over.
type loopRun struct {
	e     *loopEngine
	conns *connSet
	ln    net.Listener
	done  chan struct{}
}

// startLoop serves ln with event loops, handing connections over to fast (whose ConnState it
// sets, to close them if a drain runs out).
func (g *Gateway) startLoop(ln net.Listener, fast *fasthttp.Server) (*loopRun, error) {
	e, err := newLoopEngine(g, fast, ln.Addr())
	if err != nil {
		return nil, err
	}
	r := &loopRun{e: e, conns: newConnSet(), ln: ln, done: make(chan struct{})}
	fast.ConnState = r.conns.track
	go func() {
		defer close(r.done)
		handed := make(chan error, 1)
		go func() { handed <- fast.Serve(e.hand) }()
		if err := e.serve(ln); !errors.Is(err, net.ErrClosed) {
			g.log.Error("gateway stopped accepting connections", "err", err)
		}
		if err := <-handed; err != nil {
			g.log.Error("gateway stopped serving handed-over connections", "err", err)
		}
	}()
	return r, nil
}

// stop closes the listener and drains (until ctx ends; then every connection left is closed).
func (r *loopRun) stop(ctx context.Context) error {
	_ = r.ln.Close()
	err := r.e.shutdown(ctx)
	if err != nil {
		r.e.g.log.Warn("gateway drain incomplete; closing remaining connections", "err", err)
		r.conns.closeAll()
	}
	r.e.close()
	<-r.done
	return err
}

// ServeLoop serves the gateway on ln with the event-loop engine until stop is called (which
// drains as Server.Stop does). Server runs it for EngineLoop; tests run it on a listener of
// their own.
func (g *Gateway) ServeLoop(ln net.Listener) (stop func(context.Context) error, err error) {
	r, err := g.startLoop(ln, g.FastServer())
	if err != nil {
		return nil, err
	}
	return r.stop, nil
}

// serve accepts connections on ln and gives each to a loop, until ln is closed.
func (e *loopEngine) serve(ln net.Listener) error {
	var pause time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
				// Out of file descriptors and the like: wait a little, as net/http does.
				pause = min(max(2*pause, 5*time.Millisecond), time.Second)
				e.g.log.Warn("gateway accept failed; retrying", "err", err, "in", pause)
				time.Sleep(pause)
				continue
			}
			return err
		}
		pause = 0
		e.open.Add(1)
		// Enroll takes a duplicate of the socket and closes c.
		if _, err := e.cli.EnrollContext(c, nil); err != nil {
			e.open.Add(-1)
			c.Close()
			e.g.log.Warn("gateway could not take a connection", "err", err)
		}
	}
}

// shutdown drains: idle connections close at once, busy ones after their answer (which says
// Connection: close), handed-over ones as fasthttp drains them. The listener is closed already.
func (e *loopEngine) shutdown(ctx context.Context) error {
	e.draining.Store(true)
	e.loops.Range(func(_, v any) bool {
		l := v.(*evLoop)
		_ = l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			l.sweep(time.Now())
			return nil
		}))
		return true
	})
	fastDone := make(chan error, 1)
	go func() { fastDone <- e.fast.ShutdownWithContext(ctx) }()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	var err error
	for e.open.Load() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-t.C:
		}
	}
	if ferr := <-fastDone; err == nil {
		err = ferr
	}
	return err
}

// close stops the loops, closing every connection left.
func (e *loopEngine) close() {
	close(e.stopTick)
	e.hand.Close()
	if err := e.cli.Stop(); err != nil {
		e.g.log.Warn("gateway event loops did not stop cleanly", "err", err)
	}
}

// tick asks each loop to sweep every loopTick.
func (e *loopEngine) tick() {
	t := time.NewTicker(loopTick)
	defer t.Stop()
	for {
		select {
		case <-e.stopTick:
			return
		case <-t.C:
		}
		e.loops.Range(func(_, v any) bool {
			_ = v.(*evLoop).el.Execute(context.Background(), v.(*evLoop).sweeper)
			return true
		})
	}
}

// loopOf is the state of c's loop, made on its first connection.
func (e *loopEngine) loopOf(c gnet.Conn) *evLoop {
	el := c.EventLoop()
	if v, ok := e.loops.Load(el); ok {
		return v.(*evLoop)
	}
	l := &evLoop{e: e, g: e.g, el: el, clients: map[*loopClient]struct{}{}, pools: map[string]*upPool{},
		shard: e.g.metrics.loopShard(int(e.made.Add(1) - 1))}
	if lv, ok := e.g.cfg.Keys.(interface{ Local() *keys.Local }); ok {
		l.kv = lv.Local()
	}
	l.bw = bufio.NewWriterSize(&l.wbuf, 16<<10)
	l.sweeper = gnet.RunnableFunc(func(context.Context) error {
		l.sweep(time.Now())
		return nil
	})
	v, _ := e.loops.LoadOrStore(el, l)
	return v.(*evLoop)
}

func (e *loopEngine) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if uc, ok := c.Context().(*upConn); ok { // an upstream connection a loop dialled
		uc.opened(c)
		return nil, gnet.None
	}
	l := e.loopOf(c)
	lc := &loopClient{l: l, c: c, since: time.Now(), fresh: true}
	l.now = lc.since
	lc.fake = loopConnAddr{local: c.LocalAddr(), remote: c.RemoteAddr()}
	// Bodies go back to fasthttp's pools after each request, not kept per connection: an idle
	// connection holds no upload's buffer.
	lc.ctx.Init2(lc.fake, fastLogger{e.g.log, e.g.mask}, true)
	l.clients[lc] = struct{}{}
	c.SetContext(lc)
	return nil, gnet.None
}

func (e *loopEngine) OnTraffic(c gnet.Conn) gnet.Action {
	switch x := c.Context().(type) {
	case *loopClient:
		x.l.process(x)
	case *upConn:
		return x.p.l.upTraffic(x)
	default:
		return gnet.Close
	}
	return gnet.None
}

func (e *loopEngine) OnClose(c gnet.Conn, _ error) gnet.Action {
	switch x := c.Context().(type) {
	case *loopClient:
		x.l.clientClosed(x)
	case *upConn:
		x.p.closed(x)
	}
	return gnet.None
}

// evLoop is one event loop's state; only that loop's goroutine touches it.
type evLoop struct {
	e       *loopEngine
	g       *Gateway
	el      gnet.EventLoop
	clients map[*loopClient]struct{}
	pools   map[string]*upPool
	sweeper gnet.Runnable
	// shard is the loop's shard of the metrics (and of the usage counts).
	shard int
	// kv is the loop's view of the key cache (keys.Local): a hot key is answered without
	// touching what the other loops write.
	kv *keys.Local
	// Scratch for writing messages (wbuf, bw, out).
	wbuf bytes.Buffer
	bw   *bufio.Writer
	out  []byte
	// now is the time of the last sweep or connection: what idle stamps are made with (the
	// clock is read twice per request, for its latency, and no more).
	now time.Time
	// date is the Date line of the answers, as of dateSec (dateLine).
	date    []byte
	dateSec int64
	// heads is where the loop copies request heads to.
	heads headArena
}

// headArena hands out a loop's copies of request heads from chunks it fills in turn: one
// allocation per chunk rather than one per request, and less for the collector to do. No byte
// of a chunk is handed out twice, so a copy stays as it is for as long as anything points into
// it (the request log keeps a request's strings); the collector frees a chunk when nothing
// does. A request may append up to the spare bytes it asked for (its id); more reallocates.
type headArena struct{ buf []byte }

// headChunk is the size of an arena's chunks: some fifty heads of a typical size, and what one
// string kept from a head keeps alive at most.
const headChunk = 16 << 10

// copyHead returns a copy of head with room for spare more bytes (its capacity).
func (a *headArena) copyHead(head []byte, spare int) []byte {
	n := len(head) + spare
	if n > headChunk/4 {
		return append(make([]byte, 0, n), head...)
	}
	if len(a.buf)+n > cap(a.buf) {
		a.buf = make([]byte, 0, headChunk)
	}
	off := len(a.buf)
	a.buf = a.buf[:off+n]
	out := a.buf[off : off+len(head) : off+n]
	copy(out, head)
	return out
}

// dateLine is the Date header line for an answer now (the sweep's clock: a second's
// precision, as fasthttp's).
func (l *evLoop) dateLine() []byte {
	now := l.now
	if now.IsZero() {
		now = time.Now()
	}
	if s := now.Unix(); s != l.dateSec || l.date == nil {
		l.dateSec = s
		l.date = append(fasthttp.AppendHTTPDate(append(l.date[:0], "Date: "...), now), '\r', '\n')
	}
	return l.date
}

// loopClient is a client connection on a loop.
type loopClient struct {
	l    *evLoop
	c    gnet.Conn
	ctx  fasthttp.RequestCtx
	fake loopConnAddr
	st   *reqState    // the request in flight, nil between requests
	x    loopExchange // its upstream exchange, when it is forwarded
	// since is when the connection last became idle; fresh says no request came yet (the
	// head timeout applies instead of the idle one).
	since time.Time
	fresh bool
	// headSince is when the first bytes of a head that has not all come yet were read (zero
	// when none are waiting): the head timeout counts from then, or from since on a fresh
	// connection.
	headSince time.Time
	hand      *handConn // set once the connection is handed over
	closed    bool
	away      bool // the request's checks run off the loop (offload): the loop leaves lc.ctx alone
}

// process takes the client's buffered requests through, one at a time, until one goes upstream
// (the answer continues it), the connection is handed over, or nothing is left.
func (l *evLoop) process(lc *loopClient) {
	if lc.hand != nil {
		buf, _ := lc.c.Next(-1)
		lc.hand.push(buf)
		return
	}
	g := l.g
	for lc.st == nil && !lc.closed {
		buf, _ := lc.c.Peek(-1)
		if len(buf) == 0 {
			return
		}
		end := bytes.Index(buf, crlfcrlf)
		if end < 0 {
			if len(buf) >= g.cfg.MaxHeaderBytes || hasBareLF(buf) {
				l.handOver(lc) // too large (fasthttp answers 431), or not a head the loop reads
				return
			}
			// A head in parts: the loop waits for the rest, for the head timeout (sweep).
			if lc.headSince.IsZero() {
				// The clock now, not the loop's last reading (l.now, up to a sweep old): the
				// head timeout must not run from before the first bytes came.
				lc.headSince = time.Now()
			}
			return
		}
		lc.headSince = time.Time{}
		if end+4 > g.cfg.MaxHeaderBytes {
			l.handOver(lc) // too large: fasthttp answers 431
			return
		}
		ctx := &lc.ctx
		ctx.Request.Reset()
		ctx.Response.Reset()
		st, snap := g.startFast(ctx, l.shard)
		st.loop, st.kv = true, l.kv
		// One copy of the head, which the request log keeps and every string parsed from it
		// points into.
		st.raw = l.heads.copyHead(buf[:end+4], requestIDMax)
		st.spare = st.raw[len(st.raw):]
		n, ok := l.readRequest(lc, st, buf)
		if !ok {
			g.abandonFast(st)
			l.handOver(lc)
			return
		}
		v := g.checkFast(ctx, st, snap)
		switch v {
		case verdictHandOver, verdictSlow: // (slow never comes: loopCanForward)
			g.abandonFast(st)
			l.handOver(lc)
			return
		case verdictOffload:
			// The checks start again off the loop, from a clean state: nothing was taken.
			raw := st.raw
			g.abandonFast(st)
			g.metrics.shards[l.shard].offloaded.Add(1)
			_, _ = lc.c.Discard(n)
			st, snap = g.startFast(ctx, l.shard)
			st.raw, st.spare = raw, raw[len(raw):]
			lc.st, lc.fresh, lc.away = st, false, true
			go l.offload(lc, st, snap)
			return
		}
		g.metrics.shards[l.shard].served.Add(1)
		_, _ = lc.c.Discard(n)
		lc.st, lc.fresh = st, false
		if v == verdictAnswered {
			l.answerLocal(lc)
			continue
		}
		l.forward(lc, snap)
	}
}

// offload runs a request's checks on a goroutine of its own, where a store lookup may wait, and
// goes back to the loop with the verdict. Meanwhile the loop leaves the connection alone
// (lc.away).
func (l *evLoop) offload(lc *loopClient, st *reqState, snap *snapshot) {
	ctx := &lc.ctx
	var v verdict
	if l.g.parseLoopHead(ctx, st) { // (it parsed on the loop: it parses again)
		v = l.g.checkFast(ctx, st, snap)
	}
	switch v {
	case verdictForward:
		// The request is written for the upstream on the loop, where nothing may wait: whether
		// its Authorization header carries an imported key (stripped then) may need the store,
		// so it is found out here.
		l.g.resolveForeignAuth(st)
	case verdictAnswered:
	default: // cannot be: loopCanForward let the request through once already
		l.g.answerFast(ctx, st, snap, CodeInternal)
		v = verdictAnswered
	}
	if err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		l.resume(lc, v, snap)
		return nil
	})); err != nil { // the loops have stopped: so has the connection
		st.status, st.code = 499, CodeClientClosed
		l.g.finishFast(ctx, st, st.start)
	}
}

// resume carries on, on the loop, with a request whose checks ran off it.
func (l *evLoop) resume(lc *loopClient, v verdict, snap *snapshot) {
	lc.away = false
	if lc.closed { // the client left meanwhile
		st := lc.st
		lc.st = nil
		st.status, st.code = 499, CodeClientClosed
		l.g.finishFast(&lc.ctx, st, st.start)
		return
	}
	if v == verdictForward {
		l.forward(lc, snap)
		return
	}
	l.answerLocal(lc)
	l.process(lc)
}

var crlfcrlf = []byte("\r\n\r\n")

// hasBareLF says whether b has a line feed without a carriage return before it.
func hasBareLF(b []byte) bool {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return true
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// readRequest reads the request at the front of buf, whose head is copied in st.raw, when the
// loop can take it: it returns the request's length, or false to hand the connection over.
// The loop reads heads with the gateway's own strict parser (inbound.parseHead) alone; what it
// refuses, or what a loop does not take (HTTP/1.0, CONNECT, a chunked body, Expect, an
// upgrade, a body not all here or over loopBodyMax), goes to fasthttp with its connection,
// where the same parser answers what it refuses (400).
func (l *evLoop) readRequest(lc *loopClient, st *reqState, buf []byte) (int, bool) {
	ctx := &lc.ctx
	if !l.g.parseLoopHead(ctx, st) {
		return 0, false
	}
	in := &st.in
	if in.http10 || in.method == fasthttp.MethodConnect || in.chunked || in.expect || len(in.upgrade) > 0 {
		return 0, false
	}
	n := len(st.raw)
	if cl := in.contentLength; cl > 0 {
		if cl > loopBodyMax || int64(len(buf)-n) < cl {
			return 0, false
		}
		ctx.Request.SetBody(buf[n : n+int(cl)])
		n += int(cl)
	}
	return n, true
}

// parseLoopHead parses the head in st.raw (request line, header lines, the empty line) into
// st; false when it is malformed.
func (g *Gateway) parseLoopHead(ctx *fasthttp.RequestCtx, st *reqState) bool {
	raw := st.raw
	lf := bytes.IndexByte(raw, '\n')
	if lf < 1 || raw[lf-1] != '\r' {
		return false
	}
	line := raw[:lf-1]
	sp1, sp2 := bytes.IndexByte(line, ' '), bytes.LastIndexByte(line, ' ')
	if sp1 < 0 || sp1 == sp2 {
		return false
	}
	st.head = raw[lf+1:]
	g.setPeer(st, peerOf(ctx))
	if st.in.parseHead(line[:sp1], line[sp1+1:sp2], line[sp2+1:], st.head, st.trusted) != nil {
		return false
	}
	for _, c := range st.in.connection {
		if hasToken(c, "close") {
			st.clientClose = true
		}
	}
	g.headParsed(st)
	return true
}

// hasToken says whether the comma-separated list v has token t (in any case).
func hasToken(v, t string) bool {
	for f := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(f), t) {
			return true
		}
	}
	return false
}

// handOver gives the connection, from the request at the front of its buffer on, to the
// fasthttp server.
func (l *evLoop) handOver(lc *loopClient) {
	if lc.hand != nil {
		return
	}
	l.g.metrics.shards[l.shard].handedOver.Add(1)
	hc := newHandConn(lc.c)
	lc.hand = hc
	delete(l.clients, lc)
	l.e.open.Add(-1)
	buf, _ := lc.c.Next(-1)
	hc.push(buf)
	l.e.hand.give(hc)
}

// answerLocal writes the gateway's own answer (left in ctx.Response by beginFast) and finishes
// the request.
func (l *evLoop) answerLocal(lc *loopClient) {
	ctx, st := &lc.ctx, lc.st
	resp := &ctx.Response
	if st.in.method == fasthttp.MethodHead {
		resp.SkipBody = true
	}
	closing := st.clientClose || resp.ConnectionClose() || l.e.draining.Load()
	l.wbuf.Reset()
	if st.problem {
		l.wbuf.Write(appendProblem(l.wbuf.AvailableBuffer(), st.code, st, l.dateLine(), resp.SkipBody, closing))
	} else {
		if closing {
			resp.SetConnectionClose()
		}
		l.bw.Reset(&l.wbuf)
		_ = resp.Write(l.bw)
		_ = l.bw.Flush()
	}
	// Logged before it is written (as the fasthttp engine does): a client that has its answer
	// finds the request in the log and the metrics.
	l.finish(lc)
	if l.write(lc, l.wbuf.Bytes()) && closing {
		l.close(lc)
	}
}

// write sends b to the client. gnet closes a connection whose write fails at once, calling
// OnClose (clientClosed, which finishes the request as 499) before Write returns: write says
// whether the connection is still there, and when it is not, the caller has nothing left to do.
func (l *evLoop) write(lc *loopClient, b []byte) bool {
	_, _ = lc.c.Write(b)
	return !lc.closed
}

// finish logs and counts the client's request in flight, which is over.
func (l *evLoop) finish(lc *loopClient) {
	st := lc.st
	lc.st = nil
	if cap(lc.x.out) > 64<<10 { // a large upload's copy is not kept by an idle connection
		lc.x.out, lc.x.carry = nil, nil
	}
	l.g.finishFast(&lc.ctx, st, st.start)
	lc.since = l.now // (the sweep's clock: an idle timeout needs no finer one)
}

// close closes the client's connection (after what was written to it).
func (l *evLoop) close(lc *loopClient) {
	lc.closed = true
	_ = lc.c.Close()
}

// clientClosed is the end of a client connection: a request still upstream is abandoned (499).
func (l *evLoop) clientClosed(lc *loopClient) {
	if lc.hand != nil {
		lc.hand.push(nil)
		lc.hand.end()
		return
	}
	lc.closed = true
	if _, ok := l.clients[lc]; ok {
		delete(l.clients, lc)
		l.e.open.Add(-1)
	}
	if lc.st == nil || lc.away { // (resume finishes a request that is away)
		return
	}
	x := &lc.x
	if x.state == xHead || x.state == xWaiting {
		l.g.metrics.upstream.clientClosed.Add(1)
	}
	l.abort(x)
	lc.st.status, lc.st.code = 499, CodeClientClosed
	st := lc.st
	lc.st = nil
	l.g.finishFast(&lc.ctx, st, st.start)
}

// sweep closes idle client connections past their timeout (all of them while draining) and
// answers 504 for exchanges past theirs; idle upstream connections go after 30 s.
func (l *evLoop) sweep(now time.Time) {
	l.now = now
	cfg := &l.g.cfg
	draining := l.e.draining.Load()
	for lc := range l.clients {
		if lc.st == nil {
			switch {
			case draining:
				lc.closed = true
				_ = lc.c.Close()
			case !lc.headSince.IsZero():
				start := lc.headSince
				if lc.fresh {
					start = lc.since
				}
				if now.Sub(start) > cfg.ReadHeaderTimeout {
					l.headTimedOut(lc)
				}
			default:
				limit := cfg.IdleTimeout
				if lc.fresh {
					limit = cfg.ReadHeaderTimeout
				}
				if now.Sub(lc.since) > limit {
					lc.closed = true
					_ = lc.c.Close()
				}
			}
			continue
		}
		if x := &lc.x; (x.state == xWaiting || x.state == xHead) && now.After(x.deadline) {
			l.abort(x)
			l.fail(lc, errUpstreamTimeout)
		}
	}
	for _, p := range l.pools {
		p.sweep(now)
	}
}

// headTimedOut answers a client whose head did not all come within the head timeout as the
// fasthttp server does (fastError): 408, and the connection closed. Like fasthttp's, the answer
// is not a request of the log.
func (l *evLoop) headTimedOut(lc *loopClient) {
	l.out = appendProblem(l.out[:0], CodeRequestTimeout, nil, l.dateLine(), false, true)
	if l.flush(lc) {
		l.close(lc)
	}
}

// loopConnAddr is the net.Conn a loop's RequestCtx sees: only its addresses are used (the
// loop does the socket work itself). They are copied when the connection opens: a request
// checked off the loop reads them while the loop may be closing (and gnet recycling) the
// connection.
type loopConnAddr struct{ local, remote net.Addr }

var errLoopConn = errors.New("gateway: a loop's connection is not read or written through its RequestCtx")

func (a loopConnAddr) Read([]byte) (int, error)         { return 0, errLoopConn }
func (a loopConnAddr) Write([]byte) (int, error)        { return 0, errLoopConn }
func (a loopConnAddr) Close() error                     { return nil }
func (a loopConnAddr) LocalAddr() net.Addr              { return a.local }
func (a loopConnAddr) RemoteAddr() net.Addr             { return a.remote }
func (a loopConnAddr) SetDeadline(time.Time) error      { return nil }
func (a loopConnAddr) SetReadDeadline(time.Time) error  { return nil }
func (a loopConnAddr) SetWriteDeadline(time.Time) error { return nil }

// loopCanForward says an event loop may take this request through to its upstream: the
// upstream is plain HTTP, the request needs none of the net/http paths (a WebSocket tunnel,
// validation), and an Authorization header
// that might hold an imported key can be told apart from memory (rewriteFast strips such a
// header).
func (g *Gateway) loopCanForward(st *reqState, rt *route) bool {
	if st.websocket || rt.validate != nil || rt.target.Scheme != "http" {
		return false
	}
	if in := &st.in; len(in.authorization) > 0 && !carriesKey(in.authorization) {
		st.authForeign = authForeignNo
		for _, v := range in.authorization {
			if t, ok := bearer(v); ok {
				res, hit := g.verifyCached(st, t, g.authNow(st))
				if !hit {
					return false
				}
				if res.Key != nil {
					st.authForeign = authForeignYes
				}
			}
		}
	}
	return true
}

// What loopCanForward found about an Authorization header (reqState.authForeign).
const (
	authForeignUnknown int8 = iota
	authForeignNo
	authForeignYes
)

// resolveForeignAuth finds out, where it may wait, whether the request's Authorization header
// carries an imported key, for foreignAuth to answer from memory.
func (g *Gateway) resolveForeignAuth(st *reqState) {
	if st.authForeign != authForeignUnknown || len(st.in.authorization) == 0 {
		return
	}
	st.authForeign = authForeignNo
	if g.carriesForeignKey(st.Context, st.in.authorization) {
		st.authForeign = authForeignYes
	}
}

// foreignAuth says the request's Authorization header carries an imported key (which the
// upstream must not see): from loopCanForward's look on a loop, or resolveForeignAuth's off
// it; from the store otherwise.
func (g *Gateway) foreignAuth(st *reqState) bool {
	if st.authForeign != authForeignUnknown {
		return st.authForeign == authForeignYes
	}
	return g.carriesForeignKey(st.Context, st.in.authorization)
}

// gnetLogger puts gnet's warnings and errors in the gateway's log (its chatter at debug).
type gnetLogger struct{ log *slog.Logger }

var _ logging.Logger = gnetLogger{}

func (l gnetLogger) Debugf(format string, args ...any) { l.printf(slog.LevelDebug, format, args) }
func (l gnetLogger) Infof(format string, args ...any)  { l.printf(slog.LevelDebug, format, args) }
func (l gnetLogger) Warnf(format string, args ...any)  { l.printf(slog.LevelWarn, format, args) }
func (l gnetLogger) Errorf(format string, args ...any) { l.printf(slog.LevelError, format, args) }
func (l gnetLogger) Fatalf(format string, args ...any) { l.printf(slog.LevelError, format, args) }

func (l gnetLogger) printf(level slog.Level, format string, args []any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, "gnet: "+fmt.Sprintf(format, args...))
	}
}
