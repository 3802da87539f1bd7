package keyfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/keys"
)

// Better Auth's apiKey plugin (npm @better-auth/api-key, formerly better-auth/plugins) stores
// in its apikey table, per key: key = base64url(SHA-256(UTF-8 key)) without padding
// (defaultKeyHasher; the key itself with disableKeyHashing), permissions = JSON text
// {resource: [action, …]}, metadata = JSON text (double-encoded by older versions), remaining
// (null: unlimited) with refillAmount every refillInterval milliseconds (a refill resets the
// count, as Keygate's does), rateLimitEnabled with rateLimitMax per rateLimitTimeWindow
// milliseconds, enabled, expiresAt, createdAt, lastRefillAt, lastRequest, name, start (the
// key's first characters), prefix, and the owner as referenceId (older versions: userId).

var (
	errHash = invalid("invalid", "validation.import.hash",
		"must be a Better Auth key hash: 43 base64url characters (if the plugin ran with disableKeyHashing, import with plain keys)", nil)
	errPlainKey = invalid("invalid", "validation.import.plain_key",
		"must be the key itself: 8 to 512 characters without spaces", nil)
	errPlainKeyShort = invalid("invalid", "validation.import.plain_key_short",
		"is too short to be a key: a plain key needs at least 8 characters (the logs could not tell a shorter one from other text and mask it)", nil)
	errPermissions = invalid("invalid", "validation.import.permissions",
		`must be JSON mapping resources to lists of actions, such as {"files": ["read"]}`, nil)
	errMetadata = invalid("invalid", "validation.import.metadata",
		"must be a JSON object (or JSON text holding one)", nil)
	errRateZero = invalid("range", "validation.import.rate_zero",
		"a limit of 0 requests would refuse every request: set at least 1 or turn rate limiting off for the key", nil)
)

