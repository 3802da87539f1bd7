// Command candidate is a prototype of each HTTP engine considered for Keygate's data plane,
// measured by the benchmark beside nginx, Caddy and Keygate itself (issue 11: choose the engine
// by figures). Each does the work nginx's key server does and nothing more: compare x-api-key
// with the benchmark key (401 with a problem+json body otherwise), strip it, set
// X-Keygate-Key-Id, X-Forwarded-For/-Proto/-Host and X-Request-Id, and forward over a
// keep-alive pool to the upstream.
//
//	-engine fasthttp  github.com/valyala/fasthttp's Server and HostClient
//	-engine lean      net/http's Server with a hand-rolled keep-alive HTTP/1.1 upstream pool
//
// It prints "candidate listen=ADDR" when ready.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

const unauthorized = `{"type":"about:blank","title":"Unauthorized","status":401,"code":"MISSING_CREDENTIAL"}`

var seq atomic.Uint64

func requestID() string { return "cand-" + strconv.FormatUint(seq.Add(1), 36) }

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	upstream := flag.String("upstream", "", "upstream HOST:PORT")
	key := flag.String("key", "", "the one valid x-api-key")
	keyID := flag.String("key-id", "key_bench", "its id, sent upstream as X-Keygate-Key-Id")
	engine := flag.String("engine", "fasthttp", "fasthttp or lean")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("candidate: ")
	*upstream = strings.TrimPrefix(*upstream, "http://")
	if *upstream == "" || *key == "" {
		log.Fatal("-upstream and -key are required")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("candidate listen=%s engine=%s\n", ln.Addr(), *engine)
	switch *engine {
	case "fasthttp":
		log.Fatal(serveFast(ln, *upstream, *key, *keyID))
	case "lean":
		log.Fatal(serveLean(ln, *upstream, *key, *keyID))
	}
	log.Fatalf("-engine %q: want fasthttp or lean", *engine)
}

func serveFast(ln net.Listener, upstream, key, keyID string) error {
	hc := &fasthttp.HostClient{Addr: upstream, MaxConns: 1024, ReadTimeout: 30 * time.Second,
		MaxIdleConnDuration: 90 * time.Second, NoDefaultUserAgentHeader: true, DisablePathNormalizing: true}
	kb := []byte(key)
	srv := &fasthttp.Server{
		ReadBufferSize: 32 << 10, NoDefaultServerHeader: true, NoDefaultContentType: true,
		DisablePreParseMultipartForm: true, IdleTimeout: 120 * time.Second,
		Handler: func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Request.Header.Peek("X-Api-Key")) != string(kb) {
				ctx.Response.Header.Set("WWW-Authenticate", `ApiKey header="x-api-key"`)
				ctx.SetContentType("application/problem+json")
				ctx.SetStatusCode(401)
				ctx.SetBodyString(unauthorized)
				return
			}
			req := &ctx.Request
			h := &req.Header
			h.Del("X-Api-Key")
			h.Set("X-Keygate-Key-Id", keyID)
			h.Set("X-Forwarded-For", ctx.RemoteIP().String())
			h.Set("X-Forwarded-Proto", "http")
			h.SetBytesV("X-Forwarded-Host", h.Host())
			h.Set("X-Request-Id", requestID())
			h.SetHost(upstream)
			if err := hc.Do(req, &ctx.Response); err != nil {
				ctx.ResetBody()
				ctx.SetStatusCode(502)
			}
		},
	}
	return srv.Serve(ln)
}

// lean: net/http's server, and an upstream pool of persistent connections each used by one
// request at a time.
type pool struct {
	addr string
	mu   sync.Mutex
	idle []*upConn
}

type upConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func (p *pool) get() (*upConn, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return &upConn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}, nil
}

func (p *pool) put(c *upConn) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

var hopByHop = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "X-Api-Key": true}

func serveLean(ln net.Listener, upstream, key, keyID string) error {
	p := &pool{addr: upstream}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != key {
			w.Header().Set("WWW-Authenticate", `ApiKey header="x-api-key"`)
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(401)
			io.WriteString(w, unauthorized)
			return
		}
		if err := forwardLean(p, w, r, upstream, keyID); err != nil {
			w.WriteHeader(502)
		}
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	return srv.Serve(ln)
}

func forwardLean(p *pool, w http.ResponseWriter, r *http.Request, upstream, keyID string) error {
	c, err := p.get()
	if err != nil {
		return err
	}
	bw := c.bw
	bw.WriteString(r.Method + " " + r.URL.RequestURI() + " HTTP/1.1\r\nHost: " + upstream + "\r\n")
	for k, vs := range r.Header {
		if hopByHop[k] || strings.HasPrefix(k, "X-Forwarded-") {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k + ": " + v + "\r\n")
		}
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	bw.WriteString("X-Keygate-Key-Id: " + keyID + "\r\nX-Forwarded-For: " + host + "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: " +
		r.Host + "\r\nX-Request-Id: " + requestID() + "\r\n")
	if r.ContentLength > 0 {
		bw.WriteString("Content-Length: " + strconv.FormatInt(r.ContentLength, 10) + "\r\n\r\n")
		io.Copy(bw, r.Body)
	} else {
		bw.WriteString("\r\n")
	}
	if err := bw.Flush(); err != nil {
		c.c.Close()
		return err
	}
	tp := textproto.NewReader(c.br)
	line, err := tp.ReadLine()
	if err != nil {
		c.c.Close()
		return err
	}
	_, rest, _ := strings.Cut(line, " ")
	code, err := strconv.Atoi(rest[:min(3, len(rest))])
	if err != nil {
		c.c.Close()
		return err
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		c.c.Close()
		return err
	}
	n, err := strconv.ParseInt(mh.Get("Content-Length"), 10, 64)
	if err != nil {
		c.c.Close()
		return errors.New("lean: upstream answer without Content-Length")
	}
	out := w.Header()
	for k, vs := range mh {
		if !hopByHop[k] {
			out[k] = vs
		}
	}
	w.WriteHeader(code)
	if _, err := io.CopyN(w, c.br, n); err != nil {
		c.c.Close()
		return nil
	}
	p.put(c)
	return nil
}
