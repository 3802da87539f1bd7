// Package audit records who did what to which thing, when and from where, and lists it back.
// Entries never hold a secret: callers pass names and ids, never keys, passwords or tokens.
package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/mailaddr"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/store"
)

// Actions recorded by Keygate.
const (
	KeyCreate  = "key.create"
	KeyRename  = "key.rename"
	KeyRevoke  = "key.revoke"
	KeyRoll    = "key.roll"
	KeyUpdate  = "key.update" // anything but the name alone (that is key.rename)
	KeyDisable = "key.disable"
	KeyEnable  = "key.enable"
	// KeyImport is one import of keys (the detail has the count); KeyExport one export.
	KeyImport    = "key.import"
	KeyExport    = "key.export"
	OrgCreate    = "org.create"
	OrgRename    = "org.rename"
	MemberAdd    = "member.add"
	MemberRole   = "member.role"
	MemberRemove = "member.remove"
	MemberInvite = "member.invite"
	// InvitationAccept and InvitationDecline are the invited account's answers.
	InvitationAccept  = "invitation.accept"
	InvitationDecline = "invitation.decline"
	UserCreate        = "user.create"
	UserRemove        = "user.remove"
	UserPassword      = "user.password"
	RouteAdd          = "route.add"
	RouteUpdate       = "route.update"
	RouteRemove       = "route.remove"
	WebhookAdd        = "webhook.add"
	WebhookRemove     = "webhook.remove"
	WebhookRetry      = "webhook.retry"
	SettingsUpdate    = "settings.update"
	GatewayStart      = "gateway.start"
	GatewayStop       = "gateway.stop"
	Login             = "login"
	LoginFail         = "login.fail"
	Logout            = "logout"
	SetupComplete     = "setup.complete"
	PreferencesSave   = "preferences.update"
	// AccessDenied is an operation refused for want of a role (403): the target is the
	// operation's name, the organization the one it was tried in.
	AccessDenied = "access.denied"
)

// Password actions: PasswordChange is an account changing its own password (current + new),
// PasswordChangeFail a wrong current password; PasswordResetIssue is an admin issuing a reset
// link for a member, PasswordReset the link being used.
const (
	PasswordChange     = "user.password.change"
	PasswordChangeFail = "user.password.change.fail"
	PasswordResetIssue = "user.password.reset_link"
	PasswordReset      = "user.password.reset"
)

// IdentityRotate is a new signing key for the gateway's signed identity (X-Keygate-Jwt).
const IdentityRotate = "identity.rotate"

// Actors that are not users.
const (
	ActorLocal = "local" // the desktop's OS user
	ActorCLI   = "cli"
	ActorAnon  = "anonymous"
)

// Entry is one recorded action.
type Entry struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	// ActorEmail is the acting user's address when Actor is a user id that still exists.
	ActorEmail string `json:"actorEmail"`
	OrgID      string `json:"orgId"`
	Action     string `json:"action"`
	Target     string `json:"target"`
	Detail     string `json:"detail"`
	ClientAddr string `json:"clientAddr"`
}

// Filter selects entries for List.
type Filter struct {
	// OrgID selects one organization's entries; "" selects all.
	OrgID string
	// Global adds the entries that belong to no organization (logins, setup) to an OrgID filter.
	Global bool
	// Limit is 1–MaxLimit, default DefaultLimit.
	Limit int
	// Before lists entries older than this id (for paging); 0 means from the newest.
	Before int64
	// Action keeps entries of this action (exact, e.g. "key.create").
	Action string
	// Actor keeps entries by this actor: a user id, "cli", "local", "anonymous", or a user's
	// e-mail address (compared by mailaddr.Key).
	Actor string
	// From and To bound the time: From inclusive, To exclusive; zero is unbounded.
	From, To time.Time
}

// Log writes and reads the audit log.
type Log struct {
	st        *store.Store
	clock     clock.Clock
	recorded  atomic.Uint64
	hooks     []Hook
	committed []func()
}

// Hook runs inside the transaction that records an entry, so that what it writes (the
// webhooks' outbox) commits with the entry or not at all. e is the entry as stored (At set,
// text cleaned); subject is what the entry is about as that same transaction left it (the
// keys.Key of a key change recorded with RecordTx), or nil when the recorder passed none.
type Hook func(ctx context.Context, tx *sql.Tx, e Entry, subject any) error

// OnRecord adds a hook to every later Record. It is wiring: call it before the Log is used.
func (l *Log) OnRecord(h Hook) { l.hooks = append(l.hooks, h) }

// OnCommitted adds f to what runs once an entry's transaction has committed (after Record, and
// at Committed after RecordTx): what a hook wrote is visible to other readers then, so a hook's
// owner that must act on it (the webhooks' worker) is told here, not from inside the
// transaction. It is wiring: call it before the Log is used.
func (l *Log) OnCommitted(f func()) { l.committed = append(l.committed, f) }

// New returns a Log over st.
func New(st *store.Store, c clock.Clock) *Log {
	if c == nil {
		c = clock.Real{}
	}
	return &Log{st: st, clock: c}
}

// Page sizes of List.
const (
	DefaultLimit = 100
	MaxLimit     = 500
)

// ErrInvalidLimit means a page size outside 1 to MaxLimit.
var ErrInvalidLimit error = &problem.Invalid{Field: "limit", Code: "range", Msg: "validation.limit.range",
	Data: map[string]any{"Count": MaxLimit}, Text: fmt.Sprintf("limit must be between 1 and %d", MaxLimit)}

