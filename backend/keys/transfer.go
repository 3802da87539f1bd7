package keys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/backend/ids"
	"github.com/keygate/keygate/backend/problem"
)

// Record is one key as it moves between instances (import and export): everything the key
// model holds, its secrets as hashes only. The file formats live in backend/keys/keyfile.
type Record struct {
	// ID is kept when given (a move between Keygate instances keeps the ids upstreams saw in
	// X-Keygate-Key-Id and the signed identity); "" gets a new id.
	ID     string
	Name   string
	Prefix string // what the key's secrets start with, for display
	Start  string // the first characters of the current secret, for display
	// CreatedAt zero means the time of the import.
	CreatedAt    time.Time
	ExpiresAt    *time.Time
	RevokedAt    *time.Time
	RevokeReason string
	DisabledAt   *time.Time
	LastUsedAt   *time.Time
	UsageCount   int64
	RateLimit    int
	RateWindow   time.Duration // 0 means one minute
	Scopes       []string
	Metadata     map[string]string
	AllowIPs     []string
	// Quota nil means no quota (and no refill).
	Quota          *int64
	RefillAmount   int64
	RefillInterval time.Duration
	LastRefillAt   *time.Time
	// Foreign says the secrets are not in Keygate's format (an imported Better Auth key): the
	// offline checksum check cannot judge them, see Service.Verify.
	Foreign bool
	Secrets []Secret
}

// Secret is one secret of a key, as its hash.
type Secret struct {
	Hash      Hash
	CreatedAt time.Time
	RetiresAt *time.Time // a rolled-away secret stops working then
}

// MaxImport is the most keys one import may hold.
const MaxImport = 100_000

// RowError is an import refused because of one record: Row is its index in the input (from 0),
// Field the Record field at fault in the API's spelling (name, scopes, metadata, allowIps,
// rateLimit, quota, refill, secrets, id, prefix, start, expiresAt, …).
type RowError struct {
	Row   int
	Field string
	Err   *problem.Invalid
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d, %s: %s", e.Row, e.Field, e.Err.Error())
}
func (e *RowError) Unwrap() error { return e.Err }

// rowErr makes a RowError from err, which should hold a *problem.Invalid.
func rowErr(row int, field string, err error) error {
	var inv *problem.Invalid
	if !errors.As(err, &inv) {
		return err
	}
	return &RowError{Row: row, Field: field, Err: inv}
}

var (
	// ErrImportEmpty means an import with no key in it.
	ErrImportEmpty error = &problem.Invalid{Field: "file", Code: "empty", Msg: "validation.import.empty",
		Text: "the file holds no keys"}
	// ErrImportTooMany means more than MaxImport keys in one import.
	ErrImportTooMany error = &problem.Invalid{Field: "file", Code: "too_many", Msg: "validation.import.too_many",
		Data: map[string]any{"Count": MaxImport}, Text: fmt.Sprintf("one import holds at most %d keys", MaxImport)}
	// ErrDuplicateSecret means a secret already in this instance, or twice in the import.
	ErrDuplicateSecret error = &problem.Invalid{Code: "duplicate", Msg: "validation.import.duplicate_secret",
		Text: "this key is already in Keygate or earlier in the file"}
	// ErrDuplicateID means a key id already in this instance, or twice in the import.
	ErrDuplicateID error = &problem.Invalid{Code: "duplicate", Msg: "validation.import.duplicate_id",
		Text: "this key id is already in Keygate or earlier in the file"}
	// ErrNoSecret means a record without a secret.
	ErrNoSecret error = &problem.Invalid{Code: "required", Msg: "validation.import.no_secret",
		Text: "the key has no secret hash"}
	// ErrInvalidID means an id that is not key_ and base62 characters.
	ErrInvalidID error = &problem.Invalid{Code: "invalid", Msg: "validation.import.id",
		Text: "a key id is key_ followed by letters and digits"}
	// ErrInvalidDisplay means a prefix or start that is too long or holds control characters.
	ErrInvalidDisplay error = &problem.Invalid{Code: "invalid", Msg: "validation.import.display",
		Data: map[string]any{"Count": maxDisplayLen}, Text: fmt.Sprintf("at most %d characters without control characters", maxDisplayLen)}
	// ErrInvalidCount means a negative usage count.
	ErrInvalidCount error = &problem.Invalid{Code: "range", Msg: "validation.import.count",
		Text: "must be 0 or more"}
)

