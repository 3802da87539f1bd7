package console

import (
	"context"
	"slices"
	"sort"
)

// ListScopesInput names the organization whose keys the scopes are for.
type ListScopesInput struct {
	Org string `json:"org"`
}

// ScopeList is the answer of ListScopes, sorted by scope.
type ScopeList struct {
	Scopes []DeclaredScope `json:"scopes"`
}

// DeclaredScope is one scope some route requires, and the prefixes of the routes that name it
// (on the route itself or in its OpenAPI document).
type DeclaredScope struct {
	Scope  string   `json:"scope" required:"true"`
	Routes []string `json:"routes" required:"true"`
}

// listScopes offers the key dialog the scopes worth giving a key of the organization: those
// of the routes that serve its keys (routes bound to no organization, or to this one).
func (s *Service) listScopes(ctx context.Context, _ *Call, in *ListScopesInput) (ScopeList, error) {
	rs, err := s.Routes.List(ctx)
	if err != nil {
		return ScopeList{}, err
	}
	by := map[string][]string{}
	for _, r := range rs {
		if r.OrgID != "" && r.OrgID != in.Org {
			continue
		}
		for _, sc := range append(slices.Clone(r.Scopes), r.DocumentScopes.All()...) {
			if !slices.Contains(by[sc], r.Prefix) {
				by[sc] = append(by[sc], r.Prefix)
			}
		}
	}
	out := ScopeList{Scopes: []DeclaredScope{}}
	for sc, prefixes := range by {
		sort.Strings(prefixes)
		out.Scopes = append(out.Scopes, DeclaredScope{Scope: sc, Routes: prefixes})
	}
	sort.Slice(out.Scopes, func(i, j int) bool { return out.Scopes[i].Scope < out.Scopes[j].Scope })
	return out, nil
}
