package crash_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/tests/harness"
)

// fullDisk makes writes to the data dir fail and then succeed again.
type fullDisk interface {
	// fill makes writes fail: the file system is full (or the write is refused).
	fill(t *testing.T, srv *harness.Server)
	// free gives the space back.
	free(t *testing.T, srv *harness.Server)
	// wantCLI is what the CLI's error says.
	wantCLI() string
	// wantCode is the console's problem code ("" when the failure is not a full disk as
	// SQLite sees it).
	wantCode() string
}

// tmpfsDisk is a small tmpfs mounted for the test (needs root, as CI has) and a filler file.
type tmpfsDisk struct{ mnt string }

func mountTmpfs(t *testing.T) (*tmpfsDisk, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("not root")
	}
	mnt := filepath.Join(t.TempDir(), "mnt")
	os.Mkdir(mnt, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	return &tmpfsDisk{mnt: mnt}, nil
}

func (d *tmpfsDisk) fill(t *testing.T, _ *harness.Server) {
	f, err := os.Create(filepath.Join(d.mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	// Page-sized leftovers too.
	small := make([]byte, 512)
	for {
		if _, err := f.Write(small); err != nil {
			break
		}
	}
}

func (d *tmpfsDisk) free(t *testing.T, _ *harness.Server) {
	if err := os.Remove(filepath.Join(d.mnt, "filler")); err != nil {
		t.Fatal(err)
	}
}

func (d *tmpfsDisk) wantCLI() string  { return "database is full, so nothing was changed" }
func (d *tmpfsDisk) wantCode() string { return "STORAGE_FULL" }

// rlimitDisk injects write errors where mounting is not allowed: RLIMIT_FSIZE of 1 byte on the
// server (set from outside with prlimit) and on each CLI process makes every write past the
// first byte of a file fail with EFBIG.
type rlimitDisk struct{}

func (rlimitDisk) fill(t *testing.T, srv *harness.Server) {
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(srv.Pid()), "--fsize=1:").CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v %s", err, out)
	}
}

func (rlimitDisk) free(t *testing.T, srv *harness.Server) {
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(srv.Pid()), "--fsize=unlimited:").CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v %s", err, out)
	}
}

func (rlimitDisk) wantCLI() string  { return "" }
func (rlimitDisk) wantCode() string { return "" }

