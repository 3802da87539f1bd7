package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/testutil"
)

// TestOneAccountPerAddressInAnyCase: an address in two Unicode cases (or ß and ss, or full
// width) is one account on both engines (KEYGATE_TEST_STORE=postgres runs this on
// PostgreSQL): the second account is refused with ErrEmailTaken, sign-in, lookup and
// invitations work with any spelling, the address is shown as it was first typed, and ASCII
// addresses behave as before.
func TestOneAccountPerAddressInAnyCase(t *testing.T) {
	s, org := newService(t)
	ctx := context.Background()
	for _, c := range []struct{ first, again string }{
		{"Ünal@example.com", "ünal@EXAMPLE.com"},
		{"straße@example.de", "STRASSE@example.de"},
		{"Ada@Example.com", "ada@example.COM"},
		{"kim@example.com", "ＫＩＭ@example.com"},
	} {
		u, err := s.CreateUser(ctx, auth.NewUser{Email: c.first, Password: testutil.Password, OrgID: org, Role: auth.RoleMember})
		if err != nil {
			t.Fatalf("create %s: %v", c.first, err)
		}
		if u.Email != c.first {
			t.Errorf("created %q, shown as %q", c.first, u.Email)
		}
		if _, err := s.CreateUser(ctx, auth.NewUser{Email: c.again, Password: testutil.Password}); !errors.Is(err, auth.ErrEmailTaken) {
			t.Errorf("second account %s beside %s: %v, want ErrEmailTaken", c.again, c.first, err)
		}
		for _, typed := range []string{c.first, c.again} {
			got, err := s.UserByEmail(ctx, typed)
			if err != nil || got.ID != u.ID || got.Email != c.first {
				t.Errorf("UserByEmail(%q) = %+v, %v; want %s shown as %q", typed, got, err, u.ID, c.first)
			}
			if _, _, who, err := s.Login(ctx, typed, testutil.Password, "10.0.0.1", ""); err != nil || who.ID != u.ID {
				t.Errorf("sign in as %q: %+v, %v", typed, who, err)
			}
		}
	}
	// Different letters stay different accounts.
	for _, other := range []string{"unal@example.com", "ada@example.org"} {
		if _, err := s.CreateUser(ctx, auth.NewUser{Email: other, Password: testutil.Password}); err != nil {
			t.Errorf("create %s: %v", other, err)
		}
	}
	accounts, err := s.Accounts(ctx)
	if err != nil || len(accounts) != 6 {
		t.Fatalf("accounts: %d, %v; want 6", len(accounts), err)
	}
}

// TestInvitationInAnyCase: an invitation to one spelling of an address reaches the account
// with another, and a second invitation to any spelling renews the first.
func TestInvitationInAnyCase(t *testing.T) {
	st := testutil.NewStore(t)
	def := testutil.DefaultOrg(t, st)
	s, err := auth.New(st, auth.WithPasswordParams(testutil.CheapPasswords))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b, err := orgs.New(st, nil).Create(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, auth.NewUser{Email: "ünal@example.com", Password: testutil.Password, OrgID: def.ID, Role: auth.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invite(ctx, b.ID, "ÜNAL@example.com", auth.RoleMember, "x"); err != nil {
		t.Fatal(err)
	}
	inv, err := s.Invite(ctx, b.ID, "Ünal@Example.com", auth.RoleDeveloper, "x")
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.Invitations(ctx, u.ID)
	if err != nil || len(list) != 1 || list[0].ID != inv.ID || list[0].Role != auth.RoleDeveloper || list[0].Email != u.Email {
		t.Fatalf("invitations of %s: %+v, %v", u.Email, list, err)
	}
	if _, err := s.AcceptInvitation(ctx, u.ID, inv.ID); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Member(ctx, b.ID, u.ID); err != nil || m.Role != auth.RoleDeveloper {
		t.Fatalf("member of B: %+v, %v", m, err)
	}
}
