package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/cli"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/listen"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/settings"
)

// notOperations are App's exported methods that are not console operations. Wails binds every
// exported method, so lifecycle hooks and the asset handler (startup, shutdown, serveAsset)
// are unexported and not in the method set.
var notOperations = map[string]bool{
	// Desktop-only: the browser fetches /openapi/… from the console instead.
	"GenerateOpenAPI": true, "SaveOpenAPI": true, "FollowRequests": true, "UnfollowRequests": true, "SaveExport": true,
}

// TestAppBindsEveryOperation checks that the desktop App binds exactly the operation table:
// one method per operation, same name, taking the operation's input and returning its output
// and an error; and no other exported method.
func TestAppBindsEveryOperation(t *testing.T) {
	app := reflect.TypeFor[*App]()
	errType := reflect.TypeFor[error]()
	ops := map[string]console.Operation{}
	for _, o := range console.Operations() {
		if o.Mode != console.ModeCLI { // the command line's own
			ops[o.Name] = o
		}
	}
	var names []string
	for i := 0; i < app.NumMethod(); i++ {
		m := app.Method(i)
		names = append(names, m.Name)
		if notOperations[m.Name] {
			continue
		}
		o, ok := ops[m.Name]
		if !ok {
			t.Errorf("App.%s is bound but is no console operation", m.Name)
			continue
		}
		ft := m.Type // receiver first
		if ft.NumIn() != 2 || ft.In(1) != o.In {
			t.Errorf("App.%s takes %v, want one %v", m.Name, ft, o.In)
		}
		if ft.NumOut() != 2 || ft.Out(0) != o.Out || ft.Out(1) != errType {
			t.Errorf("App.%s returns %v, want (%v, error)", m.Name, ft, o.Out)
		}
	}
	sort.Strings(names)
	for name := range ops {
		if _, ok := app.MethodByName(name); !ok {
			t.Errorf("operation %s has no App method", name)
		}
	}
	if t.Failed() {
		t.Logf("App methods: %v", names)
	}
}

// TestAppBeforeStartup checks that a bound call made before (or after a failed) startup gets
// an error, not a panic.
func TestAppBeforeStartup(t *testing.T) {
	a := testApp(t, t.TempDir())
	if _, err := a.ListOrgs(console.NoInput{}); err == nil {
		t.Fatal("no error before startup")
	}
	var pe *console.ProblemError
	if _, err := a.GetMe(console.NoInput{}); errors.As(err, &pe) {
		t.Fatalf("unexpected problem %v", pe)
	}
}

// TestAppReportsWhyItCouldNotStart: a data directory that is a file makes every bound call
// fail with the cause, not hang or panic.
func TestAppReportsWhyItCouldNotStart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := NewApp(file)
	a.startup(t.Context())
	t.Cleanup(func() { a.shutdown(t.Context()) })
	_, err := a.ListKeys(console.ListKeysInput{})
	if err == nil || !strings.Contains(err.Error(), "could not start") || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("ListKeys after a failed start: %v", err)
	}
}

// TestAppRunsOperations drives the bound methods the way the window does: as the local user,
// admin of every organization, with problems as JSON error text.
func TestAppRunsOperations(t *testing.T) {
	a := testApp(t, t.TempDir())
	a.startup(t.Context())
	t.Cleanup(func() { a.shutdown(t.Context()) })
	me, err := a.GetMe(console.NoInput{})
	if err != nil || me.Mode != "desktop" || len(me.Orgs) != 1 || me.Orgs[0].Role != "admin" {
		t.Fatalf("GetMe: %+v, %v", me, err)
	}
	k, err := a.CreateKey(console.CreateKeyInput{Name: "desktop key", Expires: "30d"})
	if err != nil || k.Key == "" || k.OrgID != me.Orgs[0].ID {
		t.Fatalf("CreateKey: %+v, %v", k, err)
	}
	page, err := a.ListKeys(console.ListKeysInput{})
	if err != nil || len(page.Keys) != 1 || page.Keys[0].CreatedBy != "local" {
		t.Fatalf("ListKeys: %+v, %v", page, err)
	}
	_, err = a.CreateKey(console.CreateKeyInput{Name: "  "})
	var pe *console.ProblemError
	if !errors.As(err, &pe) || pe.Problem.Code != "VALIDATION" || pe.Problem.Fields[0].Field != "name" {
		t.Fatalf("blank name: %v", err)
	}
	var decoded problem.Problem
	if json.Unmarshal([]byte(err.Error()), &decoded) != nil || decoded.Code != "VALIDATION" {
		t.Fatalf("error text is not the problem as JSON: %q", err.Error())
	}
	if _, err := a.Login(console.LoginInput{Email: "a@example.com", Password: "whatever"}); !errors.As(err, &pe) || pe.Problem.Code != "UNSUPPORTED" {
		t.Fatalf("Login on the desktop: %v", err)
	}
	st, err := a.GetGatewayStatus(console.NoInput{})
	if err != nil || !st.Running || !st.CanControl {
		t.Fatalf("gateway status (it starts with the app): %+v, %v", st, err)
	}
}

