package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrRunning means Start was called on a running server.
var ErrRunning = errors.New("gateway is already running")

// Status says whether the gateway listens, and where.
type Status struct {
	Running   bool       `json:"running"`
	URL       string     `json:"url"`
	Listen    string     `json:"listen"`
	StartedAt *time.Time `json:"startedAt"`
}

// Server runs a Gateway on a listener. The desktop app starts and stops it from the window;
// `keygate serve` starts it once. It can be started again after Stop.
type Server struct {
	gw  *Gateway
	cfg Config

	mu        sync.Mutex
	srv       *http.Server     // the net/http engine, when Config.Engine asks for it
	fast      *fasthttp.Server // the fasthttp engine (with the loops: for connections they hand over)
	loop      *loopRun         // the event-loop engine
	conns     *connSet
	running   bool
	addr      string
	startedAt time.Time
	stopRun   context.CancelFunc
	runDone   chan struct{}
	stopBase  context.CancelFunc
	served    chan struct{}
	ln        net.Listener
}

// NewServer makes a Gateway from cfg and a Server for it; nothing listens until Start.
func NewServer(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if _, err := CheckListen(cfg.Listen, cfg.AllowRemote); err != nil {
		return nil, err
	}
	g, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Server{gw: g, cfg: g.cfg}, nil
}

// Gateway is the handler the server runs (for its metrics and request log).
func (s *Server) Gateway() *Gateway { return s.gw }

// CheckListen refuses a non-loopback address unless allowRemote; for an allowed remote one it
// returns a warning to print.
func CheckListen(addr string, allowRemote bool) (warning string, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("listen address %q must be HOST:PORT, such as 127.0.0.1:8787", addr)
	}
	if host == "localhost" {
		return "", nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return "", nil
	}
	if !allowRemote {
		return "", fmt.Errorf("listen address %s is not a loopback address; pass --allow-remote to accept connections from other machines", addr)
	}
	return fmt.Sprintf("warning: listening on %s accepts connections from other machines; only valid API keys pass, but put TLS in front of it", addr), nil
}

// Start listens and serves in the background; it returns once the listener is bound (so a
// busy port is an error here, not later).
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return ErrRunning
	}
	if err := s.gw.Reload(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("gateway listen on %s: %w", s.cfg.Listen, err)
	}
	s.serveOn(ln)
	return nil
}

// Move makes the server listen on addr from now on. The new address is bound first, so a port
// that is taken is an error that changes nothing; a running server then stops on the old
// address (draining its requests) and serves on the new one without a gap in which neither
// answers for longer than the drain. A stopped server only remembers addr for its next Start.
func (s *Server) Move(ctx context.Context, addr string) error {
	if _, err := CheckListen(addr, s.cfg.AllowRemote); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway listen on %s: %w", addr, err)
	}
	if !s.running {
		s.cfg.Listen = addr
		return ln.Close()
	}
	if err := s.stopLocked(ctx); err != nil {
		s.gw.log.Warn("gateway move: the old listener did not drain cleanly", "err", err)
	}
	s.cfg.Listen = addr
	s.serveOn(ln)
	return nil
}

// serveOn starts serving on ln; s.mu is held and the server is stopped.
func (s *Server) serveOn(ln net.Listener) {
	var publicHost string
	if s.cfg.PublicURL != nil {
		publicHost = s.cfg.PublicURL.Host
	}
	s.gw.AnswerHosts(LoopbackHosts(ln.Addr().String(), publicHost))
	listen := "http://" + ln.Addr().String()
	s.gw.listenURL.Store(&listen)
	base, stopBase := context.WithCancel(context.Background())
	s.gw.base.Store(&base)
	var protos http.Protocols
	protos.SetHTTP1(true) // no h2c: an Upgrade to HTTP/2 is never honoured
	srv := &http.Server{
		Handler:           s.gw,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		// Go reads up to MaxHeaderBytes+4096 bytes of request head; subtract its slack so that
		// the effective limit (→ 431) is the configured one.
		MaxHeaderBytes: max(s.cfg.MaxHeaderBytes-4096, 1024),
		Protocols:      &protos,
		BaseContext:    func(net.Listener) context.Context { return base },
		ErrorLog:       slog.NewLogLogger(s.gw.log.Handler(), slog.LevelDebug),
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	s.running, s.addr, s.startedAt = true, ln.Addr().String(), time.Now().UTC()
	if s.cfg.Engine == EngineNetHTTP {
		s.srv = srv
	} else {
		s.fast, s.conns = s.gw.FastServer(), newConnSet()
		s.fast.ConnState = s.conns.track
	}
	if s.cfg.Engine == EngineLoop {
		r, err := s.gw.startLoop(ln, s.fast)
		if err != nil {
			s.gw.log.Warn("gateway event loops did not start; serving with fasthttp alone", "err", err)
		}
		s.loop = r
	}
	s.stopRun, s.stopBase, s.ln = stopRun, stopBase, ln
	s.runDone, s.served = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.runDone)
		s.gw.Run(runCtx)
	}()
	go func(served chan struct{}, fast *fasthttp.Server, loop *loopRun) {
		defer close(served)
		var err error
		switch {
		case loop != nil:
			<-loop.done
		case fast != nil:
			err = fast.Serve(ln)
		default:
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.gw.log.Error("gateway stopped serving", "err", err)
		}
	}(s.served, s.fast, s.loop)
	s.gw.log.Info("gateway listening", "addr", s.addr, "engine", s.engineName())
}

