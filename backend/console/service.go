// Package console is Keygate's management API: the one operation table (operations.go), its
// HTTP handler for /api/v1/… with the SPA, metrics and OpenAPI documents beside it, and Local,
// which runs the same operations for the desktop window's bound methods.
package console

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"reflect"
	"sync"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/identity"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/listen"
	"github.com/keygate/keygate/backend/orgs"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/store"
	"github.com/keygate/keygate/backend/webhooks"
)

// Deps are the services the console calls. Gateway is optional (status then says "not
// running" and start/stop are unsupported).
type Deps struct {
	Store  *store.Store
	Clock  clock.Clock
	Keys   *keys.Service
	Orgs   *orgs.Service
	Auth   *auth.Service
	Audit  *audit.Log
	Routes *routes.Service
	// Identity keeps the gateway's identity signing keys (optional: without it the identity
	// operations answer 404 UNSUPPORTED).
	Identity *identity.Service
	// Webhooks is the organizations' webhook endpoints and deliveries (optional: see New).
	Webhooks *webhooks.Service
	I18n     *i18n.Bundle
	Gateway  Gateway
	Logger   *slog.Logger
	// Desktop selects desktop mode: the local OS user is the implicit admin of every
	// organization and there are no logins.
	Desktop bool
	// Listen says how the host chose its listeners' addresses (nil: it has no such listener).
	Listen Listeners
}

// Listeners are the host's listen addresses and what chose them, for the ports operations.
type Listeners struct {
	// Gateway is the gateway's address when the host built it (its current address is the
	// gateway's own status).
	Gateway *listen.Choice
	// Console is the console listener's bound address (`keygate serve`); nil on the desktop,
	// whose window calls the console in-process.
	Console *listen.Choice
}

// Service runs console operations.
type Service struct {
	Deps
	// localName is the desktop's OS user name, looked up on first use.
	localName func() string
}