func TestAppUnknownOrganization(t *testing.T) {
	a := testApp(t, t.TempDir())
	a.startup(t.Context())
	t.Cleanup(func() { a.shutdown(t.Context()) })
	_, err := a.CreateKey(console.CreateKeyInput{Org: "org_nope", Name: "k"})
	var pe *console.ProblemError
	if !errors.As(err, &pe) || pe.Problem.Code != "NOT_FOUND" {
		t.Fatalf("unknown organization: %v", err)
	}
}

// TestAppGeneratesOpenAPI: the docs screen of the window loads both documents through the
// bound method; a wrong api or format is refused.
func TestAppGeneratesOpenAPI(t *testing.T) {
	a := testApp(t, t.TempDir())
	a.startup(t.Context())
	t.Cleanup(func() { a.shutdown(t.Context()) })
	for _, api := range []string{"console", "gateway"} {
		text, err := a.GenerateOpenAPI(api, "json", "")
		var doc struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		if err != nil || json.Unmarshal([]byte(text), &doc) != nil || doc.OpenAPI != "3.0.3" {
			t.Fatalf("%s document: %v %.200s", api, err, text)
		}
		if api == "console" && doc.Paths["/api/v1/keys"] == nil {
			t.Errorf("console document lacks /api/v1/keys")
		}
	}
	if y, err := a.GenerateOpenAPI("console", "yaml", ""); err != nil || !strings.HasPrefix(y, "openapi: 3.0.3") && !strings.Contains(y, "\nopenapi: 3.0.3") {
		t.Errorf("yaml: %v %.100s", err, y)
	}
	if _, err := a.GenerateOpenAPI("billing", "json", ""); err == nil {
		t.Error("unknown api accepted")
	}
	if _, err := a.GenerateOpenAPI("console", "xml", ""); err == nil {
		t.Error("unknown format accepted")
	}
}