const maxDisplayLen = 64

// ImportResult says what an import did (or, for a dry run, would do).
type ImportResult struct {
	// Count is the number of keys imported.
	Count int `json:"count"`
	// Foreign is how many of them have secrets in another product's format.
	Foreign int `json:"foreign"`
	// DryRun says nothing was written.
	DryRun bool `json:"dryRun"`
}

// Import adds keys with their hashed secrets to organization orgID, all or none: the first
// record that cannot be taken is returned as a *RowError and nothing changes. A secret or id
// that already exists, or appears twice, is such an error. With dryRun everything is checked
// (the store included) and nothing is written. by is the importing actor (the keys' creator).
func (s *Service) Import(ctx context.Context, orgID, by string, recs []Record, dryRun bool) (ImportResult, error) {
	return s.importRecords(ctx, orgID, by, recs, dryRun, nil)
}

func (s *Service) importRecords(ctx context.Context, orgID, by string, recs []Record, dryRun bool, rec ImportRecorder) (ImportResult, error) {
	if orgID == "" || by == "" {
		return ImportResult{}, errors.New("import keys: no organization or actor given")
	}
	if len(recs) == 0 {
		return ImportResult{}, ErrImportEmpty
	}
	if len(recs) > MaxImport {
		return ImportResult{}, ErrImportTooMany
	}
	if _, err := s.orgPrefix(ctx, orgID); err != nil {
		return ImportResult{}, err
	}
	now := s.now()
	rows := make([]importRow, len(recs))
	hashes := make(map[Hash]int, len(recs))
	idsSeen := make(map[string]int, len(recs))
	res := ImportResult{Count: len(recs), DryRun: dryRun}
	for i := range recs {
		r, err := s.checkRecord(i, &recs[i], now)
		if err != nil {
			return ImportResult{}, err
		}
		for _, sec := range recs[i].Secrets {
			if _, dup := hashes[sec.Hash]; dup {
				return ImportResult{}, &RowError{Row: i, Field: "secrets", Err: ErrDuplicateSecret.(*problem.Invalid)}
			}
			hashes[sec.Hash] = i
		}
		if _, dup := idsSeen[r.id]; dup && recs[i].ID != "" {
			return ImportResult{}, &RowError{Row: i, Field: "id", Err: ErrDuplicateID.(*problem.Invalid)}
		}
		idsSeen[r.id] = i
		if recs[i].Foreign {
			res.Foreign++
		}
		rows[i] = r
	}
	write := func(tx *sql.Tx) error {
		// What already exists is checked inside the transaction (the one writer), so a
		// concurrent import or create cannot slip a duplicate in between.
		if err := existing(ctx, tx, recs, rows); err != nil {
			return err
		}
		if dryRun {
			return errDryRun
		}
		if err := insertRecords(ctx, tx, orgID, by, recs, rows); err != nil {
			return err
		}
		if rec == nil {
			return nil
		}
		return rec(ctx, tx, res)
	}
	err := s.st.Tx(ctx, write)
	if errors.Is(err, errDryRun) {
		return res, nil
	}
	if err != nil {
		var re *RowError
		if errors.As(err, &re) {
			return ImportResult{}, re
		}
		return ImportResult{}, fmt.Errorf("import keys: %w", err)
	}
	s.cache.invalidate()
	s.foreign.reset()
	s.st.Changes().Publish("keys")
	return res, nil
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

// importRow is a record's checked and encoded values.
type importRow struct {
	id, name, scopes, meta, allow string
	created                       time.Time
	window                        time.Duration
	quota, lastRefill             any
}

// CheckRecord checks r as Import would, without the store: the error is a *RowError (row 0)
// naming the Record field at fault.
func CheckRecord(r *Record) error {
	_, err := checkRecord(0, r, time.Now())
	return err
}

func (s *Service) checkRecord(i int, r *Record, now time.Time) (importRow, error) {
	out, err := checkRecord(i, r, now)
	if err != nil {
		return out, err
	}
	if out.id == "" {
		if out.id, err = ids.New("key"); err != nil {
			return out, fmt.Errorf("import keys: %w", err)
		}
	}
	return out, nil
}

func checkRecord(i int, r *Record, now time.Time) (importRow, error) {
	var out importRow
	var err error
	if out.name, err = ValidName(r.Name); err != nil {
		return out, rowErr(i, "name", err)
	}
	out.id = r.ID
	if rest, ok := strings.CutPrefix(out.id, "key_"); out.id != "" && (!ok || rest == "" || len(out.id) > 64 || !ids.IsBase62(rest)) {
		return out, rowErr(i, "id", ErrInvalidID)
	}
	for _, f := range []struct{ name, v string }{{"prefix", r.Prefix}, {"start", r.Start}} {
		if utf8.RuneCountInString(f.v) > maxDisplayLen || !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return out, rowErr(i, f.name, ErrInvalidDisplay)
		}
	}
	if len(r.Secrets) == 0 {
		return out, rowErr(i, "secrets", ErrNoSecret)
	}
	if r.UsageCount < 0 {
		return out, rowErr(i, "usageCount", ErrInvalidCount)
	}
	if out.window, err = validRate(r.RateLimit, r.RateWindow); err != nil {
		field := "rateLimit"
		if errors.Is(err, ErrInvalidRateWindow) {
			field = "rateWindow"
		}
		return out, rowErr(i, field, err)
	}
	scopes, err := ValidScopes(r.Scopes)
	if err != nil {
		return out, rowErr(i, "scopes", err)
	}
	meta, err := ValidMetadata(r.Metadata)
	if err != nil {
		return out, rowErr(i, "metadata", err)
	}
	allow, err := ValidAllowIPs(r.AllowIPs)
	if err != nil {
		return out, rowErr(i, "allowIps", err)
	}
	out.scopes, out.meta, out.allow = encodeList(scopes), encodeMap(meta), encodeList(allow)
	out.created = r.CreatedAt.UTC().Truncate(time.Millisecond)
	if r.CreatedAt.IsZero() {
		out.created = now
	}
	if r.Quota != nil {
		if err := ValidQuota(*r.Quota, r.RefillAmount, r.RefillInterval); err != nil {
			field := "quota"
			if errors.Is(err, ErrInvalidRefill) {
				field = "refill"
			}
			return out, rowErr(i, field, err)
		}
		last := out.created
		if r.LastRefillAt != nil {
			last = r.LastRefillAt.UTC()
		}
		out.quota, out.lastRefill = *r.Quota, last.UnixMilli()
	} else if r.RefillAmount != 0 || r.RefillInterval != 0 {
		return out, rowErr(i, "refill", ErrInvalidRefill)
	}
	if utf8.RuneCountInString(strings.TrimSpace(r.RevokeReason)) > MaxReasonLen {
		return out, rowErr(i, "revokeReason", ErrInvalidReason)
	}
	return out, nil
}

