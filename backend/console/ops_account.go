package console

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
)

// ChangePasswordInput changes the caller's own password.
type ChangePasswordInput struct {
	CurrentPassword string `json:"currentPassword" required:"true" format:"password" doc:"The account's present password."`
	NewPassword     string `json:"newPassword" required:"true" format:"password" doc:"10 to 256 characters."`
}

// PasswordResetLink is an issued reset link. Path carries the token in its fragment, which
// browsers never send to a server or a log; the token is shown once and never again.
type PasswordResetLink struct {
	UserID    string    `json:"userId"`
	Email     string    `json:"email"`
	Token     string    `json:"token"`
	Path      string    `json:"path" doc:"The console path of the link, e.g. /reset-password#token=…; prefix the console's origin."`
	ExpiresAt time.Time `json:"expiresAt"`
}

// ResetPasswordInput spends a reset link.
type ResetPasswordInput struct {
	Token    string `json:"token" required:"true" doc:"The token from the reset link's fragment."`
	Password string `json:"password" required:"true" format:"password" doc:"10 to 256 characters."`
}

// ResetPasswordOutput names the account whose password was reset, for the sign-in form.
type ResetPasswordOutput struct {
	Email string `json:"email"`
}

// ResetPath is the console path a reset link opens; the token follows in the fragment.
const ResetPath = "/reset-password"

func (s *Service) changePassword(ctx context.Context, c *Call, in *ChangePasswordInput) (Empty, error) {
	_, err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		return s.recordTx(ctx, tx, c, "", audit.PasswordChange, ch.User.Email, "other sessions ended")
	}).ChangePassword(ctx, c.Principal.UserID, in.CurrentPassword, in.NewPassword, c.token)
	if err != nil {
		if errors.Is(err, auth.ErrWrongPassword) {
			s.record(ctx, c, "", audit.PasswordChangeFail, c.Principal.Email, "wrong current password")
		}
		return Empty{}, err
	}
	s.Audit.Committed(ctx)
	return Empty{}, nil
}

func (s *Service) createPasswordReset(ctx context.Context, c *Call, in *MemberInput) (PasswordResetLink, error) {
	if _, err := s.Auth.Member(ctx, in.Org, in.UserID); err != nil {
		return PasswordResetLink{}, err
	}
	r, err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		return s.recordTx(ctx, tx, c, in.Org, audit.PasswordResetIssue, ch.User.ID,
			ch.User.Email+", valid until "+ch.Reset.ExpiresAt.Format(time.RFC3339))
	}).NewPasswordReset(ctx, c.Principal, in.UserID)
	if err != nil {
		return PasswordResetLink{}, err
	}
	s.Audit.Committed(ctx)
	return PasswordResetLink{UserID: r.User.ID, Email: r.User.Email, Token: r.Token, ExpiresAt: r.ExpiresAt,
		Path: ResetPath + "#token=" + url.QueryEscape(r.Token)}, nil
}

func (s *Service) resetPassword(ctx context.Context, c *Call, in *ResetPasswordInput) (ResetPasswordOutput, error) {
	u, err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		return s.recordTx(ctx, tx, &Call{Principal: auth.Principal{UserID: ch.User.ID}, ClientAddr: c.ClientAddr}, "",
			audit.PasswordReset, ch.User.Email, "with a reset link; every session ended")
	}).ResetPassword(ctx, in.Token, in.Password, c.ClientAddr)
	if err != nil {
		return ResetPasswordOutput{}, err
	}
	s.Audit.Committed(ctx)
	return ResetPasswordOutput{Email: u.Email}, nil
}
