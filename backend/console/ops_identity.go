package console

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/identity"
)

// IdentityKeyList is the answer of ListIdentityKeys and RotateIdentityKey: the published
// signing keys, the next one first (while a rotation is under way), then the one that signs,
// then the retiring ones. Upstreams fetch the public keys from the gateway's
// /.well-known/jwks.json.
type IdentityKeyList struct {
	Keys []identity.Key `json:"keys"`
	// MaxAge is how long upstreams may cache the key set, in seconds — the longer of this
	// process's and the one the running server advertises: a rotated key signs that long
	// after the rotation.
	MaxAge int `json:"maxAge"`
}

// RotateIdentityKeyInput is what RotateIdentityKey takes.
type RotateIdentityKeyInput struct {
	// Now makes the new key sign at once (an emergency: the current key is compromised);
	// upstreams that cached the key set refuse its tokens until they fetch it again (up to
	// maxAge seconds). Without it the new key is published at once and signs maxAge later.
	Now bool `json:"now"`
}

var errNoIdentity = errors.New("console has no identity service")

func (s *Service) listIdentityKeys(ctx context.Context, _ *Call, _ *NoInput) (IdentityKeyList, error) {
	if s.Identity == nil {
		return IdentityKeyList{}, errNoIdentity
	}
	ks, err := s.Identity.List(ctx)
	if err != nil {
		return IdentityKeyList{}, err
	}
	return s.identityKeyList(ctx, ks)
}

// identityKeyList is ks with the max-age a rotation waits for (identity.Service.Lead).
func (s *Service) identityKeyList(ctx context.Context, ks []identity.Key) (IdentityKeyList, error) {
	lead, err := s.Identity.Lead(ctx)
	if err != nil {
		return IdentityKeyList{}, err
	}
	return IdentityKeyList{Keys: ks, MaxAge: int(lead / time.Second)}, nil
}

func (s *Service) rotateIdentityKey(ctx context.Context, c *Call, in *RotateIdentityKeyInput) (IdentityKeyList, error) {
	if s.Identity == nil {
		return IdentityKeyList{}, errNoIdentity
	}
	inst, err := s.instanceOrg(ctx)
	if err != nil {
		return IdentityKeyList{}, err
	}
	r, err := s.Identity.RotateRecorded(ctx, in.Now, func(ctx context.Context, tx *sql.Tx, k identity.Key) error {
		detail := "signs from " + k.SignsFrom.Format(time.RFC3339) + "; the previous key stays published for 24 hours after it stops signing"
		if in.Now {
			detail = "emergency: signs at once; the previous key stays published for 24 hours"
		}
		return s.recordTx(ctx, tx, c, inst.ID, audit.IdentityRotate, k.ID, detail)
	})
	if err != nil {
		return IdentityKeyList{}, err
	}
	s.Audit.Committed(ctx)
	return s.identityKeyList(ctx, r.Keys)
}
