package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/keygate/keygate/backend/mailaddr"
	"github.com/keygate/keygate/backend/ratelimit"
)

// attempts limits console sign-in attempts through the one rate limiter (backend/ratelimit):
// per account and per client address for logins; per client address for setup-token (and any
// future reset-link) attempts, on the same address counter as logins. An attempt is reserved
// before the password is hashed and given back when it succeeds, so a burst of any size gets at
// most the limit's password checks, and a user who types the password right is never held back
// by their own sign-ins.
type attempts struct {
	l          ratelimit.Limiter
	perAccount ratelimit.Rate
	perAddr    ratelimit.Rate

	mu sync.Mutex
	// refused holds, for a locked-out key, when its current lockout ends: a refusal before
	// then is a repeat (callers record only the first).
	refused map[string]time.Time
}

// maxTracked bounds the refusal map.
const maxTracked = 10_000

func newAttempts(l ratelimit.Limiter, perAccount, perAddr int, window time.Duration) *attempts {
	return &attempts{l: l, perAccount: ratelimit.Rate{Limit: perAccount, Window: window},
		perAddr: ratelimit.Rate{Limit: perAddr, Window: window}, refused: map[string]time.Time{}}
}

// accountKey is cut to the longest valid address (254 bytes): the address is as typed, before
// any validation, and a key of up to a request body's size would stay in memory for the window.
func accountKey(email string) string {
	email = strings.TrimSpace(email)
	if len(email) > 254 {
		email = email[:254]
	}
	// By the account's address key, so no spelling of one address (case, ß/ss, full width)
	// gets attempts of its own. Hashed: the field holds whatever was typed — a password in the
	// wrong box, a pasted key — and a shared limiter (Redis) stores its keys as they are.
	sum := sha256.Sum256([]byte(mailaddr.Key(email)))
	return "login:account:" + hex.EncodeToString(sum[:16])
}

func addrKey(addr string) string { return "login:addr:" + addr }

// reserve takes one attempt for the account (when email is not "") and the client address
// (when known). It returns release, to call when the attempt must not count, or a
// *RateLimitedError.
func (a *attempts) reserve(ctx context.Context, email, addr string, now time.Time) (func(), error) {
	var rs []ratelimit.Reservation
	if email != "" {
		rs = append(rs, ratelimit.Reservation{Key: accountKey(email), Rate: a.perAccount})
	}
	if addr != "" {
		rs = append(rs, ratelimit.Reservation{Key: addrKey(addr), Rate: a.perAddr})
	}
	d, release, err := ratelimit.Reserve(ctx, a.l, now, rs...)
	if err != nil {
		return nil, err
	}
	if d.Allowed {
		return release, nil
	}
	wait := max(d.RetryAfter, time.Second)
	return nil, &RateLimitedError{RetryAfter: wait, Repeated: a.refusedBefore(accountKey(email)+"\x00"+addr, now, wait)}
}

// refusedBefore reports whether key was refused earlier in the same lockout, and records this
// refusal. key is bounded (accountKey cuts the address), so it is looked up as it is stored.
func (a *attempts) refusedBefore(key string, now time.Time, wait time.Duration) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refused[key].After(now) {
		return true
	}
	if len(a.refused) >= maxTracked {
		for k, until := range a.refused {
			if !until.After(now) {
				delete(a.refused, k)
			}
		}
		if len(a.refused) >= maxTracked {
			clear(a.refused)
		}
	}
	a.refused[key] = now.Add(wait)
	return false
}
