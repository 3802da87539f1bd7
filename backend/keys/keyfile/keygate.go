package keyfile

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/keys"
)

// FormatName is the "format" of a Keygate export; Version its version.
const (
	FormatName = "keygate-keys"
	Version    = 1
)

// Export is Keygate's file for moving keys between instances: every key with everything
// about it, its secrets as SHA-256 hashes only — never a secret.
type Export struct {
	Format     string        `json:"format" enum:"keygate-keys"`
	Version    int           `json:"version"`
	ExportedAt time.Time     `json:"exportedAt"`
	Keys       []ExportedKey `json:"keys"`
}

// ExportedKey is one key of an Export. Durations are milliseconds.
type ExportedKey struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Prefix           string            `json:"prefix"`
	Start            string            `json:"start"`
	CreatedAt        time.Time         `json:"createdAt"`
	ExpiresAt        *time.Time        `json:"expiresAt"`
	RevokedAt        *time.Time        `json:"revokedAt"`
	RevokeReason     string            `json:"revokeReason"`
	DisabledAt       *time.Time        `json:"disabledAt"`
	LastUsedAt       *time.Time        `json:"lastUsedAt"`
	UsageCount       int64             `json:"usageCount"`
	RateLimit        int               `json:"rateLimit"`
	RateWindowMs     int64             `json:"rateWindowMs"`
	Scopes           []string          `json:"scopes"`
	Metadata         map[string]string `json:"metadata"`
	AllowIPs         []string          `json:"allowIps"`
	QuotaRemaining   *int64            `json:"quotaRemaining"`
	RefillAmount     int64             `json:"refillAmount"`
	RefillIntervalMs int64             `json:"refillIntervalMs"`
	LastRefillAt     *time.Time        `json:"lastRefillAt"`
	// Foreign says the secrets are in another product's format (an imported Better Auth key).
	Foreign bool             `json:"foreign"`
	Secrets []ExportedSecret `json:"secrets"`
}

// ExportedSecret is one secret of a key: base64url (no padding) of the SHA-256 of the key.
type ExportedSecret struct {
	Hash      string     `json:"hash"`
	CreatedAt time.Time  `json:"createdAt"`
	RetiresAt *time.Time `json:"retiresAt"`
}

// NewExport makes the export of recs.
func NewExport(recs []keys.Record, at time.Time) Export {
	e := Export{Format: FormatName, Version: Version, ExportedAt: at.UTC(), Keys: make([]ExportedKey, 0, len(recs))}
	for _, r := range recs {
		k := ExportedKey{ID: r.ID, Name: r.Name, Prefix: r.Prefix, Start: r.Start, CreatedAt: r.CreatedAt,
			ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, RevokeReason: r.RevokeReason, DisabledAt: r.DisabledAt,
			LastUsedAt: r.LastUsedAt, UsageCount: r.UsageCount, RateLimit: r.RateLimit,
			RateWindowMs: r.RateWindow.Milliseconds(), Scopes: r.Scopes, Metadata: r.Metadata, AllowIPs: r.AllowIPs,
			QuotaRemaining: r.Quota, RefillAmount: r.RefillAmount, RefillIntervalMs: r.RefillInterval.Milliseconds(),
			LastRefillAt: r.LastRefillAt, Foreign: r.Foreign, Secrets: make([]ExportedSecret, 0, len(r.Secrets))}
		if k.Scopes == nil {
			k.Scopes = []string{}
		}
		if k.Metadata == nil {
			k.Metadata = map[string]string{}
		}
		if k.AllowIPs == nil {
			k.AllowIPs = []string{}
		}
		for _, s := range r.Secrets {
			k.Secrets = append(k.Secrets, ExportedSecret{Hash: base64.RawURLEncoding.EncodeToString(s.Hash[:]),
				CreatedAt: s.CreatedAt, RetiresAt: s.RetiresAt})
		}
		e.Keys = append(e.Keys, k)
	}
	return e
}

var errUnknownField = invalid("unknown", "validation.field.unknown", "this field is not known", nil)

var errSecretHash = invalid("invalid", "validation.import.secret_hash",
	"must be a SHA-256 hash: 43 base64url characters", nil)

func parseKeygate(data []byte) ([]keys.Record, error) {
	var file struct {
		Format     string            `json:"format"`
		Version    int               `json:"version"`
		ExportedAt *time.Time        `json:"exportedAt"`
		Keys       []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, ErrNotJSON
	}
	if file.Format != FormatName {
		return nil, ErrFormat
	}
	if file.Version != Version {
		return nil, ErrVersion
	}
	if len(file.Keys) == 0 {
		return nil, keys.ErrImportEmpty
	}
	if len(file.Keys) > keys.MaxImport {
		return nil, keys.ErrImportTooMany
	}
	out := make([]keys.Record, 0, len(file.Keys))
	for i, raw := range file.Keys {
		var k ExportedKey
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&k); err != nil {
			if strings.HasPrefix(err.Error(), "json: unknown field ") {
				return nil, rowError(i, decodeField(err), errUnknownField)
			}
			return nil, rowError(i, decodeField(err), errType(decodeType(err)))
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, rowError(i, "", errType("object"))
		}
		rec := keys.Record{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Start: k.Start, CreatedAt: k.CreatedAt,
			ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, RevokeReason: k.RevokeReason, DisabledAt: k.DisabledAt,
			LastUsedAt: k.LastUsedAt, UsageCount: k.UsageCount, RateLimit: k.RateLimit,
			RateWindow: time.Duration(k.RateWindowMs) * time.Millisecond, Scopes: k.Scopes, Metadata: k.Metadata,
			AllowIPs: k.AllowIPs, Quota: k.QuotaRemaining, RefillAmount: k.RefillAmount,
			RefillInterval: time.Duration(k.RefillIntervalMs) * time.Millisecond, LastRefillAt: k.LastRefillAt,
			Foreign: k.Foreign}
		if k.RateWindowMs < 0 || k.RefillIntervalMs < 0 {
			field := "rateWindowMs"
			if k.RefillIntervalMs < 0 {
				field = "refillIntervalMs"
			}
			return nil, rowError(i, field, errWhole)
		}
		for _, s := range k.Secrets {
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s.Hash, "="))
			var h keys.Hash
			if err != nil || len(b) != len(h) {
				return nil, rowError(i, "secrets", errSecretHash)
			}
			copy(h[:], b)
			rec.Secrets = append(rec.Secrets, keys.Secret{Hash: h, CreatedAt: s.CreatedAt, RetiresAt: s.RetiresAt})
		}
		if err := keys.CheckRecord(&rec); err != nil {
			var re *keys.RowError
			if errors.As(err, &re) {
				return nil, &keys.RowError{Row: i, Field: sourceField(Keygate, re.Field), Err: re.Err}
			}
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// decodeField is the field a decoding error is about ("" when it cannot tell).
func decodeField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return strings.Trim(rest, `"`)
	}
	if strings.Contains(msg, "parsing time") {
		return "" // a time that is not RFC 3339; the type message says what is wanted
	}
	return ""
}

func decodeType(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		switch te.Type.Kind().String() {
		case "string":
			return "string"
		case "bool":
			return "boolean"
		case "slice":
			return "array"
		case "map", "struct":
			return "object"
		}
		return "number"
	}
	if strings.Contains(err.Error(), "parsing time") {
		return "RFC 3339 time"
	}
	return "object"
}
