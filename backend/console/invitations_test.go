package console_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/testutil"
)

// TestAddMemberInvites: an admin of another organization adds addresses; the answer is the
// same for an account and for no account, and the account joins only by accepting.
func TestAddMemberInvites(t *testing.T) {
	srv := testutil.NewServer(t)
	ctx := context.Background()
	b, err := srv.Orgs.Create(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	root := srv.AddUser(t, "root@example.com", auth.RoleAdmin, srv.Org.ID)
	srv.AddUser(t, "boss@example.com", auth.RoleAdmin, b.ID)
	srv.AddUser(t, "bystander@example.com", auth.RoleMember, srv.Org.ID)
	boss := srv.Login(t, "boss@example.com")

	add := func(email, password string) (int, map[string]any) {
		var out map[string]any
		body := map[string]string{"org": b.ID, "email": email, "role": "developer"}
		if password != "" {
			body["password"] = password
		}
		st := boss.Call("POST", "/api/v1/members", body, &out)
		delete(out, "createdAt")
		delete(out, "email")
		return st, out
	}
	s1, a1 := add("root@example.com", "")
	s2, a2 := add("ghost@example.com", "")
	if s1 != 201 || s2 != 201 || !reflect.DeepEqual(a1, a2) || a1["invited"] != true || a1["userId"] != "" || a1["name"] != "" {
		t.Fatalf("answers: %d %v / %d %v", s1, a1, s2, a2)
	}
	p1 := boss.Problem("POST", "/api/v1/members", map[string]string{"org": b.ID, "email": "root@example.com", "role": "member", "password": testutil.Password})
	p2 := boss.Problem("POST", "/api/v1/members", map[string]string{"org": b.ID, "email": "ghost2@example.com", "role": "member", "password": testutil.Password})
	if p1.Status != 400 || p1.Code != p2.Code || p1.Detail != p2.Detail || !reflect.DeepEqual(p1.Fields, p2.Fields) {
		t.Fatalf("password refused differently: %+v / %+v", p1, p2)
	}
	if _, err := srv.Auth.UserByEmail(ctx, "ghost2@example.com"); err == nil {
		t.Fatal("an admin of B created an account")
	}
	if _, err := srv.Auth.Member(ctx, b.ID, root.ID); err == nil {
		t.Fatal("root joined B without accepting")
	}

	var me struct{ Invitations []auth.Invitation }
	rc := srv.Login(t, "root@example.com")
	rc.Call("GET", "/api/v1/me", nil, &me)
	if len(me.Invitations) != 1 || me.Invitations[0].OrgID != b.ID || me.Invitations[0].Role != auth.RoleDeveloper {
		t.Fatalf("root's invitations: %+v", me.Invitations)
	}
	id := me.Invitations[0].ID
	other := srv.Login(t, "bystander@example.com")
	if p := other.Problem("POST", "/api/v1/invitations/"+id+"/accept", nil); p.Status != 404 || p.Code != "NOT_FOUND" {
		t.Fatalf("bystander accepts root's invitation: %+v", p)
	}
	if st := rc.Call("POST", "/api/v1/invitations/"+id+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	if m, err := srv.Auth.Member(ctx, b.ID, root.ID); err != nil || m.Role != auth.RoleDeveloper {
		t.Fatalf("after accepting: %+v %v", m, err)
	}
	es, err := srv.Audit.List(ctx, audit.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range es {
		got[e.Action]++
	}
	if got[audit.MemberInvite] != 2 || got[audit.InvitationAccept] != 1 {
		t.Errorf("audit: %v", got)
	}
}
