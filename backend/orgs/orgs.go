// Package orgs holds organizations: the tenants that own keys, routes and members.
package orgs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/backend/clock"
	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/settings"
	"github.com/keygate/keygate/backend/store"
)

// DefaultName is the name of the organization created on first run.
const DefaultName = "Default"

// DefaultPrefix is the key prefix of a new organization.
const DefaultPrefix = "kg"

var (
	// ErrNotFound means no organization has that id.
	ErrNotFound = errors.New("organization not found")
	// ErrInvalidName means the name is empty or longer than 64 characters.
	ErrInvalidName error = &problem.Invalid{Field: "name", Code: "invalid", Msg: "validation.org.name.invalid", Data: map[string]any{"Count": 64},
		Text: "organization name must be 1 to 64 characters"}
)

// Org is an organization.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	KeyPrefix string    `json:"keyPrefix"`
	CreatedAt time.Time `json:"createdAt"`
}

// Service reads and changes organizations.
type Service struct {
	st    *store.Store
	clock clock.Clock
}

// New returns a Service over st.
func New(st *store.Store, c clock.Clock) *Service {
	if c == nil {
		c = clock.Real{}
	}
	return &Service{st: st, clock: c}
}

// EnsureDefault creates the Default organization when there is none, and returns the
// instance organization (Instance).
func (s *Service) EnsureDefault(ctx context.Context) (Org, error) { return s.Instance(ctx) }

// Instance returns the instance organization: the one that owns the gateway-wide routes and
// settings, and that an empty organization means for the CLI and the console. It is stored
// (setting orgs.instance), never inferred again: the first call on a new database creates
// the Default organization and stores it; on a database from before it was stored, the
// oldest organization (creation time, then insertion order) is stored once. Creating, renaming
// or back-dating other organizations never changes it.
func (s *Service) Instance(ctx context.Context) (Org, error) {
	set := settings.New(s.st)
	vs, err := set.Get(ctx, settings.InstanceOrg)
	if err != nil {
		return Org{}, fmt.Errorf("instance organization: %w", err)
	}
	if id := vs[settings.InstanceOrg]; id != "" {
		o, err := s.Get(ctx, id)
		if !errors.Is(err, ErrNotFound) {
			return o, err
		}
	}
	var o Org
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM orgs`).Scan(&n); err != nil {
			return err
		}
		var err error
		if n == 0 {
			o, err = insert(ctx, tx, DefaultName, s.clock.Now())
			return err
		}
		o, err = scan(tx.QueryRowContext(ctx, `SELECT id, name, key_prefix, created_at FROM orgs ORDER BY created_at, rowid LIMIT 1`))
		return err
	})
	if err != nil {
		return Org{}, fmt.Errorf("instance organization: %w", err)
	}
	// Set writes only if nothing changed meanwhile is not needed: every process computes the
	// same oldest organization, and once stored the value is read, not computed.
	if err := set.Set(ctx, map[string]string{settings.InstanceOrg: o.ID}); err != nil {
		return Org{}, fmt.Errorf("instance organization: %w", err)
	}
	return o, nil
}

// IsInstance reports whether id is the instance organization.
func (s *Service) IsInstance(ctx context.Context, id string) (bool, error) {
	o, err := s.Instance(ctx)
	return err == nil && o.ID == id, err
}

// Create makes an organization named name (trimmed, 1–64 characters).
func (s *Service) Create(ctx context.Context, name string) (Org, error) {
	return s.create(ctx, name, nil)
}

func (s *Service) create(ctx context.Context, name string, rec Recorder) (Org, error) {
	name, err := ValidName(name)
	if err != nil {
		return Org{}, err
	}
	var o Org
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if o, err = insert(ctx, tx, name, s.clock.Now()); err != nil || rec == nil {
			return err
		}
		return rec(ctx, tx, Org{}, o)
	})
	if err != nil {
		return Org{}, fmt.Errorf("create organization: %w", err)
	}
	return o, nil
}

// Rename changes an organization's name.
func (s *Service) Rename(ctx context.Context, id, name string) (Org, error) {
	return s.rename(ctx, id, name, nil)
}

func (s *Service) rename(ctx context.Context, id, name string, rec Recorder) (Org, error) {
	name, err := ValidName(name)
	if err != nil {
		return Org{}, err
	}
	var before Org
	if rec != nil {
		if before, err = s.Get(ctx, id); err != nil {
			return Org{}, err
		}
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE orgs SET name = ? WHERE id = ?`, name, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if rec == nil {
			return nil
		}
		after := before
		after.Name = name
		return rec(ctx, tx, before, after)
	})
	if errors.Is(err, ErrNotFound) {
		return Org{}, ErrNotFound
	}
	if err != nil {
		return Org{}, fmt.Errorf("rename organization %s: %w", id, err)
	}
	return s.Get(ctx, id)
}

// Get returns one organization.
func (s *Service) Get(ctx context.Context, id string) (Org, error) {
	o, err := scan(s.st.Read.QueryRowContext(ctx, `SELECT id, name, key_prefix, created_at FROM orgs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Org{}, ErrNotFound
	}
	if err != nil {
		return Org{}, fmt.Errorf("get organization %s: %w", id, err)
	}
	return o, nil
}

// List returns every organization: the instance organization first, then the others oldest
// first (creation time, then insertion order). Every list of organizations — the CLI's, the
// console's, the "first organization" an empty org field means — uses this order.
func (s *Service) List(ctx context.Context) ([]Org, error) {
	inst, err := s.Instance(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.st.Read.QueryContext(ctx, `SELECT id, name, key_prefix, created_at FROM orgs ORDER BY created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	defer rows.Close()
	out := []Org{}
	for rows.Next() {
		o, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list organizations: %w", err)
		}
		if o.ID == inst.ID {
			out = append([]Org{o}, out...)
		} else {
			out = append(out, o)
		}
	}
	return out, rows.Err()
}

// ValidName trims name and checks its length.
func ValidName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 64 {
		return "", ErrInvalidName
	}
	return name, nil
}

func insert(ctx context.Context, tx *sql.Tx, name string, now time.Time) (Org, error) {
	id, err := ids.New("org")
	if err != nil {
		return Org{}, err
	}
	now = now.Truncate(time.Millisecond)
	if _, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, name, key_prefix, created_at) VALUES (?, ?, ?, ?)`,
		id, name, DefaultPrefix, now.UnixMilli()); err != nil {
		return Org{}, err
	}
	return Org{ID: id, Name: name, KeyPrefix: DefaultPrefix, CreatedAt: now}, nil
}

type scanner interface{ Scan(...any) error }

func scan(r scanner) (Org, error) {
	var o Org
	var created int64
	if err := r.Scan(&o.ID, &o.Name, &o.KeyPrefix, &created); err != nil {
		return Org{}, err
	}
	o.CreatedAt = time.UnixMilli(created).UTC()
	return o, nil
}
