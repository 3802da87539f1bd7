package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/problem"
)

// PasswordResetLifetime is how long a reset link works.
const PasswordResetLifetime = 15 * time.Minute

var (
	// ErrWrongPassword means the current password given to ChangePassword is not the account's.
	ErrWrongPassword error = &problem.Invalid{Field: "currentPassword", Code: "wrong", Msg: "validation.password.current.wrong",
		Text: "current password is wrong"}
	// ErrSamePassword means the new password is the current one.
	ErrSamePassword error = &problem.Invalid{Field: "newPassword", Code: "same", Msg: "validation.password.same",
		Text: "new password is the current one"}
	// ErrResetToken means a reset token that is unknown, used or expired.
	ErrResetToken error = &problem.Invalid{Field: "token", Code: "invalid", Msg: "validation.reset.token.invalid",
		Text: "reset link is invalid, used or expired"}
	// ErrResetSelf means an admin asked for a reset link for their own account: they change their
	// password with the current one instead, so a stolen session cannot take the account over.
	ErrResetSelf = errors.New("use change password for your own account")
	// ErrResetOutranked means the account belongs to an organization the issuing admin does not
	// administer: a reset link would give the issuer that organization's access.
	ErrResetOutranked = errors.New("the account belongs to an organization you are not an admin of")
)

// ChangePassword sets an account's password when current is its present one, and ends every
// other session of the account (keepSession, the caller's own session token, stays; "" ends
// all). A wrong current password counts as a failed sign-in of the account, so a stolen session
// cannot guess it faster than a login could. (Not of the client address: the caller is signed
// in, and the address limit is about anonymous guessing across accounts.)
func (s *Service) ChangePassword(ctx context.Context, userID, current, next, keepSession string) (User, error) {
	return s.changePassword(ctx, userID, current, next, keepSession, nil)
}

func (s *Service) changePassword(ctx context.Context, userID, current, next, keepSession string, rec Recorder) (User, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if current == "" {
		return User{}, &problem.Invalid{Field: "currentPassword", Code: "required", Msg: "validation.required",
			Text: "current password is required", Err: ErrWrongPassword}
	}
	if err := ValidPassword(next); err != nil {
		var inv *problem.Invalid
		if errors.As(err, &inv) {
			return User{}, inv.On("newPassword")
		}
		return User{}, err
	}
	release, err := s.attempts.reserve(ctx, u.Email, "", s.clock.Now())
	if err != nil {
		return User{}, err
	}
	wrong := false
	defer func() {
		if !wrong {
			release()
		}
	}()
	var phc string
	if err := s.st.Read.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, userID).Scan(&phc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, ErrUserNotFound
		}
		return User{}, fmt.Errorf("change password: %w", err)
	}
	ok, err := s.check(ctx, phc, current)
	if err != nil {
		return User{}, fmt.Errorf("change password: %w", err)
	}
	if !ok {
		wrong = true
		return User{}, ErrWrongPassword
	}
	if current == next {
		return User{}, ErrSamePassword
	}
	if err := s.replacePassword(ctx, userID, next, keepSession, func(ctx context.Context, tx *sql.Tx) error {
		return record(ctx, tx, rec, Change{User: u})
	}); err != nil {
		return User{}, err
	}
	return u, nil
}

// replacePassword stores a new password hash, ends the account's sessions but keepSession
// (a token, or "") and runs then in one transaction. The hash is computed first, outside the
// write lock.
func (s *Service) replacePassword(ctx context.Context, userID, password, keepSession string, then func(context.Context, *sql.Tx) error) error {
	phc, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := setPasswordTx(ctx, tx, userID, phc, keepSession); err != nil {
			return err
		}
		return then(ctx, tx)
	})
}

