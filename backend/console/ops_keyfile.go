package console

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/keys/keyfile"
	"github.com/keygate/keygate/backend/problem"
)

// ImportKeysBodyBytes bounds ImportKeys' request body: a file of keyfile.MaxBytes as a JSON
// string (quotes and newlines escaped) with room to spare.
const ImportKeysBodyBytes = 2 * keyfile.MaxBytes

// ImportKeysInput imports keys from a file.
type ImportKeysInput struct {
	Org string `json:"org"`
	// Format is better-auth or keygate; empty detects it (an array is Better Auth's table).
	Format string `json:"format" enum:"better-auth,keygate" doc:"better-auth (a JSON array of rows of Better Auth's apikey table) or keygate (a Keygate export); empty detects it."`
	// File is the file's text.
	File string `json:"file" required:"true" doc:"The file's contents (JSON text), at most 32 MiB."`
	// PlainKeys says Better Auth's key column holds the keys themselves (disableKeyHashing).
	PlainKeys bool `json:"plainKeys" doc:"Better Auth's key column holds the keys themselves (the plugin ran with disableKeyHashing): they are hashed, never stored."`
	// DryRun checks everything and imports nothing.
	DryRun bool `json:"dryRun" doc:"Check the file (against the store too) and import nothing."`
}

// ImportKeysResult says what an import did (or would do).
type ImportKeysResult struct {
	Format string `json:"format" enum:"better-auth,keygate"`
	// Count is how many keys were (or, in a dry run, would be) imported.
	Count int `json:"count"`
	// Foreign is how many of them have secrets in another product's format.
	Foreign int  `json:"foreign"`
	DryRun  bool `json:"dryRun"`
}

// ExportKeysInput selects the organization to export.
type ExportKeysInput struct {
	Org string `json:"org"`
}

func (s *Service) importKeys(ctx context.Context, c *Call, in *ImportKeysInput) (ImportKeysResult, error) {
	if len(in.File) > keyfile.MaxBytes {
		return ImportKeysResult{}, &Error{Status: http.StatusRequestEntityTooLarge, Code: problem.CodePayloadTooLarge,
			Msg: "validation.import.too_large", Data: map[string]any{"Size": keyfile.MaxBytes >> 20}}
	}
	switch keyfile.Format(in.Format) {
	case "", keyfile.BetterAuth, keyfile.Keygate:
	default:
		return ImportKeysResult{}, keyfile.ErrFormat
	}
	// The format named in the audit entry is known before the import, so that the entry is
	// written in the import's transaction (an undetectable file fails in Import as before).
	format := keyfile.Format(in.Format)
	if format == "" {
		format, _ = keyfile.Detect([]byte(in.File))
	}
	// One entry for the whole import: no secret, no hash, no key.created webhook per key
	// (the keys existed before, elsewhere; thousands of events would drown the endpoint).
	importer := s.Keys.ImportRecording(func(ctx context.Context, tx *sql.Tx, res keys.ImportResult) error {
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Actor: c.actor(), OrgID: in.Org, Action: audit.KeyImport,
			Detail:     fmt.Sprintf("%d keys from %s, %d in another format", res.Count, format, res.Foreign),
			ClientAddr: c.ClientAddr}, nil)
	})
	f, res, err := keyfile.Import(ctx, importer, in.Org, c.createdBy(), []byte(in.File), format,
		keyfile.Options{PlainKeys: in.PlainKeys, Now: s.Clock.Now()}, in.DryRun)
	var re *keys.RowError
	if errors.As(err, &re) {
		return ImportKeysResult{}, rowProblem(re)
	}
	if err != nil {
		return ImportKeysResult{}, err
	}
	if !res.DryRun {
		s.Audit.Committed(ctx)
	}
	return ImportKeysResult{Format: string(f), Count: res.Count, Foreign: res.Foreign, DryRun: res.DryRun}, nil
}

// rowProblem is a refused import: its detail says nothing was imported and names the row (its
// index in the file) and the field; the field error explains the rule.
func rowProblem(re *keys.RowError) *Error {
	field := fmt.Sprintf("rows[%d]", re.Row)
	msg := "problem.VALIDATION.import_row.detail"
	if re.Field != "" {
		field += "." + re.Field
		msg = "problem.VALIDATION.import_field.detail"
	}
	return &Error{Status: http.StatusBadRequest, Code: problem.CodeValidation, Msg: msg,
		Data: map[string]any{"Row": re.Row, "Field": re.Field}, Fields: []*problem.Invalid{re.Err.On(field)}}
}

func (s *Service) exportKeys(ctx context.Context, c *Call, in *ExportKeysInput) (keyfile.Export, error) {
	recs, err := s.Keys.Export(ctx, in.Org)
	if err != nil {
		return keyfile.Export{}, err
	}
	if err := s.recordFirst(ctx, c, in.Org, audit.KeyExport, "", fmt.Sprintf("%d keys", len(recs))); err != nil {
		return keyfile.Export{}, err
	}
	return keyfile.NewExport(recs, s.Clock.Now()), nil
}
