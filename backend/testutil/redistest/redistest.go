// Package redistest runs a throwaway Redis for tests: Debian's redis-server (installed by
// scripts/setup.sh) on a free loopback port with a temporary directory and no persistence, as
// the unprivileged redis user when the tests run as root, stopped when the test binary ends.
// A package that uses it calls Main from its TestMain.
//
// Without redis-server installed, Start skips the test, unless KEYGATE_TEST_REQUIRE_REDIS=1
// (set by `make test`), which makes it fail instead.
package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// EnvRequire makes a missing redis-server a test failure rather than a skip.
const EnvRequire = "KEYGATE_TEST_REQUIRE_REDIS"

// Server is a running redis-server.
type Server struct {
	Port int
	Dir  string

	cmd  *exec.Cmd
	done chan error
	cred *syscall.Credential
}

var (
	mu     sync.Mutex
	shared *Server
	failed error
	inMain bool
	seq    atomic.Int64
)

// Main runs the package's tests and stops the server if one was started.
func Main(m *testing.M) int {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		shared.Stop()
		shared = nil
	}
	return code
}

// ErrNotInstalled means redis-server was not found.
var ErrNotInstalled = errors.New("redis-server is not installed (scripts/setup.sh installs it)")

// Shared returns the package's server, started on first use.
func Shared(t testing.TB) *Server {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !inMain {
		t.Fatal("redistest: call redistest.Main from the package's TestMain (it stops the server)")
	}
	if shared == nil && failed == nil {
		shared, failed = Start()
	}
	if failed != nil {
		if errors.Is(failed, ErrNotInstalled) && os.Getenv(EnvRequire) != "1" {
			t.Skipf("redistest: %v (set %s=1 to fail instead)", failed, EnvRequire)
		}
		t.Fatalf("redistest: %v", failed)
	}
	return shared
}

// Prefix returns a key prefix of its own for each test, so tests sharing the server never meet.
func Prefix() string { return fmt.Sprintf("t%d-%d:", os.Getpid(), seq.Add(1)) }

// Start starts a new server on a free loopback port.
func Start() (*Server, error) {
	if redisServer() == "" {
		return nil, ErrNotInstalled
	}
	dir, err := os.MkdirTemp("", "keygate-redis-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir}
	if os.Geteuid() == 0 {
		name := "redis"
		if _, err := user.Lookup(name); err != nil {
			name = "nobody"
		}
		u, err := user.Lookup(name)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err == nil {
			if err = s.StartAgain(); err == nil {
				return s, nil
			}
		}
		if attempt == 3 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port) }

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// StartAgain (re)starts the server on its port.
func (s *Server) StartAgain() error {
	var out bytes.Buffer
	cmd := exec.Command(redisServer(), "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
		"--loglevel", "warning", "--pidfile", filepath.Join(s.Dir, "redis.pid"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.done = cmd, make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pong(s.Addr()) {
			return nil
		}
		select {
		case err := <-s.done:
			return fmt.Errorf("redis-server exited: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-s.done
			return errors.New("redis-server did not answer within 10 s")
		}
	}
}

func redisServer() string {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	return ""
}

func pong(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	b := make([]byte, 7)
	n, _ := c.Read(b)
	return bytes.HasPrefix(b[:n], []byte("+PONG"))
}

// Halt stops the server (kill -9: nothing is kept) until StartAgain.
func (s *Server) Halt() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Stop stops the server and deletes its directory.
func (s *Server) Stop() {
	s.Halt()
	os.RemoveAll(s.Dir)
}

// Ping reports whether the server answers.
func (s *Server) Ping(ctx context.Context) bool { return pong(s.Addr()) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
