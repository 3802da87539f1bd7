package console

import (
	"context"
	"database/sql"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/orgs"
)

// OrgView is an organization with the caller's role in it.
type OrgView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	KeyPrefix string    `json:"keyPrefix"`
	CreatedAt time.Time `json:"createdAt"`
	Role      auth.Role `json:"role" enum:"admin,developer,member"`
}

// OrgList is the answer of ListOrgs.
type OrgList struct {
	Orgs []OrgView `json:"orgs"`
}

// OrgInput names an organization.
type OrgInput struct {
	Org string `json:"org"`
}

// CreateOrgInput creates an organization.
type CreateOrgInput struct {
	Name string `json:"name" required:"true"`
}

// RenameOrgInput renames an organization.
type RenameOrgInput struct {
	Org  string `json:"org"`
	Name string `json:"name" required:"true"`
}

func view(o orgs.Org, r auth.Role) OrgView {
	return OrgView{ID: o.ID, Name: o.Name, KeyPrefix: o.KeyPrefix, CreatedAt: o.CreatedAt, Role: r}
}

// orgViews lists the caller's organizations in orgs.List order (the instance organization
// first), the order firstOrg uses, so that the first one shown is the one an empty org field
// means.
func (s *Service) orgViews(ctx context.Context, p auth.Principal) ([]OrgView, error) {
	all, err := s.Orgs.List(ctx)
	if err != nil {
		return nil, err
	}
	out := []OrgView{}
	for _, o := range all {
		if r := p.RoleIn(o.ID); r != "" {
			out = append(out, view(o, r))
		}
	}
	return out, nil
}

func (s *Service) listOrgs(ctx context.Context, c *Call, _ *NoInput) (OrgList, error) {
	v, err := s.orgViews(ctx, c.Principal)
	return OrgList{Orgs: v}, err
}

func (s *Service) createOrg(ctx context.Context, c *Call, in *CreateOrgInput) (OrgView, error) {
	// The organization, its creator's membership and its entry are one transaction.
	o, err := s.Orgs.Recording(func(ctx context.Context, tx *sql.Tx, _, o orgs.Org) error {
		if !c.Principal.Local {
			if err := s.Auth.AddMembershipTx(ctx, tx, c.Principal.UserID, o.ID, auth.RoleAdmin); err != nil {
				return err
			}
		}
		return s.recordTx(ctx, tx, c, o.ID, audit.OrgCreate, o.ID, o.Name)
	}).Create(ctx, in.Name)
	if err != nil {
		return OrgView{}, err
	}
	s.Audit.Committed(ctx)
	return view(o, auth.RoleAdmin), nil
}

func (s *Service) getOrg(ctx context.Context, c *Call, in *OrgInput) (OrgView, error) {
	o, err := s.Orgs.Get(ctx, in.Org)
	if err != nil {
		return OrgView{}, err
	}
	return view(o, c.Principal.RoleIn(o.ID)), nil
}

func (s *Service) renameOrg(ctx context.Context, c *Call, in *RenameOrgInput) (OrgView, error) {
	o, err := s.Orgs.Recording(func(ctx context.Context, tx *sql.Tx, old, o orgs.Org) error {
		return s.recordTx(ctx, tx, c, o.ID, audit.OrgRename, o.ID, quote(old.Name)+" → "+quote(o.Name))
	}).Rename(ctx, in.Org, in.Name)
	if err != nil {
		return OrgView{}, err
	}
	s.Audit.Committed(ctx)
	return view(o, c.Principal.RoleIn(o.ID)), nil
}

func quote(s string) string { return "\"" + s + "\"" }
