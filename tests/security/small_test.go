package security_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/testutil"
	"github.com/keygate/keygate/tests/harness"
)

func init() {
	attacks = append(attacks,
		attack{"class 10: refused role attempts are audited", refusedRolesAudited},
		attack{"class 10: common passwords are refused", commonPasswordsRefused},
	)
}

func refusedRolesAudited(t *testing.T, s *suite) {
	ip := s.ip()
	ctx := context.Background()
	m := s.login(t, ip, memberEmail)
	tries := []struct{ method, path, op string }{
		{http.MethodPost, "/api/v1/keys?org=" + s.orgA, "CreateKey"},
		{http.MethodPost, "/api/v1/routes", "AddRoute"},
		{http.MethodPut, "/api/v1/gateway/settings", "UpdateGatewaySettings"},
		{http.MethodPatch, "/api/v1/members/" + s.userIDs[memberEmail] + "?org=" + s.orgA, "ChangeMemberRole"},
	}
	bodies := map[string]any{
		"CreateKey":             map[string]any{"name": "sneaky"},
		"AddRoute":              map[string]any{"prefix": "/sneaky", "upstream": "http://127.0.0.1:1"},
		"UpdateGatewaySettings": map[string]any{"allowedOrigins": []string{}, "upstreamTimeoutSeconds": 30},
		"ChangeMemberRole":      map[string]any{"role": "admin"},
	}
	for _, tr := range tries {
		if err := m.Send(ctx, tr.method, tr.path, bodies[tr.op], nil); status(err) != http.StatusForbidden {
			t.Fatalf("%s as member: %v, want 403", tr.op, err)
		}
	}
	// Org B's admin tries org A's members.
	o := s.login(t, s.ip(), otherEmail)
	if err := o.Send(ctx, http.MethodGet, "/api/v1/members?org="+s.orgA, nil, nil); status(err) != http.StatusForbidden {
		t.Fatalf("org B admin listing org A's members: %v", err)
	}
	a := s.login(t, s.ip(), adminEmail)
	var page struct {
		Entries []struct {
			Actor, OrgID, Action, Target string
		} `json:"entries"`
	}
	if err := a.Send(ctx, http.MethodGet, "/api/v1/audit?limit=500&org="+s.orgA, nil, &page); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, e := range page.Entries {
		if e.Action == "access.denied" && e.OrgID == s.orgA {
			found[e.Actor+" "+e.Target] = true
		}
	}
	for _, tr := range tries {
		if !found[s.userIDs[memberEmail]+" "+tr.op] {
			b, _ := json.Marshal(page.Entries)
			t.Errorf("no access.denied entry for the member's %s in org A's audit log: %.600s", tr.op, b)
		}
	}
	if !found[s.userIDs[otherEmail]+" ListMembers"] {
		t.Error("no access.denied entry for org B's admin listing org A's members")
	}
}

func commonPasswordsRefused(t *testing.T, s *suite) {
	ctx := context.Background()
	for i, pw := range []string{"1234567890", "qwertyuiop", "Password123", "iloveyou12", "dragondragon", "baseball2024!"} {
		email := "common" + string(rune('a'+i)) + "@example.com"
		r, err := harness.CLI(ctx, s.bin, s.dir, pw+"\n", "users", "add", "--email", email, "--role", "member", "--org", s.orgA)
		if err != nil {
			t.Fatal(err)
		}
		if r.Code == 0 {
			t.Errorf("users add with %q succeeded", pw)
		} else if !strings.Contains(strings.ToLower(r.Stderr), "common") {
			t.Errorf("users add with %q: %s", pw, r.Stderr)
		}
	}
	a := s.login(t, s.ip(), adminEmail)
	err := a.Send(ctx, http.MethodPost, "/api/v1/members?org="+s.orgA, map[string]any{"email": "newbie@example.com", "role": "member", "password": "qwerty123456"}, nil)
	var e *testutil.APIError
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.Contains(e.Body, `"common"`) {
		t.Errorf("add member with a common password: %v", err)
	}
}