// ErrInvalidTimeRange means a Filter whose To is not after its From.
var ErrInvalidTimeRange error = &problem.Invalid{Field: "to", Code: "range", Msg: "validation.time_range.order",
	Text: "the end of the time range must be after its start"}

// ErrInvalidEntry means an entry without actor or action.
var ErrInvalidEntry = errors.New("audit entry needs an actor and an action")

// Record appends e, stamping the time. Control characters are replaced so that an entry can be
// printed on one line. The hooks run in the same transaction (with no subject); when one fails,
// the entry is recorded without them (the audit trail matters more) and the hook's error is
// returned wrapped in ErrHook. A change that must commit with its entry uses RecordTx.
func (l *Log) Record(ctx context.Context, e Entry) error {
	e, err := l.stamp(e)
	if err != nil {
		return err
	}
	var hookErr error
	err = l.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := insert(ctx, tx, e); err != nil {
			return err
		}
		if err := l.runHooks(ctx, tx, e, nil); err != nil {
			hookErr = err
			return err
		}
		return nil
	})
	if hookErr != nil {
		err = l.st.Tx(ctx, func(tx *sql.Tx) error { return insert(ctx, tx, e) })
		if err == nil {
			err = fmt.Errorf("%w (%s): %w", ErrHook, e.Action, hookErr)
			l.maybePrune(ctx)
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("record audit entry %s: %w", e.Action, err)
	}
	l.afterCommit()
	l.maybePrune(ctx)
	return nil
}

// RecordTx appends e in the caller's transaction tx and runs the hooks there with subject, the
// thing the entry is about as tx has it: the change, its entry and what the hooks write
// (the webhooks' outbox) commit together or not at all. Any error, a hook's included, is
// returned and the caller rolls tx back. Once tx has committed, the caller calls Committed.
func (l *Log) RecordTx(ctx context.Context, tx *sql.Tx, e Entry, subject any) error {
	e, err := l.stamp(e)
	if err != nil {
		return err
	}
	if err := insert(ctx, tx, e); err != nil {
		return fmt.Errorf("record audit entry %s: %w", e.Action, err)
	}
	if err := l.runHooks(ctx, tx, e, subject); err != nil {
		return fmt.Errorf("record audit entry %s: %w", e.Action, err)
	}
	return nil
}

// Committed counts an entry recorded with RecordTx whose transaction has committed towards
// the log's pruning, which cannot run inside that transaction, and runs the OnCommitted
// functions.
func (l *Log) Committed(ctx context.Context) {
	l.afterCommit()
	l.maybePrune(ctx)
}

func (l *Log) afterCommit() {
	for _, f := range l.committed {
		f()
	}
}

// stamp checks e, cleans its text and sets its time.
func (l *Log) stamp(e Entry) (Entry, error) {
	if e.Actor == "" || e.Action == "" {
		return Entry{}, ErrInvalidEntry
	}
	return Entry{At: l.clock.Now().UTC().Truncate(time.Millisecond), Actor: clean(e.Actor, 128), OrgID: clean(e.OrgID, 64),
		Action: clean(e.Action, 64), Target: clean(e.Target, 256), Detail: clean(e.Detail, 1024),
		ClientAddr: clean(e.ClientAddr, 128)}, nil
}

func insert(ctx context.Context, tx *sql.Tx, e Entry) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, org_id, action, target, detail, client_addr)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.At.UnixMilli(), e.Actor, e.OrgID, e.Action, e.Target, e.Detail, e.ClientAddr)
	return err
}

func (l *Log) runHooks(ctx context.Context, tx *sql.Tx, e Entry, subject any) error {
	for _, h := range l.hooks {
		if err := h(ctx, tx, e, subject); err != nil {
			return err
		}
	}
	return nil
}

// ErrHook means an entry was recorded but a hook of it failed (and wrote nothing).
var ErrHook = errors.New("audit entry recorded, its hook failed")

// List returns entries newest first.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return nil, ErrInvalidLimit
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return nil, ErrInvalidTimeRange
	}
	q := `SELECT a.id, a.at, a.actor, coalesce(u.email, ''), a.org_id, a.action, a.target, a.detail, a.client_addr
		FROM audit_log a LEFT JOIN users u ON u.id = a.actor WHERE 1 = 1`
	var args []any
	if f.OrgID != "" {
		if f.Global {
			q += ` AND a.org_id IN (?, '')`
		} else {
			q += ` AND a.org_id = ?`
		}
		args = append(args, f.OrgID)
	}
	if f.Before > 0 {
		q += ` AND a.id < ?`
		args = append(args, f.Before)
	}
	if f.Action != "" {
		q += ` AND a.action = ?`
		args = append(args, f.Action)
	}
	if f.Actor != "" {
		q += ` AND (a.actor = ? OR u.email_key = ?)`
		args = append(args, f.Actor, mailaddr.Key(f.Actor))
	}
	if !f.From.IsZero() {
		q += ` AND a.at >= ?`
		args = append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		q += ` AND a.at < ?`
		args = append(args, f.To.UnixMilli())
	}
	q += ` ORDER BY a.id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := l.st.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.ActorEmail, &e.OrgID, &e.Action, &e.Target, &e.Detail, &e.ClientAddr); err != nil {
			return nil, fmt.Errorf("list audit entries: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// clean replaces control characters (log injection) and bounds the length.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// StoreBackup is a backup of the whole database downloaded from the console (the detail has
// its size; never its content).
const StoreBackup = "store.backup"
