package auth_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/testutil"
)

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("correct horse battery", auth.DefaultPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") || strings.Count(h, "$") != 5 {
		t.Fatalf("not a PHC argon2id string: %s", h)
	}
	if ok, err := auth.CheckPassword(h, "correct horse battery"); !ok || err != nil {
		t.Fatalf("default parameters: %v %v", ok, err)
	}
	h, _ = auth.HashPassword("correct horse battery", testutil.CheapPasswords)
	h2, _ := auth.HashPassword("correct horse battery", testutil.CheapPasswords)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		if ok, err := auth.CheckPassword(h, pw); err != nil || ok != want {
			t.Errorf("check %q: %v, %v", pw, ok, err)
		}
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=999999999,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "plain"} {
		if _, err := auth.CheckPassword(bad, "x"); err == nil {
			t.Errorf("hash %q accepted", bad)
		}
	}
}

func TestMay(t *testing.T) {
	p := auth.Principal{UserID: "u", Roles: map[string]auth.Role{"a": auth.RoleDeveloper, "b": auth.RoleAdmin}}
	cases := []struct {
		p    auth.Principal
		need auth.Need
		org  string
		want bool
	}{
		{auth.Principal{}, auth.NeedPublic, "", true},
		{auth.Principal{}, auth.NeedSignedIn, "", false},
		{auth.Principal{}, auth.NeedMember, "a", false},
		{p, auth.NeedSignedIn, "", true},
		{p, auth.NeedMember, "a", true},
		{p, auth.NeedDeveloper, "a", true},
		{p, auth.NeedAdmin, "a", false},
		{p, auth.NeedAdmin, "b", true},
		{p, auth.NeedMember, "c", false},
		{p, auth.NeedMember, "", false},
		{p, auth.NeedAdminOfAny, "", true},
		{auth.Principal{UserID: "v", Roles: map[string]auth.Role{"a": auth.RoleDeveloper}}, auth.NeedAdminOfAny, "", false},
		{auth.Principal{Local: true}, auth.NeedAdmin, "anything", true},
		{auth.Principal{Local: true}, auth.NeedAdminOfAny, "", true},
		{p, auth.Need("bogus"), "a", false},
	}
	for _, c := range cases {
		if got := c.p.May(c.need, c.org); got != c.want {
			t.Errorf("%+v May(%s, %q) = %v, want %v", c.p, c.need, c.org, got, c.want)
		}
	}
}

