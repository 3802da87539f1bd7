package store

import (
	"net/url"
	"strings"
)

// URI is the SQLite URI of the database file at path with the given query parameters
// (SQLite's own, such as mode, and mattn/go-sqlite3's, such as _busy_timeout). The path is
// percent-encoded byte by byte except for unreserved characters and '/', so '#', '?', '%',
// spaces, ';', '&' and non-ASCII in a data directory name stay part of the file name: written
// raw, "file:/x/my#data/keygate.db" opens "/x/my" and "a?b" starts the query. A path that
// begins with "//" gets an empty authority ("file:////…") so that its first segment is not
// read as a host.
func URI(path string, params url.Values) string {
	var b strings.Builder
	b.Grow(len(path) + 16)
	b.WriteString("file:")
	if strings.HasPrefix(path, "//") {
		b.WriteString("//")
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	if len(params) > 0 {
		b.WriteByte('?')
		b.WriteString(params.Encode())
	}
	return b.String()
}
