// Command gnetcand is the event-loop engine candidate for Keygate's data plane (issue 11),
// measured by the benchmark beside nginx, the other candidates (scripts/bench/candidate) and
// Keygate. It uses github.com/panjf2000/gnet/v2: a few event loops, each owning both the
// client connections it accepted and the upstream connections it dialled, so a request is
// read, checked, forwarded and answered on one goroutine — no goroutine parked per connection,
// no read that fails with EAGAIN (a loop reads only sockets epoll reported readable), one
// epoll_wait for many ready sockets. It does the work of the other candidates: compare
// x-api-key with the benchmark key (401 with a problem+json body otherwise), strip it, set
// X-Keygate-Key-Id, X-Forwarded-For/-Proto/-Host and X-Request-Id, and forward over keep-alive
// upstream connections (each loop its own pool).
//
// A prototype for measuring, not a server: requests without a body, answers with a
// Content-Length, no timeouts, and a deliberately small HTTP/1.1 parser. It lives in a module
// of its own (it was measured before Keygate's data plane moved onto gnet, backend/gateway/loop.go)
// and stays as the floor that data plane is measured against.
//
// It prints "candidate listen=ADDR" when ready.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
)

const unauthorized = `{"type":"about:blank","title":"Unauthorized","status":401,"code":"MISSING_CREDENTIAL"}`

var answer401 = []byte("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: ApiKey header=\"x-api-key\"\r\n" +
	"Content-Type: application/problem+json\r\nContent-Length: " + strconv.Itoa(len(unauthorized)) + "\r\n\r\n" +
	unauthorized)

var seq atomic.Uint64

// loop is one event loop's state; only that loop's goroutine touches it.
type loop struct {
	el      gnet.EventLoop
	idle    []*upstream
	pending []*client // clients whose request waits for an upstream connection
	dialing int
}

type client struct {
	c       gnet.Conn
	l       *loop
	out     []byte // the request as it goes upstream
	waiting bool   // a request is upstream: read nothing more until it is answered
}

type upstream struct {
	c      gnet.Conn
	l      *loop
	client *client
}

type proxy struct {
	gnet.BuiltinEventEngine
	upAddr net.Addr
	upHost string
	key    []byte
	keyID  string
	loops  map[gnet.EventLoop]*loop // filled at OnOpen, on each loop's goroutine
	ready  chan struct{}
	mu     chan struct{} // guards loops (a one-slot semaphore)
}

func (p *proxy) OnBoot(gnet.Engine) gnet.Action {
	close(p.ready)
	return gnet.None
}

func (p *proxy) loopOf(c gnet.Conn) *loop {
	el := c.EventLoop()
	p.mu <- struct{}{}
	l := p.loops[el]
	if l == nil {
		l = &loop{el: el}
		p.loops[el] = l
	}
	<-p.mu
	return l
}

func (p *proxy) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if u, ok := c.Context().(*upstream); ok { // an upstream connection this loop dialled
		u.c = c
		u.l.dialing--
		u.l.free(u)
		return nil, gnet.None
	}
	c.SetContext(&client{c: c, l: p.loopOf(c)})
	return nil, gnet.None
}

func (p *proxy) OnClose(c gnet.Conn, _ error) gnet.Action {
	if u, ok := c.Context().(*upstream); ok {
		for i, x := range u.l.idle {
			if x == u {
				u.l.idle = append(u.l.idle[:i], u.l.idle[i+1:]...)
				break
			}
		}
		if u.client != nil {
			u.client.c.Close()
		}
	}
	return gnet.None
}

func (p *proxy) OnTraffic(c gnet.Conn) gnet.Action {
	switch x := c.Context().(type) {
	case *upstream:
		return p.answer(x)
	case *client:
		return p.request(x)
	}
	return gnet.Close
}

var headEnd = []byte("\r\n\r\n")

// request reads one request head from the client and forwards it (or answers 401).
func (p *proxy) request(cl *client) gnet.Action {
	if cl.waiting {
		return gnet.None
	}
	c := cl.c
	buf, _ := c.Peek(-1)
	end := bytes.Index(buf, headEnd)
	if end < 0 {
		if len(buf) > 16<<10 {
			return gnet.Close
		}
		return gnet.None
	}
	head := buf[:end+2] // through the last header line's CRLF
	nl := bytes.IndexByte(head, '\n')
	var key, host []byte
	out := append(cl.out[:0], head[:nl+1]...)
	for rest := head[nl+1:]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		line := rest[:i+1]
		rest = rest[i+1:]
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return gnet.Close
		}
		name, val := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("X-Api-Key")):
			key = val
		case bytes.EqualFold(name, []byte("Host")):
			host = val
		case bytes.EqualFold(name, []byte("Connection")):
		default:
			out = append(out, line...)
		}
	}
	if !bytes.Equal(key, p.key) {
		c.Discard(end + 4)
		c.Write(answer401)
		return gnet.None
	}
	out = append(append(out, "Host: "...), p.upHost...)
	out = append(append(out, "\r\nX-Keygate-Key-Id: "...), p.keyID...)
	out = append(out, "\r\nX-Forwarded-For: "...)
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		out = append(out, a.IP.String()...)
	}
	out = append(append(out, "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: "...), host...)
	out = strconv.AppendUint(append(out, "\r\nX-Request-Id: cand-"...), seq.Add(1), 36)
	out = append(out, "\r\n\r\n"...)
	cl.out = out
	c.Discard(end + 4)
	cl.waiting = true
	l := cl.l
	if n := len(l.idle); n > 0 {
		u := l.idle[n-1]
		l.idle = l.idle[:n-1]
		u.client = cl
		u.c.Write(cl.out)
		return gnet.None
	}
	l.pending = append(l.pending, cl)
	if l.dialing < len(l.pending) {
		l.dialing++
		ctx := gnet.NewContext(context.Background(), &upstream{l: l})
		ch, err := l.el.Register(ctx, p.upAddr)
		if err != nil {
			log.Fatalf("gnetcand: dial upstream: %v", err)
		}
		go func() {
			if res := <-ch; res.Err != nil {
				log.Fatalf("gnetcand: dial upstream: %v", res.Err)
			}
		}()
	}
	return gnet.None
}

