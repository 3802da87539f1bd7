package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/testutil"
)

// TestFailedLoginAuditKeepsNoTypedSecret: the e-mail field of a sign-in is where a password
// typed into the wrong box or a pasted key ends up; a failed sign-in's audit entry names the
// account only when one has the address typed, and never keeps the text otherwise — nor does
// the entry of a refusal by the login limit.
func TestFailedLoginAuditKeepsNoTypedSecret(t *testing.T) {
	srv := testutil.NewServer(t)
	srv.AddUser(t, "a@example.com", auth.RoleAdmin, srv.Org.ID)
	c := srv.Client(t)
	typed := []string{"Hunter2-my-actual-password", "kg_0123456789abcdefghijABCDEFGHIJklmnop123456", "p@ssw0rd.example"}
	for _, s := range typed {
		c.Problem("POST", "/api/v1/session", map[string]string{"email": s, "password": "whatever it is"})
	}
	for range 6 { // five failures, then the limit's first refusal
		c.Problem("POST", "/api/v1/session", map[string]string{"email": "A@example.com", "password": "wrong password!"})
	}
	es, err := srv.Audit.List(context.Background(), audit.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	unknown, named, limited := 0, 0, 0
	for _, e := range es {
		if e.Action != audit.LoginFail {
			continue
		}
		for _, s := range typed {
			if strings.Contains(e.Target, s) || strings.Contains(e.Detail, s) {
				t.Errorf("login.fail entry keeps what was typed: %+v", e)
			}
		}
		switch e.Target {
		case "a@example.com":
			named++
			if strings.Contains(e.Detail, "rate limited") {
				limited++
			}
		case "(no account with this address)":
			unknown++
		default:
			t.Errorf("login.fail target %q", e.Target)
		}
	}
	if unknown != len(typed) || named != 6 || limited != 1 {
		t.Fatalf("%d unknown, %d named (%d rate limited); want %d, 6 (1)", unknown, named, limited, len(typed))
	}
}