// Stop stops accepting connections, waits for in-flight requests (up to the drain timeout or
// ctx, whichever ends first), closes WebSocket tunnels, persists the request log and flushes
// key usage when the key service can.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked(ctx)
}

func (s *Server) stopLocked(ctx context.Context) error {
	if !s.running {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.DrainTimeout)
	defer cancel()
	var err error
	if s.loop != nil {
		err = s.loop.stop(dctx)
	} else if s.fast != nil {
		err = s.fast.ShutdownWithContext(dctx)
		if err != nil {
			s.gw.log.Warn("gateway drain incomplete; closing remaining connections", "err", err)
			s.conns.closeAll()
		}
	} else {
		err = s.srv.Shutdown(dctx)
		if err != nil {
			s.gw.log.Warn("gateway drain incomplete; closing remaining connections", "err", err)
			s.srv.Close()
		}
	}
	// A Stop that comes before the engine began serving finds no listener to close in it
	// (fasthttp's Shutdown knows only the listeners its Serve has taken up), and Serve would
	// then run on: closing the listener here ends it either way.
	_ = s.ln.Close()
	s.stopBase()
	<-s.served
	s.stopRun()
	<-s.runDone
	if f, ok := s.cfg.Keys.(interface{ FlushUsage(context.Context) error }); ok {
		fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if ferr := f.FlushUsage(fctx); ferr != nil {
			err = errors.Join(err, ferr)
		}
		fcancel()
	}
	s.gw.transport.CloseIdleConnections()
	s.gw.upstreams.closeIdle()
	s.srv, s.fast, s.loop, s.running = nil, nil, nil, false
	s.gw.log.Info("gateway stopped", "addr", s.addr)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("gateway stop: in-flight requests did not finish in time: %w", err)
	}
	return err
}

// Status reports whether the server is running and its URL.
func (s *Server) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return Status{Listen: s.cfg.Listen}
	}
	t := s.startedAt
	return Status{Running: true, URL: "http://" + s.addr, Listen: s.addr, StartedAt: &t}
}

// URL is the running server's base URL ("" when stopped).
func (s *Server) URL() string { return s.Status().URL }

func (s *Server) engineName() string {
	if s.loop != nil {
		return EngineLoop
	}
	if s.fast != nil {
		return EngineFastHTTP
	}
	return EngineNetHTTP
}

// FastServer returns a fasthttp server for the gateway, configured from its limits; Server
// runs one, tests may run one on a listener of their own.
func (g *Gateway) FastServer() *fasthttp.Server {
	c := &g.cfg
	return &fasthttp.Server{
		Handler: g.serveFast,
		// The whole request head must fit the read buffer: a larger one is answered 431.
		ReadBufferSize:  c.MaxHeaderBytes,
		WriteBufferSize: 16 << 10,
		ReadTimeout:     c.ReadHeaderTimeout,
		// After the head, a body may take as long as it takes (as with net/http's
		// ReadHeaderTimeout alone); the upstream's own limits apply. A request without a body
		// reads nothing more (the next request's wait sets its own deadline), so it keeps the
		// head's deadline and saves a deadline update — unless it asks for an upgrade, whose
		// tunnel reads the connection before fasthttp clears its deadline.
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			if n := h.ContentLength(); (n == 0 || n == -2) && len(h.Peek(fasthttp.HeaderUpgrade)) == 0 {
				return fasthttp.RequestConfig{}
			}
			return fasthttp.RequestConfig{ReadTimeout: 24 * time.Hour}
		},
		IdleTimeout:                  c.IdleTimeout,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		Logger:                       fastLogger{g.log, g.mask},
		SecureErrorLogMessage:        true, // never the request's contents (keys) in a log line
		ErrorHandler:                 fastError,
	}
}

// fastError answers a request fasthttp could not read: 431 for a head over the limit, 408 for a
// client too slow to send its head, 400 for anything else; the connection is closed.
func fastError(ctx *fasthttp.RequestCtx, err error) {
	ctx.SetConnectionClose()
	var se *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &se):
		writeProblemFast(&ctx.Response, CodeHeadersTooLarge)
	case isTimeout(err):
		writeProblemFast(&ctx.Response, CodeRequestTimeout)
	default:
		writeProblemFast(&ctx.Response, CodeMalformedRequest)
	}
}

// connSet tracks the fasthttp engine's open connections, so that Stop can close the ones still
// busy when the drain timeout runs out.
type connSet struct {
	mu sync.Mutex
	m  map[net.Conn]struct{}
}

func newConnSet() *connSet { return &connSet{m: map[net.Conn]struct{}{}} }

func (c *connSet) track(conn net.Conn, state fasthttp.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case fasthttp.StateNew:
		c.m[conn] = struct{}{}
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		delete(c.m, conn)
	}
}

func (c *connSet) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.m {
		conn.Close()
	}
}

// fastLogger takes fasthttp's messages at debug level without the request line fasthttp puts
// in front of them (its target may carry a key in the query string) and with anything shaped
// like a credential masked (logMask).
type fastLogger struct {
	log  *slog.Logger
	mask logMask
}

func (l fastLogger) Printf(format string, args ...any) {
	if !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	if format == "%.3f %s - %s" && len(args) == 3 {
		format, args = "%s", args[2:]
	}
	l.log.Debug("fasthttp: " + l.mask.text(context.Background(), fmt.Sprintf(format, args...)))
}
