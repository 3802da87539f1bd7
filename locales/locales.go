// Package locales embeds Keygate's message catalogs, one go-i18n TOML file per language
// (active.<tag>.toml). English (active.en.toml) is the source; backend/i18n loads the files,
// checks them and serves them to Go code and, as JSON, to the frontend.
//
// Conventions for the files (tests in backend/i18n enforce them):
//   - one message per line, quoted dotted ids, no [table] headers, so that appending a line
//     at the end of a file can never land inside someone else's table:
//     "keys.create.title" = "Create key"
//   - plural messages as inline tables with the CLDR forms of the file's language and the
//     placeholder {{.Count}}: "keys.count" = { one = "{{.Count}} key", other = "{{.Count}} keys" }
//   - placeholders are plain {{.Name}} fields, nothing else of Go's template language.
package locales

import "embed"

// FS holds every active.<tag>.toml catalog.
//
//go:embed active.*.toml
var FS embed.FS