// fieldName is a column's name as compared: lower case without '_' (Better Auth's fields are
// camelCase; a database adapter may have mapped them to snake_case).
func fieldName(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

// baRow is one row with its fields by fieldName, and their names as the file spells them.
type baRow struct {
	i      int
	fields map[string]json.RawMessage
	names  map[string]string
}

func (r *baRow) err(field string, inv error) error {
	name := r.names[field]
	if name == "" {
		name = field
	}
	return rowError(r.i, name, inv)
}

// raw is the field's value, nil when absent or null.
func (r *baRow) raw(field string) json.RawMessage {
	v := r.fields[fieldName(field)]
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

func (r *baRow) str(field string) (string, bool, error) {
	v := r.raw(field)
	if v == nil {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, r.err(fieldName(field), errType("string"))
	}
	return s, true, nil
}

// boolean takes true/false, and 0/1 as SQLite stores them.
func (r *baRow) boolean(field string, def bool) (bool, error) {
	v := r.raw(field)
	switch string(v) {
	case "":
		return def, nil
	case "true", "1", `"true"`, `"1"`:
		return true, nil
	case "false", "0", `"false"`, `"0"`:
		return false, nil
	}
	return false, r.err(fieldName(field), errType("boolean"))
}

// whole takes a whole number ≥ 0 (a JSON number, or a string of digits).
func (r *baRow) whole(field string) (int64, bool, error) {
	v := r.raw(field)
	if v == nil {
		return 0, false, nil
	}
	s := strings.Trim(string(v), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != math.Trunc(f) || f > 1<<53 {
		return 0, false, r.err(fieldName(field), errWhole)
	}
	return int64(f), true, nil
}

// date takes an ISO 8601 date-time (with or without a zone: none means UTC; SQLite's
// "2006-01-02 15:04:05" too) or milliseconds since 1970.
func (r *baRow) date(field string) (*time.Time, error) {
	v := r.raw(field)
	if v == nil {
		return nil, nil
	}
	if v[0] != '"' {
		ms, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			if f, ferr := strconv.ParseFloat(string(v), 64); ferr == nil && f == math.Trunc(f) {
				ms, err = int64(f), nil
			}
		}
		if err != nil {
			return nil, r.err(fieldName(field), errDate)
		}
		t := time.UnixMilli(ms).UTC()
		return &t, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, r.err(fieldName(field), errDate)
	}
	s = strings.TrimSpace(s)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		t := time.UnixMilli(ms).UTC()
		return &t, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, r.err(fieldName(field), errDate)
}

func parseBetterAuth(data []byte, o Options) ([]keys.Record, error) {
	var rows []json.RawMessage
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, ErrNotJSON
	}
	if len(rows) == 0 {
		return nil, keys.ErrImportEmpty
	}
	if len(rows) > keys.MaxImport {
		return nil, keys.ErrImportTooMany
	}
	out := make([]keys.Record, 0, len(rows))
	for i, raw := range rows {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return nil, rowError(i, "", errType("object"))
		}
		r := &baRow{i: i, fields: make(map[string]json.RawMessage, len(obj)), names: make(map[string]string, len(obj))}
		for k, v := range obj {
			r.fields[fieldName(k)] = v
			r.names[fieldName(k)] = k
		}
		rec, err := betterAuthRecord(r, o)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func betterAuthRecord(r *baRow, o Options) (keys.Record, error) {
	var rec keys.Record
	rec.Foreign = true
	key, ok, err := r.str("key")
	if err != nil {
		return rec, err
	}
	if !ok {
		return rec, r.err("key", keys.ErrNoSecret)
	}
	var h keys.Hash
	if o.PlainKeys {
		if key == "" || len(key) > 512 || strings.ContainsFunc(key, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
			return rec, r.err("key", errPlainKey)
		}
		if len(key) < keys.MinForeignSecret {
			return rec, r.err("key", errPlainKeyShort)
		}
		h = sha256.Sum256([]byte(key))
	} else {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(key, "="))
		if err != nil || len(b) != len(h) {
			return rec, r.err("key", errHash)
		}
		copy(h[:], b)
	}
	created, err := r.date("createdAt")
	if err != nil {
		return rec, err
	}
	if created != nil {
		rec.CreatedAt = *created
	}
	rec.Secrets = []keys.Secret{{Hash: h, CreatedAt: rec.CreatedAt}}

	name, _, err := r.str("name")
	if err != nil {
		return rec, err
	}
	if rec.Prefix, _, err = r.str("prefix"); err != nil {
		return rec, err
	}
	if rec.Start, _, err = r.str("start"); err != nil {
		return rec, err
	}
	if rec.Start == "" {
		rec.Start = rec.Prefix
	}
	switch {
	case strings.TrimSpace(name) != "":
		rec.Name = name
	case rec.Start != "":
		rec.Name = rec.Start
	default:
		rec.Name = "Better Auth"
	}

	enabled, err := r.boolean("enabled", true)
	if err != nil {
		return rec, err
	}
	if !enabled {
		t := o.Now.UTC().Truncate(time.Millisecond)
		rec.DisabledAt = &t
	}
	if rec.ExpiresAt, err = r.date("expiresAt"); err != nil {
		return rec, err
	}
	if rec.LastUsedAt, err = r.date("lastRequest"); err != nil {
		return rec, err
	}
	if rec.LastRefillAt, err = r.date("lastRefillAt"); err != nil {
		return rec, err
	}

	// Quota: remaining null is no quota; the refill needs both an amount and an interval, as
	// in the plugin.
	remaining, limited, err := r.whole("remaining")
	if err != nil {
		return rec, err
	}
	amount, hasAmount, err := r.whole("refillAmount")
	if err != nil {
		return rec, err
	}
	every, hasEvery, err := r.whole("refillInterval")
	if err != nil {
		return rec, err
	}
	if limited {
		rec.Quota = &remaining
		if hasAmount && hasEvery && amount > 0 && every > 0 {
			rec.RefillAmount, rec.RefillInterval = amount, time.Duration(every)*time.Millisecond
		}
	}

	// Rate limit: on unless rateLimitEnabled is false, and only with both a max and a window.
	rateOn, err := r.boolean("rateLimitEnabled", true)
	if err != nil {
		return rec, err
	}
	max, hasMax, err := r.whole("rateLimitMax")
	if err != nil {
		return rec, err
	}
	window, hasWindow, err := r.whole("rateLimitTimeWindow")
	if err != nil {
		return rec, err
	}
	if rateOn && hasMax && hasWindow {
		if max == 0 {
			return rec, r.err("ratelimitmax", errRateZero)
		}
		if max > math.MaxInt32 {
			return rec, r.err("ratelimitmax", keys.ErrInvalidRateLimit)
		}
		rec.RateLimit, rec.RateWindow = int(max), time.Duration(window)*time.Millisecond
	}

	if rec.Scopes, err = permissions(r); err != nil {
		return rec, err
	}
	if rec.Metadata, err = metadata(r); err != nil {
		return rec, err
	}
	// The owner the plugin recorded stays with the key for the upstream (in the signed
	// identity's meta), under the plugin's own name.
	for _, owner := range []string{"referenceId", "userId"} {
		v, ok, err := r.str(owner)
		if err != nil {
			return rec, err
		}
		if ok && v != "" {
			if _, taken := rec.Metadata[owner]; !taken {
				rec.Metadata[owner] = v
			}
		}
	}
	if err := keys.CheckRecord(&rec); err != nil {
		var re *keys.RowError
		if errors.As(err, &re) {
			return rec, r.err(fieldName(sourceField(BetterAuth, re.Field)), re.Err)
		}
		return rec, err
	}
	return rec, nil
}

// permissions reads {resource: [action, …]} (JSON text, or the object itself) as scopes
// resource:action.
func permissions(r *baRow) ([]string, error) {
	v := r.raw("permissions")
	if v == nil {
		return nil, nil
	}
	if v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, r.err("permissions", errPermissions)
		}
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		v = json.RawMessage(s)
	}
	var m map[string][]string
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, r.err("permissions", errPermissions)
	}
	var scopes []string
	resources := make([]string, 0, len(m))
	for res := range m {
		resources = append(resources, res)
	}
	sort.Strings(resources)
	for _, res := range resources {
		for _, action := range m[res] {
			scopes = append(scopes, res+":"+action)
		}
	}
	out, err := keys.ValidScopes(scopes)
	if err != nil {
		return nil, r.err("permissions", err)
	}
	return out, nil
}

// metadata reads an object (or JSON text holding one, once or twice encoded). String values
// stay as they are; any other value becomes its JSON text (42, true, {"a":1}), so nothing the
// upstream relied on is lost.
func metadata(r *baRow) (map[string]string, error) {
	out := map[string]string{}
	v := r.raw("metadata")
	for depth := 0; v != nil && v[0] == '"'; depth++ {
		var s string
		if err := json.Unmarshal(v, &s); err != nil || depth == 2 {
			return nil, r.err("metadata", errMetadata)
		}
		v = json.RawMessage(strings.TrimSpace(s))
		if len(v) == 0 || string(v) == "null" {
			return out, nil
		}
	}
	if v == nil {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, r.err("metadata", errMetadata)
	}
	for k, val := range m {
		var s string
		if err := json.Unmarshal(val, &s); err == nil {
			out[k] = s
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, val); err != nil {
			return nil, r.err("metadata", errMetadata)
		}
		out[k] = b.String()
	}
	return out, nil
}
