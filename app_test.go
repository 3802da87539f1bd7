package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/problem"
)

// notOperations are App's exported methods that are not console operations. Wails binds every
// exported method, so lifecycle hooks and the asset handler (startup, shutdown, serveAsset)
// are unexported and not in the method set.
var notOperations = map[string]bool{
	// Desktop-only: the browser fetches /openapi/… from the console instead.
	"GenerateOpenAPI": true, "SaveOpenAPI": true,
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
	a := NewApp(t.TempDir())
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
	a := NewApp(t.TempDir())
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
	if err != nil || st.Running || !st.CanControl {
		t.Fatalf("gateway status: %+v, %v", st, err)
	}
}

func TestAppUnknownOrganization(t *testing.T) {
	a := NewApp(t.TempDir())
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
	a := NewApp(t.TempDir())
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