// existing refuses records whose secret or id the store already holds.
func existing(ctx context.Context, tx *sql.Tx, recs []Record, rows []importRow) error {
	hashQ, err := tx.PrepareContext(ctx, `SELECT 1 FROM key_secrets WHERE hash = ?`)
	if err != nil {
		return err
	}
	defer hashQ.Close()
	idQ, err := tx.PrepareContext(ctx, `SELECT 1 FROM keys WHERE id = ?`)
	if err != nil {
		return err
	}
	defer idQ.Close()
	var one int
	for i := range recs {
		for _, sec := range recs[i].Secrets {
			err := hashQ.QueryRowContext(ctx, sec.Hash[:]).Scan(&one)
			if err == nil {
				return &RowError{Row: i, Field: "secrets", Err: ErrDuplicateSecret.(*problem.Invalid)}
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if recs[i].ID == "" {
			continue
		}
		err := idQ.QueryRowContext(ctx, rows[i].id).Scan(&one)
		if err == nil {
			return &RowError{Row: i, Field: "id", Err: ErrDuplicateID.(*problem.Invalid)}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	return nil
}

type progressKey struct{}

// WithProgress returns ctx carrying p: Import calls it with the keys written so far and their
// total while it writes (the command line draws it as a progress bar on a terminal).
func WithProgress(ctx context.Context, p func(done, total int64)) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

func insertRecords(ctx context.Context, tx *sql.Tx, orgID, by string, recs []Record, rows []importRow) error {
	progress, _ := ctx.Value(progressKey{}).(func(done, total int64))
	keyQ, err := tx.PrepareContext(ctx, `INSERT INTO keys
		(id, org_id, name, prefix, start, created_at, created_by, expires_at, revoked_at, revoke_reason,
		 last_used_at, usage_count, rate_limit, rate_window_ms, scopes, metadata, allow_ips, disabled_at, disabled_by,
		 quota_remaining, refill_amount, refill_interval_ms, last_refill_at, foreign_secret)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer keyQ.Close()
	secQ, err := tx.PrepareContext(ctx, `INSERT INTO key_secrets (hash, key_id, created_at, retires_at) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer secQ.Close()
	for i := range recs {
		r, w := &recs[i], &rows[i]
		disabledBy := ""
		if r.DisabledAt != nil {
			disabledBy = by
		}
		if _, err := keyQ.ExecContext(ctx, w.id, orgID, w.name, r.Prefix, r.Start, w.created.UnixMilli(), by,
			millis(r.ExpiresAt), millis(r.RevokedAt), strings.TrimSpace(r.RevokeReason), millis(r.LastUsedAt), r.UsageCount,
			r.RateLimit, w.window.Milliseconds(), w.scopes, w.meta, w.allow, millis(r.DisabledAt), disabledBy,
			w.quota, r.RefillAmount, r.RefillInterval.Milliseconds(), w.lastRefill, r.Foreign); err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
		for _, sec := range r.Secrets {
			created := sec.CreatedAt
			if created.IsZero() {
				created = w.created
			}
			if _, err := secQ.ExecContext(ctx, sec.Hash[:], w.id, created.UnixMilli(), millis(sec.RetiresAt)); err != nil {
				return fmt.Errorf("row %d: %w", i, err)
			}
		}
		if progress != nil && ((i+1)%256 == 0 || i+1 == len(recs)) {
			progress(int64(i+1), int64(len(recs)))
		}
	}
	return nil
}

// Export returns every key of organization orgID (all organizations for ""), oldest first,
// with its secrets as hashes: what Import takes on another instance.
func (s *Service) Export(ctx context.Context, orgID string) ([]Record, error) {
	q := `SELECT ` + keyColumns + `, foreign_secret FROM keys`
	var args []any
	if orgID != "" {
		q += ` WHERE org_id = ?`
		args = append(args, orgID)
	}
	q += ` ORDER BY created_at, id`
	rows, err := s.st.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("export keys: %w", err)
	}
	defer rows.Close()
	now := s.now()
	out := []Record{}
	index := map[string]int{}
	for rows.Next() {
		var foreign bool
		k, err := scanKey(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &foreign)...) }), now)
		if err != nil {
			return nil, fmt.Errorf("export keys: %w", err)
		}
		s.quotas.overlay(&k)
		index[k.ID] = len(out)
		out = append(out, Record{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Start: k.Start, CreatedAt: k.CreatedAt,
			ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, RevokeReason: k.RevokeReason, DisabledAt: k.DisabledAt,
			LastUsedAt: k.LastUsedAt, UsageCount: k.UsageCount, RateLimit: k.RateLimit, RateWindow: k.RateWindow,
			Scopes: k.Scopes, Metadata: k.Metadata, AllowIPs: k.AllowIPs, Quota: k.QuotaRemaining,
			RefillAmount: k.RefillAmount, RefillInterval: k.refillInterval(), LastRefillAt: k.LastRefillAt,
			Foreign: foreign})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export keys: %w", err)
	}
	rows.Close()
	sq := `SELECT s.key_id, s.hash, s.created_at, s.retires_at FROM key_secrets s JOIN keys k ON k.id = s.key_id`
	if orgID != "" {
		sq += ` WHERE k.org_id = ?`
	}
	sq += ` ORDER BY s.key_id, s.created_at`
	srows, err := s.st.Read.QueryContext(ctx, sq, args...)
	if err != nil {
		return nil, fmt.Errorf("export key secrets: %w", err)
	}
	defer srows.Close()
	for srows.Next() {
		var id string
		var hash []byte
		var created int64
		var retires sql.NullInt64
		if err := srows.Scan(&id, &hash, &created, &retires); err != nil {
			return nil, fmt.Errorf("export key secrets: %w", err)
		}
		i, ok := index[id]
		if !ok || len(hash) != len(Hash{}) {
			continue
		}
		var h Hash
		copy(h[:], hash)
		out[i].Secrets = append(out[i].Secrets, Secret{Hash: h, CreatedAt: time.UnixMilli(created).UTC(), RetiresAt: fromMillis(retires)})
	}
	if err := srows.Err(); err != nil {
		return nil, fmt.Errorf("export key secrets: %w", err)
	}
	return out, nil
}
