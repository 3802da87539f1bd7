package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Change is what an account change did, for its Recorder; only the fields of that change are
// set. It never holds a password, a hash or a token.
type Change struct {
	// User is the account created, removed or given a new password.
	User User
	// Member is the membership as the change left it (as it was, for a removal).
	Member Member
	// OldRole is a role change's previous role.
	OldRole Role
	// Invitation is the invitation issued, accepted or declined.
	Invitation Invitation
	// Reset is a password reset link issued (its expiry; never its token).
	Reset PasswordReset
}

// Recorder records an account change in the change's own transaction tx (the audit entry),
// so that the change and its record commit together or not at all; its error rolls the change
// back and is returned by the change. A Recorder must not use the store outside tx.
type Recorder func(ctx context.Context, tx *sql.Tx, c Change) error

// Changes are the account changes that record themselves: each calls its Recorder, in the
// change's transaction, when and only when it changed something.
type Changes struct {
	s   *Service
	rec Recorder
}

// Recording returns the account changes of s that record themselves with rec. The Service's
// own methods of the same names record nothing.
func (s *Service) Recording(rec Recorder) Changes { return Changes{s: s, rec: rec} }

// Invite is Service.Invite, recorded.
func (c Changes) Invite(ctx context.Context, orgID, email string, role Role, inviter string) (Invitation, error) {
	return c.s.invite(ctx, orgID, email, role, inviter, c.rec)
}

// AcceptInvitation is Service.AcceptInvitation, recorded.
func (c Changes) AcceptInvitation(ctx context.Context, userID, id string) (Invitation, error) {
	return c.s.acceptInvitation(ctx, userID, id, c.rec)
}

// DeclineInvitation is Service.DeclineInvitation, recorded when this call declined it.
func (c Changes) DeclineInvitation(ctx context.Context, userID, id string) (Invitation, error) {
	return c.s.declineInvitation(ctx, userID, id, c.rec)
}

// CreateUser is Service.CreateUser, recorded with the account and its membership, if any.
func (c Changes) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	return c.s.createUser(ctx, nu, c.rec)
}

// ChangeRole is Service.ChangeRole, recorded when the role changed.
func (c Changes) ChangeRole(ctx context.Context, orgID, userID string, role Role) (Member, error) {
	return c.s.changeRole(ctx, orgID, userID, role, c.rec)
}

// RemoveMembership is Service.RemoveMembership, recorded.
func (c Changes) RemoveMembership(ctx context.Context, orgID, userID string) (Member, error) {
	return c.s.removeMembership(ctx, orgID, userID, c.rec)
}

// DeleteUser is Service.DeleteUser, recorded.
func (c Changes) DeleteUser(ctx context.Context, userID string) (User, error) {
	return c.s.deleteUser(ctx, userID, c.rec)
}

// SetPassword is Service.SetPassword, recorded.
func (c Changes) SetPassword(ctx context.Context, userID, password string) (User, error) {
	return c.s.setPassword(ctx, userID, password, c.rec)
}

// ChangePassword is Service.ChangePassword, recorded when the password changed (a wrong
// current password changes nothing and records nothing).
func (c Changes) ChangePassword(ctx context.Context, userID, current, next, keepSession string) (User, error) {
	return c.s.changePassword(ctx, userID, current, next, keepSession, c.rec)
}

// NewPasswordReset is Service.NewPasswordReset, recorded.
func (c Changes) NewPasswordReset(ctx context.Context, issuer Principal, userID string) (PasswordReset, error) {
	return c.s.newPasswordReset(ctx, issuer, userID, c.rec)
}

// ResetPassword is Service.ResetPassword, recorded when the token was spent.
func (c Changes) ResetPassword(ctx context.Context, token, password, clientAddr string) (User, error) {
	return c.s.resetPasswordWith(ctx, token, password, clientAddr, c.rec)
}

// Login is Service.Login, recorded (with the account) in the transaction that starts the
// session; bad credentials change nothing and record nothing.
func (c Changes) Login(ctx context.Context, email, password, clientAddr, previous string) (string, Session, User, error) {
	return c.s.login(ctx, email, password, clientAddr, previous, c.rec)
}

// StartSession is Service.StartSession, recorded (with the account).
func (c Changes) StartSession(ctx context.Context, userID, previous string) (string, Session, error) {
	return c.s.startSession(ctx, userID, previous, c.rec)
}

// Logout is Service.Logout, recorded (an empty Change) in the transaction that ends the
// session; no token, no session to end, nothing recorded.
func (c Changes) Logout(ctx context.Context, token string) error {
	return c.s.logout(ctx, token, c.rec)
}

// CompleteSetup is Service.CompleteSetup, recorded with the first admin.
func (c Changes) CompleteSetup(ctx context.Context, token string, nu NewUser, orgIDs []string, clientAddr string) (User, error) {
	return c.s.completeSetupWith(ctx, token, nu, orgIDs, clientAddr, c.rec)
}

func record(ctx context.Context, tx *sql.Tx, rec Recorder, c Change) error {
	if rec == nil {
		return nil
	}
	return rec(ctx, tx, c)
}

// memberTx reads one membership as tx has it.
func memberTx(ctx context.Context, tx *sql.Tx, orgID, userID string) (Member, error) {
	var m Member
	var role string
	var created int64
	err := tx.QueryRowContext(ctx, `SELECT u.id, u.email, u.name, m.role, m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? AND m.user_id = ?`, orgID, userID).
		Scan(&m.UserID, &m.Email, &m.Name, &role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, ErrNotMember
	}
	if err != nil {
		return Member{}, fmt.Errorf("read member: %w", err)
	}
	m.Role, m.CreatedAt = Role(role), time.UnixMilli(created).UTC()
	return m, nil
}
