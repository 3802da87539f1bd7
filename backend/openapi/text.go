package openapi

import "github.com/keygate/keygate/backend/i18n"

// text is one of Keygate's own texts in a generated document (titles, descriptions, tag names,
// catch-all operations, security schemes) in lang, from the message catalogs; "" and
// languages Keygate does not ship are English. Upstream documents' own text never goes
// through it: it stays as written.
func text(lang, id string, data map[string]any) string {
	return i18n.T(lang, id, data)
}