// free hands a free upstream connection the oldest waiting request, or idles it.
func (l *loop) free(u *upstream) {
	if len(l.pending) > 0 {
		cl := l.pending[0]
		l.pending = l.pending[1:]
		u.client = cl
		u.c.Write(cl.out)
		return
	}
	l.idle = append(l.idle, u)
}

var contentLength = []byte("\ncontent-length:")

// answer relays one whole answer (a head with a Content-Length, then the body) to its client.
func (p *proxy) answer(u *upstream) gnet.Action {
	c := u.c
	buf, _ := c.Peek(-1)
	end := bytes.Index(buf, headEnd)
	if end < 0 {
		return gnet.None
	}
	n := -1
	for rest := buf[:end+2]; ; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 || i+len(contentLength) > len(rest) {
			break
		}
		rest = rest[i:]
		if bytes.EqualFold(rest[:len(contentLength)], contentLength) {
			v := rest[len(contentLength):]
			v = bytes.TrimSpace(v[:bytes.IndexByte(v, '\r')])
			var err error
			if n, err = strconv.Atoi(string(v)); err != nil {
				return gnet.Close
			}
			break
		}
		rest = rest[1:]
	}
	if n < 0 {
		return gnet.Close // answers without a length are beyond the prototype
	}
	total := end + 4 + n
	if len(buf) < total {
		return gnet.None
	}
	cl := u.client
	u.client = nil
	cl.c.Write(buf[:total])
	c.Discard(total)
	cl.waiting = false
	u.l.free(u)
	if cl.c.InboundBuffered() > 0 { // the client's next request came while this one was upstream
		p.request(cl)
	}
	return gnet.None
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	up := flag.String("upstream", "", "upstream HOST:PORT (or http://HOST:PORT)")
	key := flag.String("key", "", "the one valid x-api-key")
	keyID := flag.String("key-id", "key_bench", "its id, sent upstream as X-Keygate-Key-Id")
	engine := flag.String("engine", "gnet", "gnet (the only engine of this candidate)")
	loops := flag.Int("loops", runtime.NumCPU(), "event loops")
	flag.Parse()
	if *engine != "gnet" {
		log.Fatalf("gnetcand: -engine %q: this candidate is gnet only", *engine)
	}
	*up = strings.TrimPrefix(*up, "http://")
	if *up == "" || *key == "" {
		log.Fatal("gnetcand: -upstream and -key are required")
	}
	ua, err := net.ResolveTCPAddr("tcp", *up)
	if err != nil {
		log.Fatal(err)
	}
	// gnet listens itself: for port 0, take a free port first.
	addr := *listen
	if _, port, _ := net.SplitHostPort(addr); port == "0" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	p := &proxy{upAddr: ua, upHost: *up, key: []byte(*key), keyID: *keyID, loops: map[gnet.EventLoop]*loop{},
		ready: make(chan struct{}), mu: make(chan struct{}, 1)}
	go func() {
		<-p.ready
		fmt.Printf("candidate listen=%s\n", addr)
	}()
	log.Fatal(gnet.Run(p, "tcp://"+addr, gnet.WithMulticore(true), gnet.WithNumEventLoop(*loops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay), gnet.WithLogger(stderrLogger{})))
}

// stderrLogger keeps gnet's own lines off stdout, where the announcement goes, and prints only
// its warnings and errors.
type stderrLogger struct{}

var _ logging.Logger = stderrLogger{}

func (stderrLogger) Debugf(string, ...any)             {}
func (stderrLogger) Infof(string, ...any)              {}
func (stderrLogger) Warnf(format string, args ...any)  { log.Printf("gnet: "+format, args...) }
func (stderrLogger) Errorf(format string, args ...any) { log.Printf("gnet: "+format, args...) }
func (stderrLogger) Fatalf(format string, args ...any) { log.Fatalf("gnet: "+format, args...) }
