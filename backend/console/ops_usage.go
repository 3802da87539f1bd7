package console

import (
	"context"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/usage"
)

// GetUsageInput selects usage rollups: an organization's traffic, optionally of one key or
// route, over a time range cut into buckets.
type GetUsageInput struct {
	Org    string `json:"org"`
	KeyID  string `json:"keyId" doc:"Only requests made with this key."`
	Route  string `json:"route" doc:"Only requests of the route with this prefix."`
	From   string `json:"from" doc:"RFC 3339 date and time; default an hour before to. Rounded down to its minute."`
	To     string `json:"to" doc:"RFC 3339 date and time; default now."`
	Bucket string `json:"bucket" doc:"Bucket width: minutes, hours or days such as 1m, 5m, 1h, 1d (1m to 31d, at most 1500 buckets); default one giving at most 60 buckets."`
}

// GetUsageTopInput asks for the keys or routes with the most requests over a time range.
type GetUsageTopInput struct {
	Org  string `json:"org"`
	From string `json:"from" doc:"RFC 3339 date and time; default an hour before to."`
	To   string `json:"to" doc:"RFC 3339 date and time; default now."`
	By   string `json:"by" required:"true" enum:"key,route" doc:"Group by key or by route."`
	// Limit is 1–50, default 10.
	Limit int `json:"limit" minimum:"0" maximum:"50"`
}

// UsageTop is the answer of GetUsageTop: most requests first.
type UsageTop struct {
	Items []usage.TopItem `json:"items"`
}

// usageFilter scopes a usage query to the call's organization; the requests no organization
// can be told from are the instance organization's admins' to see, as in the request log.
func (s *Service) usageFilter(ctx context.Context, c *Call, org string) (usage.Filter, error) {
	inst, err := s.instanceOrg(ctx)
	if err != nil {
		return usage.Filter{}, err
	}
	return usage.Filter{OrgID: org, IncludeAnonymous: org == inst.ID && c.Principal.RoleIn(inst.ID) == auth.RoleAdmin}, nil
}

func (s *Service) getUsage(ctx context.Context, c *Call, in *GetUsageInput) (usage.Series, error) {
	r, err := usage.ParseRange(in.From, in.To, in.Bucket, s.Clock.Now())
	if err != nil {
		return usage.Series{}, err
	}
	f, err := s.usageFilter(ctx, c, in.Org)
	if err != nil {
		return usage.Series{}, err
	}
	f.KeyID, f.Route = in.KeyID, in.Route
	return usage.Query(ctx, s.Store, f, r)
}

func (s *Service) getUsageTop(ctx context.Context, c *Call, in *GetUsageTopInput) (UsageTop, error) {
	r, err := usage.ParseRange(in.From, in.To, "", s.Clock.Now())
	if err != nil {
		return UsageTop{}, err
	}
	f, err := s.usageFilter(ctx, c, in.Org)
	if err != nil {
		return UsageTop{}, err
	}
	items, err := usage.Top(ctx, s.Store, f, r, in.By, in.Limit)
	if err != nil {
		return UsageTop{}, err
	}
	return UsageTop{Items: items}, nil
}
