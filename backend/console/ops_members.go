package console

import (
	"context"
	"errors"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
)

// MemberList is the answer of ListMembers.
type MemberList struct {
	Members []auth.Member `json:"members"`
}

// AddMemberInput adds a user to an organization. For a new address the account is created
// with Password; for an existing one Password must be empty (an admin never sets the
// password of an account that may belong to other organizations).
type AddMemberInput struct {
	Org      string `json:"org"`
	Email    string `json:"email" required:"true" format:"email"`
	Name     string `json:"name"`
	Role     string `json:"role" required:"true" enum:"admin,developer,member"`
	Password string `json:"password" format:"password" doc:"Only for a new account: 10 to 256 characters."`
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

func (s *Service) addMember(ctx context.Context, c *Call, in *AddMemberInput) (auth.Member, error) {
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		return auth.Member{}, err
	}
	email, err := auth.ValidEmail(in.Email)
	if err != nil {
		return auth.Member{}, err
	}
	var m auth.Member
	existing, err := s.Auth.UserByEmail(ctx, email)
	switch {
	case err == nil:
		if in.Password != "" {
			return auth.Member{}, invalid("password", "not_allowed", "validation.member.password.existing", nil)
		}
		if m, err = s.Auth.AddMembership(ctx, existing.ID, in.Org, role); err != nil {
			return auth.Member{}, err
		}
	case errors.Is(err, auth.ErrUserNotFound):
		if in.Password == "" {
			return auth.Member{}, invalid("password", "required", "validation.member.password.required", nil)
		}
		u, err := s.Auth.CreateUser(ctx, auth.NewUser{Email: email, Name: in.Name, Password: in.Password, OrgID: in.Org, Role: role})
		if err != nil {
			return auth.Member{}, err
		}
		s.record(ctx, c, in.Org, audit.UserCreate, u.ID, u.Email)
		if m, err = s.Auth.Member(ctx, in.Org, u.ID); err != nil {
			return auth.Member{}, err
		}
	default:
		return auth.Member{}, err
	}
	s.record(ctx, c, in.Org, audit.MemberAdd, m.UserID, m.Email+" as "+string(m.Role))
	return m, nil
}

func (s *Service) changeMemberRole(ctx context.Context, c *Call, in *ChangeMemberRoleInput) (auth.Member, error) {
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		return auth.Member{}, err
	}
	old, err := s.Auth.Member(ctx, in.Org, in.UserID)
	if err != nil {
		return auth.Member{}, err
	}
	m, err := s.Auth.ChangeRole(ctx, in.Org, in.UserID, role)
	if err != nil {
		return auth.Member{}, err
	}
	if old.Role != m.Role {
		s.record(ctx, c, in.Org, audit.MemberRole, m.UserID, m.Email+": "+string(old.Role)+" → "+string(m.Role))
	}
	return m, nil
}

func (s *Service) removeMember(ctx context.Context, c *Call, in *MemberInput) (Empty, error) {
	m, err := s.Auth.RemoveMembership(ctx, in.Org, in.UserID)
	if err != nil {
		return Empty{}, err
	}
	s.record(ctx, c, in.Org, audit.MemberRemove, m.UserID, m.Email+" was "+string(m.Role))
	return Empty{}, nil
}