// TestFullDisk: with the disk full, writes fail with a clear error, reads (and so the gateway)
// keep working, nothing acknowledged is lost, and writes work again as soon as space returns,
// without a restart.
func TestFullDisk(t *testing.T) {
	var disk fullDisk
	var dir string
	mode := os.Getenv("KEYGATE_DISKFULL") // "rlimit" forces the fallback
	if mode != "rlimit" {
		if d, err := mountTmpfs(t); err == nil {
			disk, dir = d, filepath.Join(d.mnt, "data")
			t.Logf("full disk: an 8 MiB tmpfs")
		} else {
			t.Logf("cannot mount a tmpfs (%v): injecting write errors with RLIMIT_FSIZE instead", err)
		}
	}
	if disk == nil {
		if _, err := exec.LookPath("prlimit"); err != nil {
			t.Skip("neither a tmpfs mount nor prlimit is available")
		}
		disk, dir = rlimitDisk{}, filepath.Join(t.TempDir(), "data")
	}
	bin := prepare(t, dir)
	ctx := context.Background()
	srv, err := harness.Start(bin, dir, harness.Options{LogPath: filepath.Join(t.TempDir(), "serve.log")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		select {
		case <-srv.Done():
		default:
			srv.Kill()
		}
	}()
	con := testutil.NewClient(nil, srv.ConsoleURL)
	if err := con.SignIn(ctx, adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	led := newLedger()
	for i := 0; i < 5; i++ {
		k, err := con.CreateKey(ctx, fmt.Sprintf("before-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		led.created(k.ID, k.Key, "console", 0)
	}

	disk.fill(t, srv)

	// Keep writing until writes fail: SQLite may first fill WAL space it already has.
	var consoleErr *testutil.APIError
	for i := 0; i < 5000 && consoleErr == nil; i++ {
		k, err := con.CreateKey(ctx, fmt.Sprintf("full-%d", i))
		switch {
		case err == nil:
			led.created(k.ID, k.Key, "console", 0) // acknowledged: must survive
		case errors.As(err, &consoleErr):
		default:
			t.Fatalf("console create on a full disk: %v", err)
		}
	}
	if consoleErr == nil {
		t.Fatal("5000 key creations succeeded on a full disk")
	}
	t.Logf("console on a full disk: HTTP %d %s %q", consoleErr.Status, consoleErr.Problem.Code, consoleErr.Problem.Detail)
	if consoleErr.Status < 500 || consoleErr.Problem.Code == "" || consoleErr.Problem.Detail == "" {
		t.Errorf("console answered a failed write with %d %+v, want a 5xx problem", consoleErr.Status, consoleErr.Problem)
	}
	if want := disk.wantCode(); want != "" && (consoleErr.Problem.Code != want || consoleErr.Status != http.StatusInsufficientStorage) {
		t.Errorf("console answered a full disk with %d %s, want 507 %s", consoleErr.Status, consoleErr.Problem.Code, want)
	}

	cli := []string{"keys", "create", "--name", "cli-on-full-disk", "--json"}
	var cliRes harness.CLIResult
	if _, ok := disk.(rlimitDisk); ok {
		cliRes, err = cliWithFsizeLimit(ctx, bin, dir, cli...)
	} else {
		cliRes, err = harness.CLI(ctx, bin, dir, "", cli...)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CLI on a full disk: exit %d: %s", cliRes.Code, strings.TrimSpace(cliRes.Stderr))
	if cliRes.Code == 0 {
		var k testutil.CreatedKey
		json.Unmarshal([]byte(cliRes.Stdout), &k)
		led.created(k.ID, k.Key, "cli", 0)
		t.Errorf("the CLI created a key on a full disk")
	} else if strings.Count(strings.TrimSpace(cliRes.Stderr), "\n") != 0 || !strings.Contains(cliRes.Stderr, disk.wantCLI()) {
		t.Errorf("CLI error on a full disk is not one clear sentence: %q", cliRes.Stderr)
	}

	// Reads keep working: every acknowledged key still passes the gateway.
	client := &http.Client{Timeout: 10 * time.Second}
	for id, secret := range led.keys {
		req, _ := http.NewRequest(http.MethodGet, srv.GatewayURL+"/x", nil)
		req.Header.Set("x-api-key", secret)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("key %s through the gateway on a full disk: %d", id, res.StatusCode)
		}
	}
	var list struct {
		Keys []keys.Key `json:"keys"`
	}
	if err := con.Send(ctx, http.MethodGet, "/api/v1/keys?limit=500", nil, &list); err != nil {
		t.Errorf("list keys on a full disk: %v", err)
	}

	disk.free(t, srv)

	// Writes work again at once, without a restart.
	deadline := time.Now().Add(10 * time.Second)
	for {
		k, err := con.CreateKey(ctx, "after")
		if err == nil {
			led.created(k.ID, k.Key, "console", 0)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still fail 10s after space returned: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r, err := harness.CLI(ctx, bin, dir, "", "keys", "create", "--name", "cli-after", "--json"); err != nil || r.Code != 0 {
		t.Fatalf("CLI after space returned: %v %s", err, r.Stderr)
	} else {
		var k testutil.CreatedKey
		json.Unmarshal([]byte(r.Stdout), &k)
		led.created(k.ID, k.Key, "cli", 0)
	}

	// And a crash now loses nothing either.
	srv.Kill()
	checkDatabase(t, dir, led, 0)
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	st.Read.QueryRow(`SELECT count(*) FROM keys`).Scan(&n)
	t.Logf("%d keys acknowledged, %d in the database", len(led.keys), n)
	if n < len(led.keys) {
		t.Errorf("database holds %d keys, %d were acknowledged", n, len(led.keys))
	}
}

// cliWithFsizeLimit runs the CLI with RLIMIT_FSIZE of 1 byte.
func cliWithFsizeLimit(ctx context.Context, bin, dir string, args ...string) (harness.CLIResult, error) {
	full := append([]string{"--fsize=1:", bin, "--data-dir", dir}, args...)
	cmd := exec.CommandContext(ctx, "prlimit", full...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := harness.CLIResult{Stdout: out.String(), Stderr: errb.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.Code = exit.ExitCode()
		err = nil
	}
	return r, err
}
