package keyfile_test

import (
	"errors"
	"os"
	"testing"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/keys/keyfile"
	"github.com/keygate/keygate/backend/problem"
)

// FuzzParse: any file is either read into records that Import's rules accept, or refused with
// an input error (a problem.Invalid, a row's naming a row that exists) — never a panic, never
// a server error.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/betterauth.json"); err == nil {
		f.Add(b, false)
	}
	f.Add([]byte(`[{"key": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "metadata": "\"{\\\"a\\\": 1}\"", "permissions": {"f": ["r"]}, "expiresAt": 1735700000000}]`), false)
	f.Add([]byte(`[{"key": "plain key", "enabled": 0, "remaining": "5", "createdAt": "2025-01-02 03:04:05"}]`), true)
	f.Add([]byte(`{"format": "keygate-keys", "version": 1, "keys": [{"id": "key_a", "name": "x", "secrets": [{"hash": "I0efQ4nFhajqlLlgwiFSGyfgRDesQvDe-JU-SF3CQLI", "createdAt": "2025-01-01T00:00:00Z"}]}]}`), false)
	f.Fuzz(func(t *testing.T, data []byte, plain bool) {
		_, recs, err := keyfile.Parse(data, "", keyfile.Options{PlainKeys: plain})
		if err != nil {
			if !problem.IsInvalid(err) {
				t.Fatalf("a refusal that is not an input error: %v", err)
			}
			var re *keys.RowError
			if errors.As(err, &re) && re.Row < 0 {
				t.Fatalf("a row error names row %d", re.Row)
			}
			return
		}
		for i := range recs {
			if err := keys.CheckRecord(&recs[i]); err != nil {
				t.Fatalf("record %d was read but Import would refuse it: %v", i, err)
			}
			if len(recs[i].Secrets) == 0 {
				t.Fatalf("record %d has no secret", i)
			}
		}
	})
}
