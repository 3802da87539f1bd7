package security_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/testutil"
)

func init() {
	attacks = append(attacks, attack{"class 9: adding an address invites it and tells nothing about accounts", crossOrgProbing})
}

type invitationView struct {
	ID, OrgID, OrgName, Role string
}

func invitations(t *testing.T, c *testutil.Client) []invitationView {
	t.Helper()
	var me struct {
		Invitations []invitationView `json:"invitations"`
	}
	if err := c.Send(context.Background(), http.MethodGet, "/api/v1/me", nil, &me); err != nil {
		t.Fatalf("GET /api/v1/me: %v", err)
	}
	return me.Invitations
}

func memberOf(t *testing.T, c *testutil.Client, org, email string) bool {
	t.Helper()
	var list struct {
		Members []struct{ Email string } `json:"members"`
	}
	if err := c.Send(context.Background(), http.MethodGet, "/api/v1/members?org="+org, nil, &list); err != nil {
		t.Fatalf("list members of %s: %v", org, err)
	}
	for _, m := range list.Members {
		if strings.EqualFold(m.Email, email) {
			return true
		}
	}
	return false
}

// crossOrgProbing: organization B's admin adds the instance admin's address, an address with no
// account, and the same with other letter case and role; every answer has the same status and
// the same fields (no id, no name). The instance admin is not a member of B until it accepts;
// another account cannot accept or decline its invitation; decline works; a password (which
// would create an account only for a new address) is refused whatever the address.
func crossOrgProbing(t *testing.T, s *suite) {
	ctx := context.Background()
	ip := s.ip()
	other := s.login(t, ip, otherEmail) // admin of organization B only
	admin := s.login(t, ip, adminEmail) // the instance admin
	member := s.login(t, ip, memberEmail)
	dev := s.login(t, ip, devEmail)

	add := func(email, role, password string) (map[string]any, error) {
		var out map[string]any
		body := map[string]any{"org": s.orgB, "email": email, "role": role}
		if password != "" {
			body["password"] = password
		}
		err := other.Send(ctx, http.MethodPost, "/api/v1/members", body, &out)
		delete(out, "createdAt")
		return out, err
	}
	existing, err1 := add(adminEmail, "admin", "")
	missing, err2 := add("nobody-here@example.com", "admin", "")
	if err1 != nil || err2 != nil {
		t.Fatalf("AddMember: existing %v, missing %v", err1, err2)
	}
	existing["email"], missing["email"] = "", ""
	if !reflect.DeepEqual(existing, missing) {
		t.Errorf("answers differ: existing account %v, no account %v", existing, missing)
	}
	for k := range existing {
		if k != "email" && k != "role" && k != "invited" && k != "userId" && k != "name" {
			t.Errorf("answer carries %q", k)
		}
	}
	if existing["userId"] != "" || existing["name"] != "" || existing["invited"] != true {
		t.Errorf("answer tells an id or a name or is not an invitation: %v", existing)
	}
	// Variant: letter case and another role; and a password, refused alike for both.
	if _, err := add(strings.ToUpper(memberEmail), "member", ""); err != nil {
		t.Errorf("invite %s: %v", strings.ToUpper(memberEmail), err)
	}
	_, e1 := add(devEmail, "member", "Probe-Password-93jd8")
	_, e2 := add("nobody-else@example.com", "member", "Probe-Password-93jd8")
	if status(e1) != 400 || status(e2) != 400 || e1.Error() != e2.Error() {
		t.Errorf("password with existing/new address: %v / %v (want the same 400)", e1, e2)
	}

	// Not a member until accepted.
	if memberOf(t, other, s.orgB, adminEmail) {
		t.Fatal("the instance admin became a member of B without accepting")
	}
	invs := invitations(t, admin)
	if len(invs) != 1 || invs[0].OrgID != s.orgB || invs[0].Role != "admin" {
		t.Fatalf("the instance admin's invitations: %+v", invs)
	}
	inv := invs[0]
	// Another account cannot accept or decline it (as if it did not exist).
	for _, c := range []*testutil.Client{dev, member, other} {
		for _, verb := range []string{"accept", "decline"} {
			err := c.Send(ctx, http.MethodPost, "/api/v1/invitations/"+inv.ID+"/"+verb, map[string]any{}, nil)
			if status(err) != 404 {
				t.Errorf("another account's %s of the admin's invitation: %v (want 404)", verb, err)
			}
		}
	}
	if memberOf(t, other, s.orgB, adminEmail) || len(invitations(t, admin)) != 1 {
		t.Fatal("another account's attempt changed the invitation or the membership")
	}
	// Accept works, once.
	if err := admin.Send(ctx, http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", map[string]any{}, nil); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if !memberOf(t, other, s.orgB, adminEmail) {
		t.Error("accepted, but not a member of B")
	}
	if err := admin.Send(ctx, http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", map[string]any{}, nil); status(err) != 404 {
		t.Errorf("second accept: %v (want 404)", err)
	}
	// Decline works: the member's invitation goes, no membership.
	invs = invitations(t, member)
	if len(invs) != 1 || invs[0].OrgID != s.orgB {
		t.Fatalf("the member's invitations: %+v", invs)
	}
	if err := member.Send(ctx, http.MethodPost, "/api/v1/invitations/"+invs[0].ID+"/decline", map[string]any{}, nil); err != nil {
		t.Fatalf("decline: %v", err)
	}
	if memberOf(t, other, s.orgB, memberEmail) || len(invitations(t, member)) != 0 {
		t.Error("declined, yet a member of B or still invited")
	}
	// Clean up: take the instance admin out of B again for the other attacks.
	if err := other.Send(ctx, http.MethodDelete, "/api/v1/members/"+s.userIDs[adminEmail]+"?org="+s.orgB, nil, nil); err != nil {
		t.Errorf("remove the admin from B: %v", err)
	}
}
