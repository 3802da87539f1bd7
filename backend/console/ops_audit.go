package console

import (
	"context"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
)

// ListAuditInput selects audit entries.
type ListAuditInput struct {
	Org string `json:"org"`
	// Limit is 1–500, default 100 (audit.MaxLimit, audit.DefaultLimit).
	Limit int `json:"limit" minimum:"0" maximum:"500"`
	// Before lists entries older than this entry id (from the previous page's NextBefore).
	Before int64 `json:"before"`
}

// AuditPage is a page of audit entries, newest first.
type AuditPage struct {
	Entries []audit.Entry `json:"entries"`
	// NextBefore is the Before of the next page; 0 when this is the last.
	NextBefore int64 `json:"nextBefore"`
}

// listAudit lists the organization's entries. Entries that belong to no organization (logins,
// failed logins, setup) name users of every organization, so only admins of the instance
// organization see them.
func (s *Service) listAudit(ctx context.Context, c *Call, in *ListAuditInput) (AuditPage, error) {
	limit := in.Limit
	if limit == 0 {
		limit = audit.DefaultLimit
	}
	inst, err := s.instanceOrg(ctx)
	if err != nil {
		return AuditPage{}, err
	}
	global := c.Principal.RoleIn(inst.ID) == auth.RoleAdmin
	es, err := s.Audit.List(ctx, audit.Filter{OrgID: in.Org, Global: global, Limit: limit, Before: in.Before})
	if err != nil {
		return AuditPage{}, err
	}
	p := AuditPage{Entries: es}
	if len(es) == limit {
		p.NextBefore = es[len(es)-1].ID
	}
	return p, nil
}
