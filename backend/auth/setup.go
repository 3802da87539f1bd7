package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/backend/ids"
)

// NewSetupToken makes the one-time token that lets the first admin be created: random, valid
// for 15 minutes, single use, stored only as its SHA-256. Earlier unused tokens are dropped, so
// only the link printed last works. It returns ErrSetupDone when an admin exists.
func (s *Service) NewSetupToken(ctx context.Context) (string, time.Time, error) {
	token, err := ids.Random(32)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("make setup token: %w", err)
	}
	now := s.now()
	expires := now.Add(s.setupTTL)
	h := sha256.Sum256([]byte(token))
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if done, err := adminExists(ctx, tx); err != nil {
			return err
		} else if done {
			return ErrSetupDone
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens WHERE used_at IS NULL`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)`,
			h[:], now.UnixMilli(), expires.UnixMilli())
		return err
	})
	if err != nil {
		if errors.Is(err, ErrSetupDone) {
			return "", time.Time{}, err
		}
		return "", time.Time{}, fmt.Errorf("make setup token: %w", err)
	}
	return token, expires, nil
}

// CheckSetupToken reports ErrSetupToken unless token is live; it changes nothing.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	h := sha256.Sum256([]byte(token))
	var n int
	if err := s.st.Read.QueryRowContext(ctx, `SELECT count(*) FROM setup_tokens
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, h[:], s.now().UnixMilli()).Scan(&n); err != nil {
		return fmt.Errorf("check setup token: %w", err)
	}
	if n == 0 {
		return ErrSetupToken
	}
	return nil
}

// CompleteSetup spends a setup token to create the first admin, who becomes admin of every
// organization (orgIDs, which the caller makes sure is not empty). Token use and account
// creation happen in one transaction: a failure leaves the token usable.
//
// Each call counts as a sign-in attempt of clientAddr ("" for none), on the same per-address
// limit as logins, so setup tokens cannot be guessed faster than passwords; only a wrong token
// keeps its attempt (a success or a server-side failure gives it back).
func (s *Service) CompleteSetup(ctx context.Context, token string, nu NewUser, orgIDs []string, clientAddr string) (User, error) {
	return s.completeSetupWith(ctx, token, nu, orgIDs, clientAddr, nil)
}

func (s *Service) completeSetupWith(ctx context.Context, token string, nu NewUser, orgIDs []string, clientAddr string, rec Recorder) (User, error) {
	release, err := s.attempts.reserve(ctx, "", clientAddr, s.clock.Now())
	if err != nil {
		return User{}, err
	}
	u, err := s.completeSetup(ctx, token, nu, orgIDs, rec)
	if !errors.Is(err, ErrSetupToken) {
		release() // only a wrong token counts; a success or a server-side failure does not
	}
	return u, err
}

func (s *Service) completeSetup(ctx context.Context, token string, nu NewUser, orgIDs []string, rec Recorder) (User, error) {
	if err := s.CheckSetupToken(ctx, token); err != nil {
		return User{}, err
	}
	email, name, err := validNewUser(nu)
	if err != nil {
		return User{}, err
	}
	if len(orgIDs) == 0 {
		return User{}, errors.New("complete setup: no organization")
	}
	phc, err := s.hash(ctx, nu.Password)
	if err != nil {
		return User{}, err
	}
	id, err := ids.New("usr")
	if err != nil {
		return User{}, fmt.Errorf("complete setup: %w", err)
	}
	now := s.now()
	u := User{ID: id, Email: email, Name: name, Theme: "system", CreatedAt: now}
	h := sha256.Sum256([]byte(token))
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE setup_tokens SET used_at = ?
			WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, now.UnixMilli(), h[:], now.UnixMilli())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrSetupToken
		}
		if done, err := adminExists(ctx, tx); err != nil {
			return err
		} else if done {
			return ErrSetupDone
		}
		if err := insertUser(ctx, tx, u, phc); err != nil {
			return err
		}
		for _, org := range orgIDs {
			if err := insertMembership(ctx, tx, id, org, RoleAdmin, now); err != nil {
				return err
			}
		}
		return record(ctx, tx, rec, Change{User: u})
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

func adminExists(ctx context.Context, tx *sql.Tx) (bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE role = 'admin'`).Scan(&n); err != nil {
		return false, fmt.Errorf("look for an admin: %w", err)
	}
	return n > 0, nil
}
