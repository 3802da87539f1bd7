package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/testutil"
)

func TestInvitations(t *testing.T) {
	clk := testutil.NewClock()
	st := testutil.NewStore(t)
	def := testutil.DefaultOrg(t, st)
	s, err := auth.New(st, auth.WithPasswordParams(testutil.CheapPasswords), auth.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b, err := orgs.New(st, clk).Create(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.CreateUser(ctx, auth.NewUser{Email: "a@example.com", Password: testutil.Password, OrgID: def.ID, Role: auth.RoleAdmin})
	o, _ := s.CreateUser(ctx, auth.NewUser{Email: "o@example.com", Password: testutil.Password, OrgID: def.ID, Role: auth.RoleMember})

	// Bad input changes nothing.
	if _, err := s.Invite(ctx, b.ID, "not an address", auth.RoleMember, "x"); !errors.Is(err, auth.ErrInvalidEmail) {
		t.Fatalf("bad address: %v", err)
	}
	if _, err := s.Invite(ctx, b.ID, "a@example.com", auth.Role("owner"), "x"); err == nil {
		t.Fatal("bad role accepted")
	}
	// Invited in other letter case; a second invitation renews the first (one per address).
	if _, err := s.Invite(ctx, b.ID, "A@Example.com", auth.RoleMember, "x"); err != nil {
		t.Fatal(err)
	}
	inv, err := s.Invite(ctx, b.ID, "a@example.com", auth.RoleDeveloper, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Member(ctx, b.ID, a.ID); !errors.Is(err, auth.ErrNotMember) {
		t.Fatalf("a member before accepting: %v", err)
	}
	list, err := s.Invitations(ctx, a.ID)
	if err != nil || len(list) != 1 || list[0].ID != inv.ID || list[0].Role != auth.RoleDeveloper || list[0].OrgName != "B" ||
		!list[0].ExpiresAt.Equal(list[0].CreatedAt.Add(auth.InvitationTTL)) {
		t.Fatalf("invitations of a: %+v, %v", list, err)
	}
	if list, _ := s.Invitations(ctx, o.ID); len(list) != 0 {
		t.Fatalf("o sees a's invitation: %+v", list)
	}
	// Someone else cannot answer it.
	if _, err := s.AcceptInvitation(ctx, o.ID, inv.ID); !errors.Is(err, auth.ErrInvitationNotFound) {
		t.Fatalf("o accepts a's invitation: %v", err)
	}
	if _, err := s.DeclineInvitation(ctx, o.ID, inv.ID); !errors.Is(err, auth.ErrInvitationNotFound) {
		t.Fatalf("o declines a's invitation: %v", err)
	}
	// Accept: member with the invited role, invitation gone.
	if _, err := s.AcceptInvitation(ctx, a.ID, inv.ID); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Member(ctx, b.ID, a.ID); err != nil || m.Role != auth.RoleDeveloper {
		t.Fatalf("after accepting: %+v, %v", m, err)
	}
	if _, err := s.AcceptInvitation(ctx, a.ID, inv.ID); !errors.Is(err, auth.ErrInvitationNotFound) {
		t.Fatalf("accepted twice: %v", err)
	}
	// Decline: gone, no membership.
	inv2, _ := s.Invite(ctx, b.ID, "o@example.com", auth.RoleAdmin, "x")
	if _, err := s.DeclineInvitation(ctx, o.ID, inv2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Member(ctx, b.ID, o.ID); !errors.Is(err, auth.ErrNotMember) {
		t.Fatalf("a member after declining: %v", err)
	}
	// An address without an account: the account sees the invitation once it exists.
	inv3, _ := s.Invite(ctx, b.ID, "later@example.com", auth.RoleMember, "x")
	l, _ := s.CreateUser(ctx, auth.NewUser{Email: "later@example.com", Password: testutil.Password})
	if list, _ := s.Invitations(ctx, l.ID); len(list) != 1 || list[0].ID != inv3.ID {
		t.Fatalf("the new account's invitations: %+v", list)
	}
	// Expired invitations are neither listed nor accepted.
	clk.Advance(auth.InvitationTTL + time.Second)
	if list, _ := s.Invitations(ctx, l.ID); len(list) != 0 {
		t.Fatalf("expired invitation listed: %+v", list)
	}
	if _, err := s.AcceptInvitation(ctx, l.ID, inv3.ID); !errors.Is(err, auth.ErrInvitationNotFound) {
		t.Fatalf("expired invitation accepted: %v", err)
	}
	// The next invitation clears the expired ones from the store.
	if _, err := s.Invite(ctx, b.ID, "next@example.com", auth.RoleMember, "x"); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := st.Read.QueryRowContext(ctx, `SELECT count(*) FROM invitations`).Scan(&left); err != nil || left != 1 {
		t.Fatalf("invitations stored after expiry and one new: %d (%v), want 1", left, err)
	}
}
