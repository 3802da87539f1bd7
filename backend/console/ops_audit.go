package console

import (
	"context"
	"strings"

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
	// Action keeps one action (e.g. key.create); Actor one actor: a user's id or e-mail
	// address, cli, local or anonymous.
	Action string `json:"action" maxLength:"64"`
	Actor  string `json:"actor" maxLength:"256"`
	// From and To bound the time (RFC 3339): From inclusive, To exclusive.
	From string `json:"from" format:"date-time"`
	To   string `json:"to" format:"date-time"`
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
	if len(in.Action) > 64 {
		return AuditPage{}, invalid("action", "too_long", "validation.audit.filter.too_long", map[string]any{"Count": 64})
	}
	if len(in.Actor) > 256 {
		return AuditPage{}, invalid("actor", "too_long", "validation.audit.filter.too_long", map[string]any{"Count": 256})
	}
	from, err := parseTime("from", in.From)
	if err != nil {
		return AuditPage{}, err
	}
	to, err := parseTime("to", in.To)
	if err != nil {
		return AuditPage{}, err
	}
	es, err := s.Audit.List(ctx, audit.Filter{OrgID: in.Org, Global: global, Limit: limit, Before: in.Before,
		Action: strings.TrimSpace(in.Action), Actor: strings.TrimSpace(in.Actor), From: from, To: to})
	if err != nil {
		return AuditPage{}, err
	}
	p := AuditPage{Entries: es}
	if len(es) == limit {
		p.NextBefore = es[len(es)-1].ID
	}
	return p, nil
}
