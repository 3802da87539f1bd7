// Package pgtest runs a throwaway PostgreSQL server for tests: Debian's postgresql package
// (installed by scripts/setup.sh), a fresh cluster in a temporary directory, listening on a free
// loopback port, run as an unprivileged user (PostgreSQL refuses root), stopped and deleted when
// the test binary ends. A package that uses it calls Main from its TestMain; each test gets its
// own database from URL.
//
// Without PostgreSQL installed, URL skips the test, unless KEYGATE_TEST_REQUIRE_POSTGRES=1 (set
// by `make test`), which makes it fail instead.
package pgtest

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
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvRequire makes a missing PostgreSQL a test failure rather than a skip.
const EnvRequire = "KEYGATE_TEST_REQUIRE_POSTGRES"

// EnvBinDir overrides where initdb and postgres are looked for.
const EnvBinDir = "KEYGATE_TEST_PG_BIN"

// Server is a running PostgreSQL cluster.
type Server struct {
	// Port is its loopback TCP port.
	Port int
	// Dir holds the cluster (data, socket, log).
	Dir string

	cmd  *exec.Cmd
	done chan error
	bin  string
	cred *syscall.Credential
}

var (
	mu      sync.Mutex
	shared  *Server
	failure error
	inMain  bool
	dbSeq   atomic.Int64
)

// Main runs the package's tests and stops the server if one was started. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		shared = nil
	}
	return code
}

// URL returns the URL of a new, empty database on the package's server (started on first use).
func URL(t testing.TB) string {
	t.Helper()
	s := shared1(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := s.CreateDatabase(context.Background(), name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s.DatabaseURL(name)
}

// Shared returns the package's server (started on first use), for tests that stop and start it.
func Shared(t testing.TB) *Server {
	t.Helper()
	return shared1(t)
}

func shared1(t testing.TB) *Server {
	mu.Lock()
	defer mu.Unlock()
	if !inMain {
		t.Fatal("pgtest: call pgtest.Main from the package's TestMain (it stops the server)")
	}
	if shared == nil && failure == nil {
		shared, failure = Start()
	}
	if failure != nil {
		if errors.Is(failure, ErrNotInstalled) && os.Getenv(EnvRequire) != "1" {
			t.Skipf("pgtest: %v (set %s=1 to fail instead)", failure, EnvRequire)
		}
		t.Fatalf("pgtest: %v", failure)
	}
	return shared
}

// ErrNotInstalled means no PostgreSQL server binaries were found.
var ErrNotInstalled = errors.New("PostgreSQL is not installed (scripts/setup.sh installs it)")

// BinDir finds the directory holding initdb and postgres: $KEYGATE_TEST_PG_BIN, else the
// newest /usr/lib/postgresql/*/bin.
func BinDir() (string, error) {
	if d := os.Getenv(EnvBinDir); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start makes a new cluster in a temporary directory and starts it on a free loopback port.
func Start() (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	reapOrphans()
	dir, err := os.MkdirTemp("", "keygate-pg-")
	if err != nil {
		return nil, err
	}
	// owner.pid lets a later run stop this server if this process dies without stopping it.
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user the package creates.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs the postgres user to run PostgreSQL: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := s.run(filepath.Join(bin, "initdb"), "-D", s.dataDir(), "-U", "keygate", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, err
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

func (s *Server) dataDir() string { return filepath.Join(s.Dir, "data") }

func (s *Server) run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Dir = s.Dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", filepath.Base(name), err, out.String())
	}
	return nil
}

// StartAgain starts the server (after Stop with keepData, or a Kill) on the same port and data.
func (s *Server) StartAgain() error {
	logPath := filepath.Join(s.Dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		return err
	}
	defer logf.Close()
	if s.cred != nil {
		os.Chown(logPath, int(s.cred.Uid), int(s.cred.Gid))
	}
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.dataDir(),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(s.Port),
		"-c", "unix_socket_directories="+s.Dir, "-c", "max_connections=300",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB", "-c", "log_min_messages=warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.done = make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, s.DatabaseURL("postgres"))
		if err == nil {
			c.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case werr := <-s.done:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres exited: %v\n%s", werr, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			<-s.done
			return fmt.Errorf("postgres did not accept connections within 30 s: %v", err)
		}
	}
}

// Halt stops the server quickly (fast shutdown: sessions are disconnected) and keeps its data,
// for tests of what happens while the database is down. StartAgain brings it back.
func (s *Server) Halt() error {
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	return nil
}

// Stop stops the server and deletes its directory.
func (s *Server) Stop() error {
	err := s.Halt()
	return errors.Join(err, os.RemoveAll(s.Dir))
}

// DatabaseURL is the URL of database name on this server.
func (s *Server) DatabaseURL(name string) string {
	return fmt.Sprintf("postgres://keygate@127.0.0.1:%d/%s?sslmode=disable", s.Port, name)
}

// CreateDatabase creates an empty database.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	c, err := pgx.Connect(ctx, s.DatabaseURL("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// reapOrphans stops the servers of test processes that died without stopping them (a killed
// `go test`, a timeout) and deletes their directories.
func reapOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "keygate-pg-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue // being set up, or not ours
		}
		owner, err := strconv.Atoi(string(b))
		if err != nil || owner <= 0 || syscall.Kill(owner, 0) == nil || !errors.Is(syscall.Kill(owner, 0), syscall.ESRCH) {
			continue // the owner lives
		}
		if pm, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			pid, err := strconv.Atoi(strings.SplitN(string(pm), "\n", 2)[0])
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if err == nil && pid > 0 && bytes.Contains(cmdline, []byte(dir)) { // still that server
				syscall.Kill(pid, syscall.SIGQUIT) // immediate shutdown
			}
		}
		os.RemoveAll(dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