func setPasswordTx(ctx context.Context, tx *sql.Tx, userID, phc, keepSession string) error {
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, phc, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrUserNotFound
	}
	if keepSession != "" {
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`, userID, hashToken(keepSession))
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	}
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	// Unused reset links die with the old password: they were issued for an account whose
	// password was unknown, which it no longer is.
	if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("drop reset links: %w", err)
	}
	return nil
}

// PasswordReset is an issued reset link's token (shown once, never stored) and expiry.
type PasswordReset struct {
	User      User      `json:"user"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// NewPasswordReset issues a one-time, 15-minute reset token for the account userID on behalf of
// the admin issuer. The issuer must be an admin of every organization the account belongs to
// (ErrResetOutranked), else a reset would hand them access they do not have; and not the account
// itself (ErrResetSelf). Earlier unused tokens of the account are dropped: only the newest works.
func (s *Service) NewPasswordReset(ctx context.Context, issuer Principal, userID string) (PasswordReset, error) {
	return s.newPasswordReset(ctx, issuer, userID, nil)
}

func (s *Service) newPasswordReset(ctx context.Context, issuer Principal, userID string, rec Recorder) (PasswordReset, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return PasswordReset{}, err
	}
	if !issuer.Local && issuer.UserID == u.ID {
		return PasswordReset{}, ErrResetSelf
	}
	roles, err := s.Roles(ctx, u.ID)
	if err != nil {
		return PasswordReset{}, err
	}
	if !issuer.Local {
		for org := range roles {
			if issuer.Roles[org] != RoleAdmin {
				return PasswordReset{}, ErrResetOutranked
			}
		}
	}
	token, err := ids.Random(32)
	if err != nil {
		return PasswordReset{}, fmt.Errorf("make reset token: %w", err)
	}
	now := s.now()
	expires := now.Add(PasswordResetLifetime)
	h := sha256.Sum256([]byte(token))
	by := issuer.UserID
	if issuer.Local {
		by = "local"
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = ? AND used_at IS NULL`, u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, h[:], u.ID, by, now.UnixMilli(), expires.UnixMilli())
		if err != nil {
			return err
		}
		// The recorder gets no token: it is shown once and never stored.
		return record(ctx, tx, rec, Change{User: u, Reset: PasswordReset{User: u, ExpiresAt: expires}})
	})
	if err != nil {
		return PasswordReset{}, fmt.Errorf("make reset token: %w", err)
	}
	return PasswordReset{User: u, Token: token, ExpiresAt: expires}, nil
}

// ResetPassword spends a reset token to give its account a new password, and ends every session
// of the account. Each call counts as a sign-in attempt of clientAddr, like setup tokens; only a
// wrong token keeps its attempt. Token use and the new password are one transaction: a failure
// leaves the token usable.
func (s *Service) ResetPassword(ctx context.Context, token, password, clientAddr string) (User, error) {
	return s.resetPasswordWith(ctx, token, password, clientAddr, nil)
}

func (s *Service) resetPasswordWith(ctx context.Context, token, password, clientAddr string, rec Recorder) (User, error) {
	if token == "" || len(token) > 128 {
		return User{}, ErrResetToken
	}
	if err := ValidPassword(password); err != nil {
		return User{}, err
	}
	release, err := s.attempts.reserve(ctx, "", clientAddr, s.clock.Now())
	if err != nil {
		return User{}, err
	}
	u, err := s.resetPassword(ctx, token, password, rec)
	if !errors.Is(err, ErrResetToken) {
		release()
	}
	return u, err
}

func (s *Service) resetPassword(ctx context.Context, token, password string, rec Recorder) (User, error) {
	h := sha256.Sum256([]byte(token))
	var userID string
	err := s.st.Read.QueryRowContext(ctx, `SELECT user_id FROM password_resets
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, h[:], s.now().UnixMilli()).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrResetToken
	}
	if err != nil {
		return User{}, fmt.Errorf("reset password: %w", err)
	}
	phc, err := s.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = ?
			WHERE token_hash = ? AND user_id = ? AND used_at IS NULL AND expires_at > ?`, now.UnixMilli(), h[:], userID, now.UnixMilli())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrResetToken // spent or expired meanwhile
		}
		if err := setPasswordTx(ctx, tx, userID, phc, ""); err != nil || rec == nil {
			return err
		}
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID))
		if err != nil {
			return err
		}
		return rec(ctx, tx, Change{User: u})
	})
	if errors.Is(err, ErrResetToken) || errors.Is(err, ErrUserNotFound) {
		return User{}, ErrResetToken
	}
	if err != nil {
		return User{}, fmt.Errorf("reset password: %w", err)
	}
	return s.User(ctx, userID)
}
