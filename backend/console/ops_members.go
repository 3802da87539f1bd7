package console

import (
	"context"
	"database/sql"
	"errors"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
)

// MemberList is the answer of ListMembers.
type MemberList struct {
	Members []auth.Member `json:"members"`
}

// AddMemberInput invites an address to an organization. Password is only for the instance's
// admins creating a new account (an admin never sets the password of an account that may
// belong to other organizations).
type AddMemberInput struct {
	Org      string `json:"org"`
	Email    string `json:"email" required:"true" format:"email"`
	Name     string `json:"name"`
	Role     string `json:"role" required:"true" enum:"admin,developer,member"`
	Password string `json:"password" format:"password" doc:"Instance admins only, to create a new account: 10 to 256 characters. Without it the address is invited."`
}

// ChangeMemberRoleInput changes a member's role.
type ChangeMemberRoleInput struct {
	UserID string `json:"userId"`
	Org    string `json:"org"`
	Role   string `json:"role" required:"true" enum:"admin,developer,member"`
}

// MemberInput names a member.
type MemberInput struct {
	UserID string `json:"userId"`
	Org    string `json:"org"`
}

func (s *Service) listMembers(ctx context.Context, _ *Call, in *OrgInput) (MemberList, error) {
	ms, err := s.Auth.Members(ctx, in.Org)
	return MemberList{Members: ms}, err
}

// addMember invites an address to an organization (security class 9). An account joins only
// when it accepts the invitation while signed in, and the answer is the same whether or not an
// account has the address: an admin of one organization learns nothing about other accounts.
// The instance's admins (who can list every account anyway) may still create a new account
// with a password; for anyone else a password is refused whatever the address.
func (s *Service) addMember(ctx context.Context, c *Call, in *AddMemberInput) (auth.Member, error) {
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		return auth.Member{}, err
	}
	email, err := auth.ValidEmail(in.Email)
	if err != nil {
		return auth.Member{}, err
	}
	if in.Password != "" {
		return s.createMember(ctx, c, in, email, role)
	}
	inv, err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		return s.recordTx(ctx, tx, c, in.Org, audit.MemberInvite, ch.Invitation.ID, ch.Invitation.Email+" as "+string(ch.Invitation.Role))
	}).Invite(ctx, in.Org, email, role, c.actor())
	if err != nil {
		return auth.Member{}, err
	}
	s.Audit.Committed(ctx)
	return auth.Member{Email: inv.Email, Role: inv.Role, CreatedAt: inv.CreatedAt, Invited: true}, nil
}

// createMember creates a new account with a membership: instance admins only.
func (s *Service) createMember(ctx context.Context, c *Call, in *AddMemberInput, email string, role auth.Role) (auth.Member, error) {
	inst, err := s.instanceOrg(ctx)
	if err != nil {
		return auth.Member{}, err
	}
	if c.Principal.RoleIn(inst.ID) != auth.RoleAdmin {
		return auth.Member{}, invalid("password", "not_allowed", "validation.member.password.invite", nil)
	}
	if _, err := s.Auth.UserByEmail(ctx, email); err == nil {
		return auth.Member{}, invalid("password", "not_allowed", "validation.member.password.existing", nil)
	} else if !errors.Is(err, auth.ErrUserNotFound) {
		return auth.Member{}, err
	}
	u, err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		if err := s.recordTx(ctx, tx, c, in.Org, audit.UserCreate, ch.User.ID, ch.User.Email); err != nil {
			return err
		}
		return s.recordTx(ctx, tx, c, in.Org, audit.MemberAdd, ch.Member.UserID, ch.Member.Email+" as "+string(ch.Member.Role))
	}).CreateUser(ctx, auth.NewUser{Email: email, Name: in.Name, Password: in.Password, OrgID: in.Org, Role: role})
	if err != nil {
		return auth.Member{}, err
	}
	s.Audit.Committed(ctx)
	return s.Auth.Member(ctx, in.Org, u.ID)
}

// InvitationInput names one of the caller's invitations.
type InvitationInput struct {
	ID string `json:"id"`
}

func (s *Service) acceptInvitation(ctx context.Context, c *Call, in *InvitationInput) (auth.Invitation, error) {
	if c.Principal.Local {
		return auth.Invitation{}, auth.ErrInvitationNotFound
	}
	inv, err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		inv := ch.Invitation
		return s.recordTx(ctx, tx, c, inv.OrgID, audit.InvitationAccept, c.Principal.UserID, inv.Email+" as "+string(inv.Role))
	}).AcceptInvitation(ctx, c.Principal.UserID, in.ID)
	if err != nil {
		return auth.Invitation{}, err
	}
	s.Audit.Committed(ctx)
	return inv, nil
}

func (s *Service) declineInvitation(ctx context.Context, c *Call, in *InvitationInput) (auth.Invitation, error) {
	if c.Principal.Local {
		return auth.Invitation{}, auth.ErrInvitationNotFound
	}
	inv, err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		return s.recordTx(ctx, tx, c, ch.Invitation.OrgID, audit.InvitationDecline, c.Principal.UserID, ch.Invitation.Email)
	}).DeclineInvitation(ctx, c.Principal.UserID, in.ID)
	if err != nil {
		return auth.Invitation{}, err
	}
	s.Audit.Committed(ctx)
	return inv, nil
}

func (s *Service) changeMemberRole(ctx context.Context, c *Call, in *ChangeMemberRoleInput) (auth.Member, error) {
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		return auth.Member{}, err
	}
	m, err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		m := ch.Member
		return s.recordTx(ctx, tx, c, in.Org, audit.MemberRole, m.UserID, m.Email+": "+string(ch.OldRole)+" → "+string(m.Role))
	}).ChangeRole(ctx, in.Org, in.UserID, role)
	if err != nil {
		return auth.Member{}, err
	}
	s.Audit.Committed(ctx)
	return m, nil
}

func (s *Service) removeMember(ctx context.Context, c *Call, in *MemberInput) (Empty, error) {
	_, err := s.Auth.Recording(func(ctx context.Context, tx *sql.Tx, ch auth.Change) error {
		m := ch.Member
		return s.recordTx(ctx, tx, c, in.Org, audit.MemberRemove, m.UserID, m.Email+" was "+string(m.Role))
	}).RemoveMembership(ctx, in.Org, in.UserID)
	if err != nil {
		return Empty{}, err
	}
	s.Audit.Committed(ctx)
	return Empty{}, nil
}
