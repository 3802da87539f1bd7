package routes

import "sort"

// Matches reports whether path lies under prefix by whole segments: "/api" matches "/api" and
// "/api/x" but not "/apix"; "/" matches every absolute path.
func Matches(prefix, path string) bool {
	if prefix == "/" {
		return len(path) > 0 && path[0] == '/'
	}
	if len(path) < len(prefix) || path[:len(prefix)] != prefix {
		return false
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}

// Table finds the route for a path. It is immutable once built, so a gateway can swap tables
// atomically while requests read the old one.
type Table[T any] struct {
	entries []tableEntry[T]
}

type tableEntry[T any] struct {
	prefix string
	value  T
}

// NewTable builds a table from prefixes and their values; the longest matching prefix wins.
func NewTable[T any](prefixes []string, values []T) *Table[T] {
	t := &Table[T]{entries: make([]tableEntry[T], len(prefixes))}
	for i, p := range prefixes {
		t.entries[i] = tableEntry[T]{prefix: p, value: values[i]}
	}
	sort.SliceStable(t.entries, func(i, j int) bool { return len(t.entries[i].prefix) > len(t.entries[j].prefix) })
	return t
}

// Match returns the value of the longest prefix that matches path.
func (t *Table[T]) Match(path string) (T, string, bool) {
	for i := range t.entries {
		e := &t.entries[i]
		if Matches(e.prefix, path) {
			return e.value, e.prefix, true
		}
	}
	var zero T
	return zero, "", false
}

// Len is the number of entries.
func (t *Table[T]) Len() int { return len(t.entries) }
