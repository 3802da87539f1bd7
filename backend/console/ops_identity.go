package console

import (
	"context"
	"errors"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/identity"
)

// IdentityKeyList is the answer of ListIdentityKeys and RotateIdentityKey: the published
// signing keys, the active one first. Upstreams fetch the public keys from the gateway's
// /.well-known/jwks.json.
type IdentityKeyList struct {
	Keys []identity.Key `json:"keys"`
}

var errNoIdentity = errors.New("console has no identity service")

func (s *Service) listIdentityKeys(ctx context.Context, _ *Call, _ *NoInput) (IdentityKeyList, error) {
	if s.Identity == nil {
		return IdentityKeyList{}, errNoIdentity
	}
	ks, err := s.Identity.List(ctx)
	return IdentityKeyList{Keys: ks}, err
}

func (s *Service) rotateIdentityKey(ctx context.Context, c *Call, _ *NoInput) (IdentityKeyList, error) {
	if s.Identity == nil {
		return IdentityKeyList{}, errNoIdentity
	}
	ks, err := s.Identity.Rotate(ctx)
	if err != nil {
		return IdentityKeyList{}, err
	}
	if inst, err := s.instanceOrg(ctx); err == nil && len(ks) > 0 {
		s.record(ctx, c, inst.ID, audit.IdentityRotate, ks[0].ID, "previous key published until the next day")
	}
	return IdentityKeyList{Keys: ks}, nil
}
