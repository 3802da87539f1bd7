// Command upstream is the benchmark's origin server. It answers every request with a short fixed
// body over keep-alive connections and counts the TCP connections it accepts, so that the harness
// can tell whether a proxy reuses its upstream connections or dials per request.
//
// It speaks just enough HTTP/1.1 for a benchmark (request line, headers, a Content-Length body,
// pipelining) so that as little CPU as possible goes to the origin: on a 2-core machine the
// origin, the proxy under test and wrk all share the same cores. With -stdlib it uses net/http
// instead, to check that the figures do not depend on the shortcut.
//
// It prints one line, "upstream listen=ADDR admin=ADDR", when ready. The admin listener answers
// GET /stats with {"conns":N,"open":N,"requests":N}; its own connections are not counted.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// stats are the counters served on the admin listener.
type stats struct {
	conns    atomic.Int64 // accepted TCP connections since start
	open     atomic.Int64 // connections open now
	requests atomic.Int64 // requests answered since start
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	admin := flag.String("admin", "127.0.0.1:0", "address of the stats listener")
	size := flag.Int("body-size", 13, "bytes in the response body")
	stdlib := flag.Bool("stdlib", false, "serve with net/http instead of the minimal HTTP/1.1 loop")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("upstream: ")

	body := bytes.Repeat([]byte("x"), *size)
	if *size >= 13 {
		copy(body, "hello, world\n")
	}
	var st stats

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	aln, err := net.Listen("tcp", *admin)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]int64{
				"conns": st.conns.Load(), "open": st.open.Load(), "requests": st.requests.Load(),
			})
		})
		log.Fatal(http.Serve(aln, mux))
	}()
	fmt.Printf("upstream listen=%s admin=%s\n", ln.Addr(), aln.Addr())

	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()

	if *stdlib {
		serveStdlib(ln, body, &st)
		return
	}
	response := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		st.conns.Add(1)
		st.open.Add(1)
		go func() {
			defer st.open.Add(-1)
			defer c.Close()
			serveConn(c, response, &st)
		}()
	}
}

func serveStdlib(ln net.Listener, body []byte, st *stats) {
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st.requests.Add(1)
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				st.conns.Add(1)
				st.open.Add(1)
			case http.StateClosed, http.StateHijacked:
				st.open.Add(-1)
			}
		},
	}
	log.Fatal(srv.Serve(ln))
}

var (
	errTooLarge    = errors.New("request header too large")
	errUnsupported = errors.New("unsupported request framing")
	errBadRequest  = errors.New("bad request")
)

// serveConn answers requests on one connection until the peer closes it, asks to close it or
// sends something the loop does not understand. Responses to pipelined requests are flushed
// together once no further request is buffered.
func serveConn(c net.Conn, response []byte, st *stats) {
	br := bufio.NewReaderSize(c, 8192)
	bw := bufio.NewWriterSize(c, 8192)
	for {
		closeAfter, err := readRequest(br)
		if err != nil {
			switch {
			case errors.Is(err, errTooLarge):
				_, _ = bw.WriteString("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			case errors.Is(err, errUnsupported):
				_, _ = bw.WriteString("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			case errors.Is(err, errBadRequest):
				_, _ = bw.WriteString("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			}
			_ = bw.Flush()
			return
		}
		st.requests.Add(1)
		if _, err := bw.Write(response); err != nil {
			return
		}
		if closeAfter {
			_ = bw.Flush()
			return
		}
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return
			}
		}
	}
}

// readRequest consumes one request (line, headers and a Content-Length body) and reports
// whether the connection must be closed after the answer.
func readRequest(br *bufio.Reader) (closeAfter bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return false, headerErr(err)
	}
	// Request line: METHOD SP TARGET SP HTTP/1.x
	sp := bytes.LastIndexByte(line, ' ')
	if sp < 0 {
		return false, errBadRequest
	}
	proto := string(bytes.TrimRight(line[sp+1:], "\r\n"))
	switch proto {
	case "HTTP/1.1":
	case "HTTP/1.0":
		closeAfter = true
	default:
		return false, errBadRequest
	}
	var length int64
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return false, headerErr(err)
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return false, errBadRequest
		}
		v := strings.TrimSpace(string(value))
		switch {
		case asciiEqualFold(name, "content-length"):
			length, err = strconv.ParseInt(v, 10, 64)
			if err != nil || length < 0 {
				return false, errBadRequest
			}
		case asciiEqualFold(name, "transfer-encoding"):
			return false, errUnsupported
		case asciiEqualFold(name, "connection"):
			switch strings.ToLower(v) {
			case "close":
				closeAfter = true
			case "keep-alive":
				closeAfter = false
			}
		}
	}
	if length > 0 {
		if _, err := io.CopyN(io.Discard, br, length); err != nil {
			return false, err
		}
	}
	return closeAfter, nil
}

func headerErr(err error) error {
	if errors.Is(err, bufio.ErrBufferFull) {
		return errTooLarge
	}
	return err
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
