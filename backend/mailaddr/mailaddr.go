// Package mailaddr holds the one rule by which Keygate decides that two e-mail addresses name
// the same console account. Both stores keep the result in users.email_key (and
// invitations.email_key) and compare only that, in binary, so SQLite and PostgreSQL agree; the
// address itself is kept and shown as it was typed.
package mailaddr

import (
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Key is the address's comparison key: spaces trimmed, decomposed (NFD), full-width and
// half-width forms mapped to their usual width (ＡＤＡ → ADA), Unicode full case folding
// (Ü → ü, ß and ẞ → ss, K (Kelvin sign) → k), then composed again (NFC). These are the
// mapping steps of RFC 8265's UsernameCaseMapped profile, with case folding where it
// lower-cases so that ß matches ss, and decomposition first as Unicode's canonical caseless
// match asks (a composed Ü and U + combining diaeresis are the same address). Both the local
// part and the domain are folded: mail systems treat the local part's case as insignificant in
// practice, and one account per person matters more than two mailboxes differing only in case.
//
// Changing this rule changes which stored accounts match: it needs a migration that recomputes
// every stored key (see the store's 0015_email_key migration) and refuses collisions.
func Key(address string) string {
	s := norm.NFD.String(strings.TrimSpace(address))
	s = width.Fold.String(s)
	s = cases.Fold().String(s)
	return norm.NFC.String(s)
}
