package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Account is a user with their role in each organization, for whoever manages the instance's
// accounts (the command line).
type Account struct {
	User
	// Roles maps organization ids to the user's role there.
	Roles map[string]Role `json:"roles"`
}

// Accounts lists every user, oldest first, with their roles.
func (s *Service) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.st.Read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	var out []Account
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, Account{User: u})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	for i := range out {
		if out[i].Roles, err = s.Roles(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteUser removes an account with its memberships and sessions. Removing the last admin of
// an organization is refused (ErrLastAdmin), as for a single membership.
func (s *Service) DeleteUser(ctx context.Context, userID string) (User, error) {
	return s.deleteUser(ctx, userID, nil)
}

func (s *Service) deleteUser(ctx context.Context, userID string, rec Recorder) (User, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return User{}, err
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT org_id FROM memberships WHERE user_id = ? AND role = 'admin'`, userID)
		if err != nil {
			return fmt.Errorf("read memberships: %w", err)
		}
		var orgs []string
		for rows.Next() {
			var org string
			if err := rows.Scan(&org); err != nil {
				rows.Close()
				return err
			}
			orgs = append(orgs, org)
		}
		rows.Close()
		for _, org := range orgs {
			if err := keepAnAdmin(ctx, tx, org, userID); err != nil {
				return err
			}
		}
		// Memberships and sessions go with the account (ON DELETE CASCADE).
		if _, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, userID); err != nil {
			return err
		}
		return record(ctx, tx, rec, Change{User: u})
	})
	if err != nil {
		return User{}, fmt.Errorf("delete user: %w", err)
	}
	return u, nil
}

// SetPassword gives an account a new password and ends its sessions (and unused reset links), so
// whoever knew the old one is signed out.
func (s *Service) SetPassword(ctx context.Context, userID, password string) (User, error) {
	return s.setPassword(ctx, userID, password, nil)
}

func (s *Service) setPassword(ctx context.Context, userID, password string, rec Recorder) (User, error) {
	if err := ValidPassword(password); err != nil {
		return User{}, err
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return User{}, err
	}
	phc, err := s.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := setPasswordTx(ctx, tx, userID, phc, ""); err != nil {
			return err
		}
		return record(ctx, tx, rec, Change{User: u})
	})
	if errors.Is(err, ErrUserNotFound) {
		return User{}, err
	}
	if err != nil {
		return User{}, fmt.Errorf("set password: %w", err)
	}
	return u, nil
}
