package console_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/testutil"
)

// TestCommandLineOperations: ModeCLI operations run for the command line only. Over HTTP no
// path reaches them (even for an admin), the desktop's executor answers UNSUPPORTED, and the
// CLI's executor runs them, audited as "cli".
func TestCommandLineOperations(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "admin@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Login(t, "admin@example.com")
	for _, path := range []string{"/api/v1/users", "/api/v1/users/x", "/api/v1/users/x/password"} {
		for _, method := range []string{"GET", "POST", "PUT", "DELETE"} {
			if st := c.Call(method, path, nil, nil); st != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404", method, path, st)
			}
		}
	}
	ctx := context.Background()
	desktop := testutil.NewServerWith(t, testutil.ServerOptions{Desktop: true})
	l, _ := desktop.Console.Local()
	var pe *console.ProblemError
	if _, err := console.Do[console.UserList](ctx, l, "ListUsers", console.NoInput{}); !errors.As(err, &pe) || pe.Problem.Code != "UNSUPPORTED" {
		t.Fatalf("desktop ListUsers: %v", err)
	}

	cli := srv.Console.CLI("de")
	list, err := console.Do[console.UserList](ctx, cli, "ListUsers", console.NoInput{})
	if err != nil || len(list.Users) != 1 || list.Users[0].Roles[srv.Org.ID] != auth.RoleAdmin {
		t.Fatalf("ListUsers: %+v %v", list, err)
	}
	if _, err := console.Do[auth.User](ctx, cli, "SetUserPassword", console.UserPasswordInput{User: "admin@example.com", Password: "short"}); !errors.As(err, &pe) ||
		pe.Problem.Code != "VALIDATION" || len(pe.Problem.Fields) != 1 || pe.Problem.Fields[0].Field != "password" || pe.Problem.Fields[0].Detail == "" {
		t.Fatalf("a short password: %v", err)
	}
	if _, err := console.Do[auth.User](ctx, cli, "SetUserPassword", console.UserPasswordInput{User: "admin@example.com", Password: "a new long password"}); err != nil {
		t.Fatal(err)
	}
	if st := c.Call("GET", "/api/v1/me", nil, nil); st != http.StatusUnauthorized {
		t.Fatalf("the session outlived a password reset: %d", st)
	}
	if _, err := console.Do[auth.User](ctx, cli, "RemoveUser", console.UserInput{User: "admin@example.com"}); !errors.As(err, &pe) || pe.Problem.Code != "CONFLICT" {
		t.Fatalf("removing the last admin: %v", err)
	}
	k, err := console.Do[keys.Created](ctx, cli, "CreateKey", console.CreateKeyInput{Name: "by cli"})
	if err != nil {
		t.Fatal(err)
	}
	es, _ := srv.Audit.List(ctx, audit.Filter{Global: true})
	if len(es) == 0 || es[0].Actor != audit.ActorCLI || es[0].Target != k.ID {
		t.Fatalf("audit %+v", es)
	}
	if got, _ := srv.Keys.Get(ctx, "", k.ID); got.CreatedBy != audit.ActorCLI {
		t.Fatalf("created by %q", got.CreatedBy)
	}
}
