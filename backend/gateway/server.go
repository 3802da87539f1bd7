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
	srv       *http.Server
	addr      string
	startedAt time.Time
	stopRun   context.CancelFunc
	runDone   chan struct{}
	stopBase  context.CancelFunc
	served    chan struct{}
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
	if s.srv != nil {
		return ErrRunning
	}
	if err := s.gw.Reload(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("gateway listen on %s: %w", s.cfg.Listen, err)
	}
	var publicHost string
	if s.cfg.PublicURL != nil {
		publicHost = s.cfg.PublicURL.Host
	}
	s.gw.AnswerHosts(LoopbackHosts(ln.Addr().String(), publicHost))
	base, stopBase := context.WithCancel(context.Background())
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
	s.srv, s.addr, s.startedAt = srv, ln.Addr().String(), time.Now().UTC()
	s.stopRun, s.stopBase = stopRun, stopBase
	s.runDone, s.served = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.runDone)
		s.gw.Run(runCtx)
	}()
	go func(served chan struct{}) {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.gw.log.Error("gateway stopped serving", "err", err)
		}
	}(s.served)
	s.gw.log.Info("gateway listening", "addr", s.addr)
	return nil
}

// Stop stops accepting connections, waits for in-flight requests (up to the drain timeout or
// ctx, whichever ends first), closes WebSocket tunnels, persists the request log and flushes
// key usage when the key service can.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.DrainTimeout)
	defer cancel()
	err := s.srv.Shutdown(dctx)
	if err != nil {
		s.gw.log.Warn("gateway drain incomplete; closing remaining connections", "err", err)
		s.srv.Close()
	}
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
	s.srv = nil
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
	if s.srv == nil {
		return Status{Listen: s.cfg.Listen}
	}
	t := s.startedAt
	return Status{Running: true, URL: "http://" + s.addr, Listen: s.addr, StartedAt: &t}
}

// URL is the running server's base URL ("" when stopped).
func (s *Server) URL() string { return s.Status().URL }
