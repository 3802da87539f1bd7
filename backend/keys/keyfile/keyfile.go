// Package keyfile reads and writes the files keys move in: Better Auth's apikey table (a JSON
// array of its rows) and Keygate's own export. It turns them into keys.Record values, naming
// the row and the field of the first thing it cannot take; backend/keys imports them.
package keyfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/problem"
)

// Format names a file format.
type Format string

// The formats Parse reads.
const (
	BetterAuth Format = "better-auth" // a JSON array of rows of Better Auth's apikey table
	Keygate    Format = "keygate"     // Keygate's export (Export, FormatName)
)

// MaxBytes is the largest file Parse takes.
const MaxBytes = 32 << 20

// Options adjust how a file is read.
type Options struct {
	// PlainKeys says Better Auth's key column holds the keys themselves (the plugin ran with
	// disableKeyHashing): they are hashed here and never stored as they are.
	PlainKeys bool
	// Now is the time of the import: when a disabled Better Auth key counts as disabled.
	Now time.Time
}

var (
	// ErrFormat means a format other than better-auth or keygate, or a file that is neither.
	ErrFormat error = &problem.Invalid{Field: "format", Code: "invalid", Msg: "validation.import.format",
		Text: "format must be better-auth (a JSON array of apikey rows) or keygate (a Keygate export)"}
	// ErrNotJSON means a file that is not JSON text.
	ErrNotJSON error = &problem.Invalid{Field: "file", Code: "json", Msg: "validation.import.json",
		Text: "the file is not valid JSON"}
	// ErrTooLarge means a file over MaxBytes.
	ErrTooLarge error = &problem.Invalid{Field: "file", Code: "too_large", Msg: "validation.import.too_large",
		Data: map[string]any{"Size": MaxBytes >> 20}, Text: fmt.Sprintf("the file is larger than %d MiB", MaxBytes>>20)}
	// ErrVersion means a Keygate export of a version this Keygate cannot read.
	ErrVersion error = &problem.Invalid{Field: "file", Code: "version", Msg: "validation.import.version",
		Data: map[string]any{"Version": Version}, Text: fmt.Sprintf("this Keygate reads export version %d", Version)}
)

// Detect says which format data is in: a JSON array is Better Auth's table, an object with
// "format": "keygate-keys" Keygate's export.
func Detect(data []byte) (Format, error) {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	t = bytes.TrimPrefix(t, []byte("\ufeff"))
	switch {
	case len(t) == 0:
		return "", ErrNotJSON
	case t[0] == '[':
		return BetterAuth, nil
	case t[0] == '{':
		var head struct {
			Format string `json:"format"`
		}
		if err := json.Unmarshal(t, &head); err != nil {
			return "", ErrNotJSON
		}
		if head.Format == FormatName {
			return Keygate, nil
		}
	}
	return "", ErrFormat
}

// Parse reads a file in format f ("" detects it) into records, and says which format it read.
// The error is a *keys.RowError naming the row (its index in the file) and the field as the
// file spells it, or a *problem.Invalid about the file as a whole.
func Parse(data []byte, f Format, o Options) (Format, []keys.Record, error) {
	if len(data) > MaxBytes {
		return f, nil, ErrTooLarge
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if f == "" {
		var err error
		if f, err = Detect(data); err != nil {
			return f, nil, err
		}
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var recs []keys.Record
	var err error
	switch f {
	case BetterAuth:
		recs, err = parseBetterAuth(data, o)
	case Keygate:
		recs, err = parseKeygate(data)
	default:
		return f, nil, ErrFormat
	}
	return f, recs, err
}

// rowError names row's field with one of this package's rules.
func rowError(row int, field string, inv error) error {
	var p *problem.Invalid
	if !errors.As(inv, &p) {
		return inv
	}
	return &keys.RowError{Row: row, Field: field, Err: p}
}

// invalid is a rule about one field's value in a file.
func invalid(code, msg, text string, data map[string]any) *problem.Invalid {
	return &problem.Invalid{Code: code, Msg: msg, Text: text, Data: data}
}

var (
	errType = func(want string) *problem.Invalid {
		return invalid("type", "validation.json.type", "has the wrong type: want "+want, map[string]any{"Type": want})
	}
	errDate = invalid("invalid", "validation.import.date",
		"must be an ISO 8601 date and time or milliseconds since 1970", nil)
	errWhole = invalid("invalid", "validation.import.whole",
		"must be a whole number of 0 or more", nil)
)

// sourceFields names, per format, the file's field for each Record field that rules about a
// key's values (backend/keys) refer to.
var sourceFields = map[Format]map[string]string{
	BetterAuth: {"secrets": "key", "scopes": "permissions", "rateLimit": "rateLimitMax", "rateWindow": "rateLimitTimeWindow",
		"quota": "remaining", "refill": "refillInterval", "expiresAt": "expiresAt", "usageCount": "requestCount"},
	Keygate: {"rateWindow": "rateWindowMs", "quota": "quotaRemaining", "refill": "refillIntervalMs"},
}

// inFile renames a *keys.RowError's field to the file's spelling of it in format f.
func inFile(f Format, err error) error {
	var re *keys.RowError
	if !errors.As(err, &re) {
		return err
	}
	if name, ok := sourceFields[f][re.Field]; ok {
		return &keys.RowError{Row: re.Row, Field: name, Err: re.Err}
	}
	return re
}

// sourceField is format f's name for Record field name.
func sourceField(f Format, name string) string {
	if n, ok := sourceFields[f][name]; ok {
		return n
	}
	return name
}

// Importer is where Import puts the keys (keys.Service).
type Importer interface {
	Import(ctx context.Context, orgID, by string, recs []keys.Record, dryRun bool) (keys.ImportResult, error)
}

var (
	_ Importer = (*keys.Service)(nil)
	_ Importer = keys.RecordedImport{}
)

// Import reads data in format f ("" detects it) and imports its keys into organization orgID
// as by, all or none (dryRun: checks everything, writes nothing). A refusal names the row and
// the field as the file spells them.
func Import(ctx context.Context, to Importer, orgID, by string, data []byte, f Format, o Options, dryRun bool) (Format, keys.ImportResult, error) {
	f, recs, err := Parse(data, f, o)
	if err != nil {
		return f, keys.ImportResult{}, inFile(f, err)
	}
	res, err := to.Import(ctx, orgID, by, recs, dryRun)
	return f, res, inFile(f, err)
}