func newService(t *testing.T, opts ...auth.Option) (*auth.Service, string) {
	st := testutil.NewStore(t)
	org := testutil.DefaultOrg(t, st)
	s, err := auth.New(st, append([]auth.Option{auth.WithPasswordParams(testutil.CheapPasswords)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, org.ID
}

func TestVerifySessionForTheGateway(t *testing.T) {
	clk := testutil.NewClock()
	s, org := newService(t, auth.WithClock(clk))
	ctx := context.Background()
	u, err := s.CreateUser(ctx, auth.NewUser{Email: "a@example.com", Password: testutil.Password, OrgID: org, Role: auth.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	token, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "127.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.VerifySession(ctx, token)
	if err != nil || r.Code != keys.CodeValid || r.UserID != u.ID || len(r.OrgIDs) != 1 || r.OrgIDs[0] != org {
		t.Fatalf("live session: %+v, %v", r, err)
	}
	for _, bad := range []string{"", "garbage", strings.Repeat("A", 43)} {
		if r, err := s.VerifySession(ctx, bad); err != nil || r.Code != keys.CodeNotFound {
			t.Fatalf("%q: %+v, %v", bad, r, err)
		}
	}
	clk.Advance(auth.DefaultIdleTimeout)
	if r, _ := s.VerifySession(ctx, token); r.Code != keys.CodeExpired {
		t.Fatalf("idle session: %s", r.Code)
	}
	if r, _ := s.VerifySession(ctx, token); r.Code != keys.CodeNotFound {
		t.Fatalf("expired session is not deleted: %s", r.Code)
	}
}

func TestLoginDoesNotTellAccountsApart(t *testing.T) {
	s, org := newService(t)
	ctx := context.Background()
	s.CreateUser(ctx, auth.NewUser{Email: "a@example.com", Password: testutil.Password, OrgID: org, Role: auth.RoleMember})
	_, _, _, e1 := s.Login(ctx, "a@example.com", "wrong password", "10.0.0.1", "")
	_, _, _, e2 := s.Login(ctx, "nobody@example.com", "wrong password", "10.0.0.2", "")
	if !errors.Is(e1, auth.ErrBadCredentials) || !errors.Is(e2, auth.ErrBadCredentials) || e1.Error() != e2.Error() {
		t.Fatalf("errors differ: %v / %v", e1, e2)
	}
	// Case does not matter in addresses.
	if _, _, _, err := s.Login(ctx, "A@Example.com", testutil.Password, "10.0.0.1", ""); err != nil {
		t.Fatalf("mixed-case address: %v", err)
	}
}

func TestLastAdminIsKept(t *testing.T) {
	s, org := newService(t)
	ctx := context.Background()
	a, _ := s.CreateUser(ctx, auth.NewUser{Email: "a@example.com", Password: testutil.Password, OrgID: org, Role: auth.RoleAdmin})
	if _, err := s.ChangeRole(ctx, org, a.ID, auth.RoleMember); !errors.Is(err, auth.ErrLastAdmin) {
		t.Fatalf("demote last admin: %v", err)
	}
	if _, err := s.RemoveMembership(ctx, org, a.ID); !errors.Is(err, auth.ErrLastAdmin) {
		t.Fatalf("remove last admin: %v", err)
	}
	b, _ := s.CreateUser(ctx, auth.NewUser{Email: "b@example.com", Password: testutil.Password, OrgID: org, Role: auth.RoleAdmin})
	if _, err := s.ChangeRole(ctx, org, a.ID, auth.RoleMember); err != nil {
		t.Fatalf("demote with another admin: %v", err)
	}
	if _, err := s.RemoveMembership(ctx, org, b.ID); !errors.Is(err, auth.ErrLastAdmin) {
		t.Fatalf("remove the now last admin: %v", err)
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hdr    map[string]string
		public string
		secure bool
		want   bool
	}{
		{"matching origin", map[string]string{"Origin": "http://console.test"}, "", false, true},
		{"default port spelled out", map[string]string{"Origin": "http://console.test:80"}, "", false, true},
		{"other host", map[string]string{"Origin": "http://evil.test"}, "", false, false},
		{"https expected", map[string]string{"Origin": "http://console.test"}, "", true, false},
		{"public origin", map[string]string{"Origin": "https://keygate.example.com"}, "https://keygate.example.com", false, true},
		{"fetch metadata same-origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://evil.test"}, "", false, true},
		{"fetch metadata cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://console.test"}, "", false, false},
		{"fetch metadata none", map[string]string{"Sec-Fetch-Site": "none"}, "", false, false},
		{"nothing", map[string]string{}, "", false, false},
		{"null", map[string]string{"Origin": "null"}, "", false, false},
	} {
		r := httptest.NewRequest("POST", "http://console.test/api/v1/keys", nil)
		for k, v := range tc.hdr {
			r.Header.Set(k, v)
		}
		if got := auth.SameOrigin(r, tc.public, tc.secure); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLoginLimitRefills(t *testing.T) {
	clk := testutil.NewClock()
	s, org := newService(t, auth.WithClock(clk), auth.WithLoginLimits(3, 100, 10*time.Minute))
	ctx := context.Background()
	s.CreateUser(ctx, auth.NewUser{Email: "a@example.com", Password: testutil.Password, OrgID: org, Role: auth.RoleMember})
	for i := 0; i < 3; i++ {
		s.Login(ctx, "a@example.com", "nope nope nope", "1.2.3.4", "")
		clk.Advance(time.Minute)
	}
	// 3 attempts per 10 minutes: a burst of 3, then one every 3m20s. The burst was spent at
	// minutes 0, 1 and 2; the next attempt is due at 3m20s, even with the right password.
	_, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "1.2.3.4", "")
	var rl *auth.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 20*time.Second {
		t.Fatalf("4th attempt: %v (want to wait 20s)", err)
	}
	clk.Advance(20 * time.Second)
	if _, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "1.2.3.4", ""); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	// The successful login gave its attempt back: one more is allowed now, then none.
	if _, _, _, err := s.Login(ctx, "a@example.com", "nope nope nope", "1.2.3.4", ""); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("attempt after a success: %v", err)
	}
	if _, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "1.2.3.4", ""); !errors.As(err, &rl) {
		t.Fatalf("attempt beyond the limit: %v", err)
	}
}

// TestLoginStoreErrorKeepsNoAttempt: a login that fails on the store's side (here the users
// table is missing) does not count against the limit, so users do not lock themselves out
// during an outage.
func TestLoginStoreErrorKeepsNoAttempt(t *testing.T) {
	st := testutil.NewStore(t)
	org := testutil.DefaultOrg(t, st)
	s, err := auth.New(st, auth.WithPasswordParams(testutil.CheapPasswords), auth.WithLoginLimits(3, 100, 10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, auth.NewUser{Email: "a@example.com", Password: testutil.Password, OrgID: org.ID, Role: auth.RoleMember}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write.ExecContext(ctx, `ALTER TABLE users RENAME TO users_away`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		_, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "1.2.3.4", "")
		var rl *auth.RateLimitedError
		if err == nil || errors.Is(err, auth.ErrBadCredentials) || errors.As(err, &rl) {
			t.Fatalf("login %d with the store failing: %v; want a store error", i, err)
		}
	}
	if _, err := st.Write.ExecContext(ctx, `ALTER TABLE users_away RENAME TO users`); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "1.2.3.4", ""); err != nil {
		t.Fatalf("after the store errors: %v", err)
	}
}