// testApp is an App whose gateway listens on a free loopback port.
func testApp(t *testing.T, dataDir string) *App {
	t.Helper()
	a := NewApp(dataDir)
	a.gatewayListen = freeAddr(t)
	return a
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestAppGatewayAutostart: the gateway starts with the app, unless the window's user stopped
// it last time; Start turns that back on; a taken port leaves it stopped without failing the
// app.
func TestAppGatewayAutostart(t *testing.T) {
	dir := t.TempDir()
	run := func(do func(a *App)) bool {
		t.Helper()
		a := testApp(t, dir)
		a.startup(t.Context())
		defer a.shutdown(t.Context())
		st, err := a.GetGatewayStatus(console.NoInput{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Running {
			if resp, err := http.Get(st.URL + "/nothing-here"); err != nil {
				t.Fatalf("the gateway says it runs at %s but does not answer: %v", st.URL, err)
			} else {
				resp.Body.Close()
			}
		}
		if do != nil {
			do(a)
		}
		return st.Running
	}
	if !run(func(a *App) {
		if _, err := a.StopGateway(console.NoInput{}); err != nil {
			t.Fatal(err)
		}
	}) {
		t.Fatal("the gateway did not start with a new app")
	}
	if run(func(a *App) {
		if _, err := a.StartGateway(console.NoInput{}); err != nil {
			t.Fatal(err)
		}
	}) {
		t.Fatal("the gateway started although its user had stopped it")
	}
	if !run(nil) {
		t.Fatal("the gateway did not start after its user started it again")
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	a := NewApp(dir)
	a.gatewayListen = busy.Addr().String()
	a.startup(t.Context())
	defer a.shutdown(t.Context())
	if st, err := a.GetGatewayStatus(console.NoInput{}); err != nil || st.Running {
		t.Fatalf("a taken port: %+v, %v", st, err)
	}
	if _, err := a.ListKeys(console.ListKeysInput{}); err != nil {
		t.Fatalf("the app does not work when its gateway could not start: %v", err)
	}
}

// TestWindowPlacement: the window's size and position survive a restart; a size the window
// cannot take (a minimised window reports 0×0) or a damaged value is never used.
func TestWindowPlacement(t *testing.T) {
	dir := t.TempDir()
	a := testApp(t, dir)
	a.startup(t.Context())
	if _, ok := a.windowPlacement(); ok {
		t.Fatal("a placement before any was saved")
	}
	a.saveWindowPlacement(placement{X: 40, Y: 60, Width: 1400, Height: 900})
	a.saveWindowPlacement(placement{X: 0, Y: 0, Width: 0, Height: 0}) // minimised: ignored
	a.shutdown(t.Context())

	b := testApp(t, dir)
	b.startup(t.Context())
	defer b.shutdown(t.Context())
	if p, ok := b.windowPlacement(); !ok || p != (placement{X: 40, Y: 60, Width: 1400, Height: 900}) {
		t.Fatalf("placement after a restart: %+v %v", p, ok)
	}
	for _, bad := range []string{"{", `{"X":0,"Y":0,"Width":500,"Height":300}`, `{"X":99999999,"Y":0,"Width":1400,"Height":900}`} {
		if err := settings.New(b.inst.Store).Set(t.Context(), map[string]string{settings.DesktopWindow: bad}); err != nil {
			t.Fatal(err)
		}
		if p, ok := b.windowPlacement(); ok {
			t.Errorf("%s gave %+v", bad, p)
		}
	}
}

// TestAppGatewayPort: the desktop's gateway listens on the port its Gateway screen keeps;
// changing it moves the running gateway at once and survives a restart; $KEYGATE_LISTEN
// overrides it; the desktop has no console listener to report.
func TestAppGatewayPort(t *testing.T) {
	dir := t.TempDir()
	first := listen.Port(freeAddr(t))
	open := func() *App {
		t.Helper()
		a := NewApp(dir)
		a.startup(t.Context())
		t.Cleanup(func() { a.shutdown(t.Context()) })
		return a
	}
	a := open()
	// The default port may be anyone's on a test machine: set a free one while stopped.
	if _, err := a.StopGateway(console.NoInput{}); err != nil {
		t.Fatal(err)
	}
	p, err := a.UpdatePorts(console.PortsInput{GatewayPort: first})
	if err != nil || p.Gateway.Port != first || p.Console.Listen != "" || p.Gateway.FixedBy != "" {
		t.Fatalf("set: %+v %v", p, err)
	}
	st, err := a.StartGateway(console.NoInput{})
	if err != nil || st.Listen != "127.0.0.1:"+strconv.Itoa(first) {
		t.Fatalf("start: %+v %v", st, err)
	}
	second := listen.Port(freeAddr(t))
	if _, err := a.UpdatePorts(console.PortsInput{GatewayPort: second}); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.GetGatewayStatus(console.NoInput{}); !st.Running || st.Listen != "127.0.0.1:"+strconv.Itoa(second) {
		t.Fatalf("after the move: %+v", st)
	}
	if _, err := http.Get("http://127.0.0.1:" + strconv.Itoa(first) + "/"); err == nil {
		t.Errorf("the old port %d still answers", first)
	}
	a.shutdown(t.Context())

	a = open()
	if st, _ := a.GetGatewayStatus(console.NoInput{}); !st.Running || st.Listen != "127.0.0.1:"+strconv.Itoa(second) {
		t.Fatalf("after a restart: %+v", st)
	}
	// The command line beside the running app: the gateway follows within a second or so.
	third := listen.Port(freeAddr(t))
	var out, errb strings.Builder
	if code := cli.Run(t.Context(), []string{"--data-dir", dir, "gateway", "ports", "set", "--gateway-port", strconv.Itoa(third)},
		strings.NewReader(""), &out, &errb, cli.Options{}); code != 0 {
		t.Fatalf("keygate gateway ports set: %d %s", code, errb.String())
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if st, _ := a.GetGatewayStatus(console.NoInput{}); st.Running && st.Listen == "127.0.0.1:"+strconv.Itoa(third) {
			break
		}
		if time.Now().After(deadline) {
			st, _ := a.GetGatewayStatus(console.NoInput{})
			t.Fatalf("the gateway did not follow the command line's port %d: %+v", third, st)
		}
	}
	if _, err := http.Get("http://127.0.0.1:" + strconv.Itoa(second) + "/"); err == nil {
		t.Errorf("the old port %d still answers", second)
	}
	a.shutdown(t.Context())

	env := freeAddr(t)
	t.Setenv(listen.EnvGateway, env)
	a = open()
	p, err = a.GetPorts(console.NoInput{})
	if err != nil || p.Gateway.FixedBy != listen.EnvGateway || p.Gateway.Listen != env || p.Gateway.Port != third {
		t.Fatalf("with %s: %+v %v", listen.EnvGateway, p, err)
	}
}
