// Package auth holds console accounts: users with argon2id password hashes, their roles in
// organizations, sessions, CSRF checks, the one-time setup token for the first admin, and the
// login rate limit. Principal.May is the one place that says who may do what.
package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/ratelimit"
	"github.com/keygate/keygate/backend/store"
)

var (
	// ErrInvalidEmail means an address that is not a plain e-mail address.
	ErrInvalidEmail error = &problem.Invalid{Field: "email", Code: "invalid", Msg: "validation.email.invalid",
		Text: "e-mail address is not valid"}
	// ErrInvalidName means a display name longer than 64 characters or with control characters.
	ErrInvalidName error = &problem.Invalid{Field: "name", Code: "invalid", Msg: "validation.user.name.invalid", Data: map[string]any{"Count": 64},
		Text: "name must be at most 64 characters"}
	// ErrEmailTaken means another user already has that e-mail address.
	ErrEmailTaken = errors.New("a user with that e-mail address already exists")
	// ErrUserNotFound means no user has that id or address.
	ErrUserNotFound = errors.New("user not found")
	// ErrNotMember means the user has no membership in that organization.
	ErrNotMember = errors.New("user is not a member of that organization")
	// ErrAlreadyMember means the user is already a member of that organization.
	ErrAlreadyMember = errors.New("user is already a member of that organization")
	// ErrLastAdmin means the change would leave an organization without an admin.
	ErrLastAdmin = errors.New("an organization must keep at least one admin")
	// ErrBadCredentials means the e-mail address or the password is wrong (never which).
	ErrBadCredentials = errors.New("e-mail address or password is wrong")
	// ErrNoSession means the cookie names no live session: unknown, expired or revoked.
	ErrNoSession = errors.New("no valid session")
	// ErrSetupToken means the setup token is unknown, used or expired.
	ErrSetupToken error = &problem.Invalid{Field: "token", Code: "invalid", Msg: "validation.setup.token.invalid",
		Text: "setup token is invalid, used or expired"}
	// ErrSetupDone means an admin exists already, so there is nothing to set up.
	ErrSetupDone = errors.New("setup is done: an admin exists")
	// ErrInvalidTheme means a theme other than light, dark or system.
	ErrInvalidTheme error = &problem.Invalid{Field: "theme", Code: "invalid", Msg: "validation.theme.invalid",
		Text: "theme must be light, dark or system"}
)

// RateLimitedError means too many sign-in (or setup-token) attempts; try again after RetryAfter. Repeated says an
// earlier attempt was already refused in the same lockout, so that callers can record the first
// refusal and not every one (refusals cost an attacker nothing).
type RateLimitedError struct {
	RetryAfter time.Duration
	Repeated   bool
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %s", e.RetryAfter.Round(time.Second))
}

// Service manages users, memberships, sessions and setup tokens in a store.
type Service struct {
	st          *store.Store
	clock       clock.Clock
	params      PasswordParams
	idle        time.Duration
	absolute    time.Duration
	setupTTL    time.Duration
	attempts    *attempts
	limiter     ratelimit.Limiter
	loginLimits [2]int
	loginWindow time.Duration
	hashSlots   chan struct{}
	dummyHash   func() (string, error)
	touchPeriod time.Duration
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock for expiry and rate limiting.
func WithClock(c clock.Clock) Option { return func(s *Service) { s.clock = c } }

// WithPasswordParams sets the argon2id cost of new hashes (tests use cheap ones).
func WithPasswordParams(p PasswordParams) Option { return func(s *Service) { s.params = p } }

// WithSessionLifetime sets the idle and absolute session expiry.
func WithSessionLifetime(idle, absolute time.Duration) Option {
	return func(s *Service) { s.idle, s.absolute = idle, absolute }
}

// WithLoginLimits sets how many sign-in attempts per account and per client address are
// allowed within window (a burst of that many, then one per window/limit) before further
// attempts are refused. Successful ones are given back. Setup-token attempts count on the
// per-address limit.
func WithLoginLimits(perAccount, perAddr int, window time.Duration) Option {
	return func(s *Service) { s.loginLimits, s.loginWindow = [2]int{perAccount, perAddr}, window }
}

// WithLimiter sets the rate limiter the attempt limits count in (default: an in-process
// ratelimit.Memory); `keygate serve` gives the gateway and the console the same one.
func WithLimiter(l ratelimit.Limiter) Option { return func(s *Service) { s.limiter = l } }

// Defaults.
const (
	DefaultIdleTimeout     = 12 * time.Hour
	DefaultAbsoluteTimeout = 7 * 24 * time.Hour
	SetupTokenLifetime     = 15 * time.Minute
)

// New returns a Service over st.
func New(st *store.Store, opts ...Option) (*Service, error) {
	s := &Service{
		st:          st,
		clock:       clock.Real{},
		params:      DefaultPasswordParams,
		idle:        DefaultIdleTimeout,
		absolute:    DefaultAbsoluteTimeout,
		setupTTL:    SetupTokenLifetime,
		loginLimits: [2]int{5, 20},
		loginWindow: 15 * time.Minute,
		touchPeriod: time.Minute,
		// At most four argon2id computations at once: each takes Memory KiB, and a burst
		// of logins must not exhaust the machine's memory.
		hashSlots: make(chan struct{}, 4),
	}
	for _, o := range opts {
		o(s)
	}
	if s.limiter == nil {
		s.limiter = ratelimit.NewMemory(100_000)
	}
	s.attempts = newAttempts(s.limiter, s.loginLimits[0], s.loginLimits[1], s.loginWindow)
	// A login for an unknown address still checks a password against this hash, so that the
	// answer's timing does not tell which addresses have accounts. Made on first need: the CLI
	// rarely logs anyone in.
	s.dummyHash = sync.OnceValues(func() (string, error) { return HashPassword("keygate-dummy-password", s.params) })
	if s.idle <= 0 || s.absolute <= 0 || s.idle > s.absolute {
		return nil, errors.New("session lifetimes must be positive and idle must not exceed absolute")
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return HashPassword(pw, s.params)
}

func (s *Service) check(ctx context.Context, phc, pw string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	return CheckPassword(phc, pw)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) release() { <-s.hashSlots }
