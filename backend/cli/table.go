package cli

import (
	"io"
	"strings"
	"unicode"

	"github.com/keygate/keygate/backend/i18n"
)

// Table writes rows in columns that line up in a terminal in every script. Every CLI table
// goes through it (not text/tabwriter, which counts bytes or runes, not columns):
//   - a column is as wide as its widest cell in terminal columns (i18n.Width: 日本語 and
//     한국어 take two columns a character, Arabic vowel marks and Hebrew points none);
//   - cells are separated by two spaces and the last cell of a line is not padded;
//   - in a right-to-left language, and for any cell holding right-to-left text or direction
//     controls, each cell is isolated (U+2068 … U+2069) and the line starts with U+200E, so a
//     terminal that lays out bidirectional text keeps the columns in order, left to right,
//     with each header over its column, while a plain terminal shows the same columns;
//   - control characters (a tab or newline in a name) are shown as U+FFFD instead of
//     breaking the layout.
//
// English tables of left-to-right text carry no invisible characters, so scripts that cut
// columns keep working (they should still prefer --json).
type Table struct {
	w    io.Writer
	dir  string
	rows [][]string
}

// lrm (LEFT-TO-RIGHT MARK) starts a line whose cells are isolated: it makes the line a
// left-to-right paragraph for terminals that guess the direction from its first letter.
const lrm = "\u200E"

// NewTable returns a table that writes to w once Flush is called; dir is the direction of
// the language of its text ("ltr" or "rtl", see i18n.Dir). header may be empty for a table of
// label and value pairs.
func NewTable(w io.Writer, dir string, header ...string) *Table {
	t := &Table{w: w, dir: dir}
	if len(header) > 0 {
		t.Row(header...)
	}
	return t
}

// Table returns a table of the command's output in the user's language; header names the
// columns (already translated).
func (e *Env) Table(header ...string) *Table {
	return NewTable(e.Stdout, i18n.Dir(e.lang()), header...)
}

// headers translates the catalog ids of a table's column headers.
func (e *Env) headers(ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = e.t(id, nil)
	}
	return out
}

// Row adds a line of cells; a row may have fewer cells than others.
func (t *Table) Row(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return '\uFFFD'
			}
			return r
		}, c)
	}
	t.rows = append(t.rows, row)
}

// Flush writes every row added and forgets them.
func (t *Table) Flush() error {
	var widths []int
	isolate := t.dir == i18n.RTL
	for _, row := range t.rows {
		for i, c := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], i18n.Width(c))
			if i18n.Isolate(t.dir, c) != c {
				isolate = true
			}
		}
	}
	var b strings.Builder
	for _, row := range t.rows {
		if isolate {
			b.WriteString(lrm)
		}
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			if isolate {
				b.WriteString(i18n.FSI + c + i18n.PDI)
			} else {
				b.WriteString(c)
			}
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-i18n.Width(c)))
			}
		}
		b.WriteByte('\n')
	}
	t.rows = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}
