package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/mailaddr"
)

// InvitationTTL is how long an invitation can be accepted.
const InvitationTTL = 7 * 24 * time.Hour

// ErrInvitationNotFound means the caller has no pending invitation with that id (none at all,
// expired, already answered, or addressed to someone else: the answer is the same).
var ErrInvitationNotFound = errors.New("invitation not found")

// Invitation is an organization's offer of a role to an e-mail address, as the invited account
// sees it. Adding an address to an organization creates one instead of a membership, so no
// account joins an organization without its consent (security class 9).
type Invitation struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"orgId"`
	OrgName   string    `json:"orgName"`
	Email     string    `json:"email"`
	Role      Role      `json:"role" enum:"admin,developer,member"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Invite offers role in orgID to email. An existing pending invitation of that address to that
// organization is renewed with the new role and expiry. The answer is the same whether or not an
// account has the address (the caller must not learn it).
func (s *Service) Invite(ctx context.Context, orgID, email string, role Role, inviter string) (Invitation, error) {
	return s.invite(ctx, orgID, email, role, inviter, nil)
}

func (s *Service) invite(ctx context.Context, orgID, email string, role Role, inviter string, rec Recorder) (Invitation, error) {
	email, err := ValidEmail(email)
	if err != nil {
		return Invitation{}, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return Invitation{}, err
	}
	id, err := ids.New("inv")
	if err != nil {
		return Invitation{}, fmt.Errorf("invite: %w", err)
	}
	now := s.now()
	inv := Invitation{ID: id, OrgID: orgID, Email: email, Role: role, CreatedAt: now.Truncate(time.Millisecond),
		ExpiresAt: now.Add(InvitationTTL).Truncate(time.Millisecond)}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		// Expired invitations are of no more use: each new one clears them, so the table holds
		// at most the invitations of the last InvitationTTL.
		if _, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE expires_at <= ? OR (org_id = ? AND email_key = ?)`,
			now.UnixMilli(), orgID, mailaddr.Key(email)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO invitations (id, org_id, email_key, role, inviter, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, orgID, mailaddr.Key(email), string(role), inviter,
			now.UnixMilli(), now.Add(InvitationTTL).UnixMilli())
		if err != nil {
			return err
		}
		return record(ctx, tx, rec, Change{Invitation: inv})
	})
	if err != nil {
		return Invitation{}, fmt.Errorf("invite: %w", err)
	}
	return inv, nil
}

// Invitations lists the pending, unexpired invitations of the account userID, oldest first.
func (s *Service) Invitations(ctx context.Context, userID string) ([]Invitation, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	rows, err := s.st.Read.QueryContext(ctx, `SELECT i.id, i.org_id, o.name, i.role, i.created_at, i.expires_at
		FROM invitations i JOIN orgs o ON o.id = i.org_id
		WHERE i.email_key = ? AND i.expires_at > ? ORDER BY i.created_at, i.id`, mailaddr.Key(u.Email), s.now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	out := []Invitation{}
	for rows.Next() {
		var inv Invitation
		var role string
		var created, expires int64
		if err := rows.Scan(&inv.ID, &inv.OrgID, &inv.OrgName, &role, &created, &expires); err != nil {
			return nil, fmt.Errorf("list invitations: %w", err)
		}
		inv.Email, inv.Role = u.Email, Role(role)
		inv.CreatedAt, inv.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
		out = append(out, inv)
	}
	return out, rows.Err()
}

// invitation finds a pending invitation id addressed to userID.
func (s *Service) invitation(ctx context.Context, userID, id string) (Invitation, error) {
	invs, err := s.Invitations(ctx, userID)
	if err != nil {
		return Invitation{}, err
	}
	for _, inv := range invs {
		if inv.ID == id {
			return inv, nil
		}
	}
	return Invitation{}, ErrInvitationNotFound
}

// AcceptInvitation makes userID a member of the invitation's organization with its role and
// deletes the invitation. Only the account the invitation is addressed to can accept it.
func (s *Service) AcceptInvitation(ctx context.Context, userID, id string) (Invitation, error) {
	return s.acceptInvitation(ctx, userID, id, nil)
}

func (s *Service) acceptInvitation(ctx context.Context, userID, id string, rec Recorder) (Invitation, error) {
	inv, err := s.invitation(ctx, userID, id)
	if err != nil {
		return Invitation{}, err
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE id = ?`, inv.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return ErrInvitationNotFound // answered meanwhile
		}
		if err := insertMembership(ctx, tx, userID, inv.OrgID, inv.Role, s.now()); err != nil {
			return err
		}
		return record(ctx, tx, rec, Change{Invitation: inv})
	})
	if err != nil {
		return Invitation{}, err
	}
	return inv, nil
}

// DeclineInvitation deletes a pending invitation addressed to userID.
func (s *Service) DeclineInvitation(ctx context.Context, userID, id string) (Invitation, error) {
	return s.declineInvitation(ctx, userID, id, nil)
}

func (s *Service) declineInvitation(ctx context.Context, userID, id string, rec Recorder) (Invitation, error) {
	inv, err := s.invitation(ctx, userID, id)
	if err != nil {
		return Invitation{}, err
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE id = ?`, inv.ID)
		if err != nil {
			return err
		}
		// Only the call that declined the invitation records it (not one that lost a race).
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return record(ctx, tx, rec, Change{Invitation: inv})
	})
	if err != nil {
		return Invitation{}, fmt.Errorf("decline invitation: %w", err)
	}
	return inv, nil
}
