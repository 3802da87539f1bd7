// Package harness is the one harness of the black-box suites under tests/ (security, crash,
// contract, and the soak driver): it builds the real keygate binary once per test process,
// runs its CLI, starts `keygate serve` on free loopback ports with its output captured to a
// file, and stops it. The suites drive the console with testutil.Client, the one console
// client of the tests (session cookie, same-origin Origin, X-CSRF-Token).
package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// ModuleRoot is the directory holding go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the keygate module")
	}
	return filepath.Dir(mod), nil
}

// Build compiles the keygate binary (headless build, whatever frontend/dist holds) once per
// process and returns its path. KEYGATE_TEST_BINARY, when set, is used instead.
func Build() (string, error) {
	if p := os.Getenv("KEYGATE_TEST_BINARY"); p != "" {
		return p, nil
	}
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, err = os.MkdirTemp("", "keygate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(buildDir, "keygate")
		cmd := exec.Command("go", "build", "-o", buildPath, ".")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	return buildPath, buildErr
}

// Cleanup removes the built binary; call it from TestMain after m.Run.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// CLIResult is one run of the CLI.
type CLIResult struct {
	Code           int
	Stdout, Stderr string
}

// CLI runs `keygate --data-dir dir ARGS` with stdin and returns its output. A process killed
// by ctx returns Code -1.
func CLI(ctx context.Context, bin, dir, stdin string, args ...string) (CLIResult, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"--data-dir", dir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "KEYGATE_LANG=en")
	err := cmd.Run()
	r := CLIResult{Stdout: out.String(), Stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	default:
		return r, err
	}
	return r, nil
}

// Server is a running `keygate serve`.
type Server struct {
	Bin, DataDir string
	GatewayURL   string
	ConsoleURL   string
	// LogPath is the file that collects the server's stdout and stderr (appended across
	// restarts of the same data dir when the same path is given).
	LogPath string
	mu      sync.Mutex
	lines   []string // stdout
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// Options configure Start.
type Options struct {
	// Args are extra serve flags (e.g. --demo, --failed-auth-limit 0).
	Args []string
	// LogPath collects the output; default DataDir/../serve.log.
	LogPath string
	// Env is added to the server's environment.
	Env []string
	// PortSettings leaves out --listen and --console-listen: the server listens where the
	// environment or the stored port settings say (`keygate gateway ports set`).
	PortSettings bool
}

// Start runs `keygate --data-dir dir serve` on a free console port and an ephemeral gateway
// port and waits until both listeners are announced.
func Start(bin, dir string, o Options) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(bin, dir, o)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func start(bin, dir string, o Options) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	logPath := o.LogPath
	if logPath == "" {
		logPath = filepath.Join(filepath.Dir(dir), "serve.log")
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	args := append([]string{"--data-dir", dir, "serve", "--listen", "127.0.0.1:0",
		"--console-listen", fmt.Sprintf("127.0.0.1:%d", port)}, o.Args...)
	if o.PortSettings {
		args = append([]string{"--data-dir", dir, "serve"}, o.Args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "KEYGATE_LANG=en"), o.Env...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &Server{Bin: bin, DataDir: dir, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			s.mu.Lock()
			s.lines = append(s.lines, line)
			switch {
			case strings.HasPrefix(line, "Keygate gateway:"):
				s.GatewayURL = strings.TrimSpace(strings.TrimPrefix(line, "Keygate gateway:"))
			case strings.HasPrefix(line, "Keygate console:"):
				s.ConsoleURL = strings.TrimSpace(strings.TrimPrefix(line, "Keygate console:"))
				close(ready)
			}
			s.mu.Unlock()
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	select {
	case <-ready:
		return s, s.waitHTTP()
	case <-s.done:
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("keygate serve exited (%v) before listening:\n%s", s.err, tail(string(b), 2000))
	case <-time.After(60 * time.Second):
		s.Kill()
		return nil, errors.New("keygate serve did not announce its listeners within 60s")
	}
}

// WaitForLine returns the first stdout line containing substr, waiting up to d for it.
func (s *Server) WaitForLine(substr string, d time.Duration) (string, bool) {
	deadline := time.Now().Add(d)
	for {
		s.mu.Lock()
		for _, l := range s.lines {
			if strings.Contains(l, substr) {
				s.mu.Unlock()
				return strings.TrimSpace(l), true
			}
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitHTTP waits until the console answers.
func (s *Server) waitHTTP() error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(s.ConsoleURL + "/api/v1/setup")
		if err == nil {
			res.Body.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("keygate serve exited: %v", s.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return errors.New("console did not answer within 30s")
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// Stop sends SIGTERM and waits (up to 30s, then kills) for a clean exit; it returns the
// process's exit error.
func (s *Server) Stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.err
	case <-time.After(30 * time.Second):
		s.Kill()
		return errors.New("keygate serve did not stop within 30s of SIGTERM")
	}
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// AddAdmin creates a console admin with the CLI (the server may be running or not).
func AddAdmin(ctx context.Context, bin, dir, email, password string) error {
	r, err := CLI(ctx, bin, dir, password+"\n", "users", "add", "--email", email, "--role", "admin", "--name", "Admin")
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("users add: exit %d: %s", r.Code, r.Stderr)
	}
	return nil
}
