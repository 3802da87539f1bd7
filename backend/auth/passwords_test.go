package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/testutil"
)

const newPassword = "a brand new passphrase"

func liveSessions(t *testing.T, s *auth.Service, tokens ...string) []bool {
	t.Helper()
	out := make([]bool, len(tokens))
	for i, tok := range tokens {
		_, err := s.Session(context.Background(), tok)
		if err != nil && !errors.Is(err, auth.ErrNoSession) {
			t.Fatal(err)
		}
		out[i] = err == nil
	}
	return out
}

func TestChangePassword(t *testing.T) {
	s, org := newService(t, auth.WithLoginLimits(3, 100, 10*time.Minute))
	ctx := context.Background()
	u, err := s.CreateUser(ctx, auth.NewUser{Email: "a@example.com", Password: testutil.Password, OrgID: org, Role: auth.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	here, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "10.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	there, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "10.0.0.2", "")
	if err != nil {
		t.Fatal(err)
	}

	// Bad input changes nothing, and each names its field.
	for _, tc := range []struct {
		name, current, next, field string
	}{
		{"no current", "", newPassword, "currentPassword"},
		{"short new", testutil.Password, "short", "newPassword"},
		{"common new", testutil.Password, "password1234", "newPassword"},
		{"wrong current", "not the password", newPassword, "currentPassword"},
		{"same", testutil.Password, testutil.Password, "newPassword"},
	} {
		_, err := s.ChangePassword(ctx, u.ID, tc.current, tc.next, here)
		inv := problem.Invalids(err)
		if len(inv) == 0 || inv[0].Field != tc.field {
			t.Fatalf("%s: %v (fields %v), want an error about %s", tc.name, err, inv, tc.field)
		}
	}
	if got := liveSessions(t, s, here, there); !got[0] || !got[1] {
		t.Fatalf("a refused change ended sessions: %v", got)
	}
	if _, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "10.0.0.3", ""); err != nil {
		t.Fatalf("the old password stopped working after refused changes: %v", err)
	}

	if _, err := s.ChangePassword(ctx, u.ID, testutil.Password, newPassword, here); err != nil {
		t.Fatal(err)
	}
	if got := liveSessions(t, s, here, there); !got[0] || got[1] {
		t.Fatalf("sessions after the change (this one, another): %v, want [true false]", got)
	}
	if _, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "10.0.0.3", ""); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if _, _, _, err := s.Login(ctx, "a@example.com", newPassword, "10.0.0.3", ""); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

// A stolen session cannot guess the current password faster than a login could: wrong
// guesses count on the account's sign-in limit.
func TestChangePasswordGuessesAreLimited(t *testing.T) {
	s, org := newService(t, auth.WithLoginLimits(3, 100, 10*time.Minute))
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, auth.NewUser{Email: "a@example.com", Password: testutil.Password, OrgID: org, Role: auth.RoleMember})
	for i := 0; i < 3; i++ {
		if _, err := s.ChangePassword(ctx, u.ID, "guess number one", newPassword, ""); !errors.Is(err, auth.ErrWrongPassword) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	var rl *auth.RateLimitedError
	if _, err := s.ChangePassword(ctx, u.ID, testutil.Password, newPassword, ""); !errors.As(err, &rl) {
		t.Fatalf("fourth try: %v, want rate limited", err)
	}
	if _, _, _, err := s.Login(ctx, "a@example.com", testutil.Password, "10.0.0.9", ""); !errors.As(err, &rl) {
		t.Fatalf("login after guesses: %v, want the same account limit", err)
	}
}

func TestPasswordResetLink(t *testing.T) {
	clk := testutil.NewClock()
	st := testutil.NewStore(t)
	def := testutil.DefaultOrg(t, st)
	s, err := auth.New(st, auth.WithPasswordParams(testutil.CheapPasswords), auth.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	other, err := orgs.New(st, clk).Create(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := s.CreateUser(ctx, auth.NewUser{Email: "admin@example.com", Password: testutil.Password, OrgID: def.ID, Role: auth.RoleAdmin})
	member, _ := s.CreateUser(ctx, auth.NewUser{Email: "m@example.com", Password: testutil.Password, OrgID: def.ID, Role: auth.RoleMember})
	both, _ := s.CreateUser(ctx, auth.NewUser{Email: "both@example.com", Password: testutil.Password, OrgID: def.ID, Role: auth.RoleMember})
	if _, err := s.AddMembership(ctx, both.ID, other.ID, auth.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	issuer, err := s.Principal(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}

	// Refused: the admin's own account, and an account that is admin of an organization the
	// issuer does not administer (the link would hand the issuer that organization).
	if _, err := s.NewPasswordReset(ctx, issuer, admin.ID); !errors.Is(err, auth.ErrResetSelf) {
		t.Fatalf("own account: %v", err)
	}
	if _, err := s.NewPasswordReset(ctx, issuer, both.ID); !errors.Is(err, auth.ErrResetOutranked) {
		t.Fatalf("member of another organization: %v", err)
	}
	if _, err := s.NewPasswordReset(ctx, issuer, "usr_nope"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Fatalf("unknown account: %v", err)
	}

	session, _, _, err := s.Login(ctx, "m@example.com", testutil.Password, "10.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.NewPasswordReset(ctx, issuer, member.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Token) < 32 || !first.ExpiresAt.Equal(clk.Now().UTC().Truncate(time.Millisecond).Add(15*time.Minute)) {
		t.Fatalf("reset %+v", first)
	}
	var n int
	st.Read.QueryRow(`SELECT count(*) FROM password_resets WHERE token_hash = ?`, first.Token).Scan(&n)
	if n != 0 {
		t.Fatal("the token is stored in plain text")
	}
	// A second link replaces the first.
	second, err := s.NewPasswordReset(ctx, issuer, member.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetPassword(ctx, first.Token, newPassword, "10.0.0.2"); !errors.Is(err, auth.ErrResetToken) {
		t.Fatalf("replaced link: %v", err)
	}
	// Bad input changes nothing and leaves the link usable.
	if _, err := s.ResetPassword(ctx, second.Token, "short", "10.0.0.2"); !errors.Is(err, auth.ErrInvalidPassword) {
		t.Fatalf("short password: %v", err)
	}
	for _, bad := range []string{"", "garbage", second.Token + "x"} {
		if _, err := s.ResetPassword(ctx, bad, newPassword, "10.0.0.2"); !errors.Is(err, auth.ErrResetToken) {
			t.Fatalf("token %q: %v", bad, err)
		}
	}
	if got := liveSessions(t, s, session); !got[0] {
		t.Fatal("a refused reset ended the session")
	}

	u, err := s.ResetPassword(ctx, second.Token, newPassword, "10.0.0.2")
	if err != nil || u.ID != member.ID {
		t.Fatalf("reset: %+v %v", u, err)
	}
	if got := liveSessions(t, s, session); got[0] {
		t.Fatal("the account's session survived the reset")
	}
	if _, err := s.ResetPassword(ctx, second.Token, "another new passphrase", "10.0.0.2"); !errors.Is(err, auth.ErrResetToken) {
		t.Fatalf("second use: %v", err)
	}
	if _, _, _, err := s.Login(ctx, "m@example.com", newPassword, "10.0.0.3", ""); err != nil {
		t.Fatalf("login with the reset password: %v", err)
	}

	// Expiry at 15 minutes, to the millisecond.
	third, _ := s.NewPasswordReset(ctx, issuer, member.ID)
	clk.Advance(15 * time.Minute)
	if _, err := s.ResetPassword(ctx, third.Token, "yet another passphrase", "10.0.0.2"); !errors.Is(err, auth.ErrResetToken) {
		t.Fatalf("expired link: %v", err)
	}
	// A password set otherwise (the command line) kills unused links.
	fourth, _ := s.NewPasswordReset(ctx, issuer, member.ID)
	if _, err := s.SetPassword(ctx, member.ID, "set by the command line"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetPassword(ctx, fourth.Token, "yet another passphrase", "10.0.0.2"); !errors.Is(err, auth.ErrResetToken) {
		t.Fatalf("link after a password change: %v", err)
	}
	// The desktop's local user administers everything.
	if _, err := s.NewPasswordReset(ctx, auth.Principal{Local: true}, both.ID); err != nil {
		t.Fatalf("local principal: %v", err)
	}
}

// Wrong reset tokens count on the client address's sign-in limit, as setup tokens do.
func TestResetTokenGuessesAreLimited(t *testing.T) {
	s, _ := newService(t, auth.WithLoginLimits(100, 3, 10*time.Minute))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := s.ResetPassword(ctx, "guessed-token", newPassword, "10.0.0.1"); !errors.Is(err, auth.ErrResetToken) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	var rl *auth.RateLimitedError
	if _, err := s.ResetPassword(ctx, "guessed-token", newPassword, "10.0.0.1"); !errors.As(err, &rl) {
		t.Fatalf("fourth guess: %v, want rate limited", err)
	}
}
