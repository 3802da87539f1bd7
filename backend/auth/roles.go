package auth

import "github.com/keygate/keygate/backend/problem"

// Role is a user's standing in one organization.
type Role string

// The roles, from least to most trusted.
const (
	RoleMember    Role = "member"
	RoleDeveloper Role = "developer"
	RoleAdmin     Role = "admin"
)

// Roles lists every role, least trusted first.
var Roles = []Role{RoleMember, RoleDeveloper, RoleAdmin}

// ErrInvalidRole means a role other than admin, developer or member.
var ErrInvalidRole error = &problem.Invalid{Field: "role", Code: "invalid", Msg: "validation.role.invalid",
	Text: "role must be admin, developer or member"}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleMember, RoleDeveloper, RoleAdmin:
		return r, nil
	}
	return "", ErrInvalidRole
}

func (r Role) rank() int {
	switch r {
	case RoleMember:
		return 1
	case RoleDeveloper:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Need is what an operation requires of its caller.
type Need string

// The requirements, from none to most.
const (
	// NeedPublic needs nothing: login, first-admin setup, the message catalog.
	NeedPublic Need = "public"
	// NeedSignedIn needs a user (or the desktop's local user), with or without memberships.
	NeedSignedIn Need = "signedIn"
	// NeedAdminOfAny needs the admin role in at least one organization (creating organizations).
	NeedAdminOfAny Need = "adminOfAny"
	// NeedMember, NeedDeveloper and NeedAdmin need at least that role in the organization concerned.
	NeedMember    Need = "member"
	NeedDeveloper Need = "developer"
	NeedAdmin     Need = "admin"
)

// Role returns the least role that satisfies n, or "" when n is not about an organization.
func (n Need) Role() Role {
	switch n {
	case NeedMember:
		return RoleMember
	case NeedDeveloper:
		return RoleDeveloper
	case NeedAdmin, NeedAdminOfAny:
		return RoleAdmin
	}
	return ""
}

// Principal is who is calling: a signed-in user with their memberships, the desktop's local
// user (implicitly admin of every organization), or nobody.
type Principal struct {
	UserID string
	Email  string
	Name   string
	// Local is the desktop's OS user: no account, admin of every organization.
	Local bool
	// Roles maps organization ids to the user's role there.
	Roles map[string]Role
}

// Anonymous reports whether nobody is signed in.
func (p Principal) Anonymous() bool { return !p.Local && p.UserID == "" }

// RoleIn returns the principal's role in org ("" when not a member).
func (p Principal) RoleIn(org string) Role {
	if p.Local {
		return RoleAdmin
	}
	return p.Roles[org]
}

// May is the one answer to "who may do what": whether p satisfies need in org. org is only
// looked at for NeedMember, NeedDeveloper and NeedAdmin.
//
//	need        anonymous  signed in, no role  member  developer  admin  desktop
//	Public      yes        yes                 yes     yes        yes    yes
//	SignedIn    no         yes                 yes     yes        yes    yes
//	AdminOfAny  no         no                  no*     no*        yes*   yes   (* in any organization)
//	Member      no         no                  yes     yes        yes    yes
//	Developer   no         no                  no      yes        yes    yes
//	Admin       no         no                  no      no         yes    yes
func (p Principal) May(need Need, org string) bool {
	switch need {
	case NeedPublic:
		return true
	case NeedSignedIn:
		return !p.Anonymous()
	case NeedAdminOfAny:
		if p.Local {
			return true
		}
		for _, r := range p.Roles {
			if r == RoleAdmin {
				return true
			}
		}
		return false
	case NeedMember, NeedDeveloper, NeedAdmin:
		if p.Anonymous() || org == "" {
			return false
		}
		return p.RoleIn(org).rank() >= need.Role().rank()
	}
	return false
}