// New checks the operation table and deps and returns a Service.
func New(d Deps) (*Service, error) {
	if err := checkTable(table); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Keys == nil || d.Orgs == nil || d.Auth == nil || d.Audit == nil || d.Routes == nil {
		return nil, errors.New("console: store, keys, orgs, auth, audit and routes are required")
	}
	if d.Webhooks == nil {
		// Not wired by instance.Open (a test's own console): endpoints can be listed but not
		// added (no secrets key), and no key change is queued (no audit hook).
		d.Webhooks = webhooks.New(d.Store, webhooks.Options{Clock: d.Clock, Keys: d.Keys, Logger: d.Logger})
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &Service{Deps: d, localName: sync.OnceValue(func() string {
		if u, err := user.Current(); err == nil {
			return u.Username
		}
		return "local"
	})}
	return s, nil
}

// Call is one operation's caller and the facts the HTTP layer or the desktop binding found
// out about them.
type Call struct {
	Principal  auth.Principal
	ClientAddr string
	// Lang is the language of problem details (already matched to a shipped one).
	Lang string

	cli     bool          // the command line: audited as "cli"
	accept  string        // the Accept-Language header, if any
	token   string        // the session cookie's value, if any
	session *auth.Session // the live session, if any
	// newSession is set by login and setup: the HTTP layer sets the cookie.
	newSession *startedSession
	endSession bool
}

type startedSession struct {
	token   string
	session auth.Session
}

func (c *Call) actor() string {
	if c.cli {
		return audit.ActorCLI
	}
	if c.Principal.Local {
		return audit.ActorLocal
	}
	if c.Principal.UserID != "" {
		return c.Principal.UserID
	}
	return audit.ActorAnon
}

// createdBy is what a key's "created by" column shows.
func (c *Call) createdBy() string {
	if c.cli {
		return audit.ActorCLI
	}
	if c.Principal.Local {
		return audit.ActorLocal
	}
	return c.Principal.Email
}

// execute checks the caller against the operation's requirement and runs it.
func (s *Service) execute(ctx context.Context, o Operation, c *Call, in any) (any, error) {
	switch {
	case o.Mode == ModeDesktop && !s.Desktop, o.Mode == ModeServe && s.Desktop, o.Mode == ModeCLI && !c.cli:
		return nil, &Error{Status: 400, Code: problem.CodeUnsupported, Msg: "problem.UNSUPPORTED.mode.detail"}
	}
	if o.Need != auth.NeedPublic && c.Principal.Anonymous() {
		return nil, errUnauthenticated
	}
	org := ""
	switch o.Scope {
	case ScopeOrg:
		f := reflect.ValueOf(in).Elem().FieldByName("Org")
		org = f.String()
		if org == "" {
			first, err := s.firstOrg(ctx, c.Principal)
			if err != nil {
				return nil, err
			}
			org = first
			f.SetString(org)
		}
	case ScopeInstance:
		o, err := s.instanceOrg(ctx)
		if err != nil {
			return nil, err
		}
		org = o.ID
	}
	if !c.Principal.May(o.Need, org) {
		// Every refusal for want of a role is audited (actor, operation, organization): a
		// member probing for admin operations shows up in the organization's audit log.
		s.record(ctx, c, org, audit.AccessDenied, o.Name, "needs "+string(o.Need))
		return nil, errForbidden
	}
	// The desktop user may name any organization; an unknown one is NOT_FOUND. (A user who is
	// no member already got FORBIDDEN, which says nothing about whether it exists.)
	if o.Scope == ScopeOrg && c.Principal.Local {
		if _, err := s.Orgs.Get(ctx, org); err != nil {
			return nil, err
		}
	}
	return o.run(s, ctx, c, in)
}

// firstOrg is the organization an empty org field means for the caller: the first of
// orgs.List (the instance organization, then the oldest) they belong to; a user with none
// gets FORBIDDEN.
func (s *Service) firstOrg(ctx context.Context, p auth.Principal) (string, error) {
	all, err := s.Orgs.List(ctx)
	if err != nil {
		return "", err
	}
	for _, o := range all {
		if p.RoleIn(o.ID) != "" {
			return o.ID, nil
		}
	}
	return "", errForbidden
}

// instanceOrg is the instance organization (orgs.Service.Instance, stored): it owns the
// gateway-wide routes and settings.
func (s *Service) instanceOrg(ctx context.Context) (orgs.Org, error) { return s.Orgs.Instance(ctx) }

// record writes an audit entry. A failure is logged, not returned: the action it describes has
// already happened, and reporting it as failed would be a lie.
func (s *Service) record(ctx context.Context, c *Call, org, action, target, detail string) {
	err := s.Audit.Record(ctx, audit.Entry{Actor: c.actor(), OrgID: org, Action: action, Target: target,
		Detail: detail, ClientAddr: c.ClientAddr})
	switch {
	case errors.Is(err, audit.ErrHook):
		s.Logger.Error("webhook event not queued", "action", action, "target", target, "err", err)
	case err != nil:
		s.Logger.Error("audit entry not recorded", "action", action, "target", target, "err", err)
	}
}

// recordTx writes an operation's audit entry in tx, the transaction of the change it records,
// so that the change and its entry commit together or not at all: a failure to record fails
// the operation instead of leaving a change nobody can trace. Once tx has committed, the
// operation calls s.Audit.Committed. (record is for entries with no change to go with.)
func (s *Service) recordTx(ctx context.Context, tx *sql.Tx, c *Call, org, action, target, detail string) error {
	return s.Audit.RecordTx(ctx, tx, audit.Entry{Actor: c.actor(), OrgID: org, Action: action, Target: target,
		Detail: detail, ClientAddr: c.ClientAddr}, nil)
}

// recordFirst writes the audit entry of an operation that changes nothing but hands out what
// it names (an export of keys, a backup): the entry is written before the data leaves, and a
// failure to write it fails the operation, so that nothing is handed out untraced. A failing
// hook does not: the entry is there (audit.ErrHook), and is logged as record logs it.
func (s *Service) recordFirst(ctx context.Context, c *Call, org, action, target, detail string) error {
	err := s.Audit.Record(ctx, audit.Entry{Actor: c.actor(), OrgID: org, Action: action, Target: target,
		Detail: detail, ClientAddr: c.ClientAddr})
	if errors.Is(err, audit.ErrHook) {
		s.Logger.Error("webhook event not queued", "action", action, "target", target, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("record audit entry %s: %w", action, err)
	}
	return nil
}

// Principal loads the principal of a session (for the HTTP layer and tests).
func (s *Service) principal(ctx context.Context, sess auth.Session) (auth.Principal, error) {
	p, err := s.Auth.Principal(ctx, sess.UserID)
	if errors.Is(err, auth.ErrUserNotFound) {
		return auth.Principal{}, auth.ErrNoSession
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("load user: %w", err)
	}
	return p, nil
}

// bundle is the message catalog: Deps.I18n, else the embedded one, loaded on first use so
// that a command that shows no message does not parse the catalogs.
func (s *Service) bundle() *i18n.Bundle {
	if s.I18n != nil {
		return s.I18n
	}
	return i18n.Default()
}

// localPrincipal is the desktop's OS user.
func (s *Service) localPrincipal() auth.Principal {
	return auth.Principal{Local: true, Name: s.localName()}
}
