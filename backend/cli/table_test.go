package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/cli"
	"github.com/keygate/keygate/backend/i18n"
)

// invisible are the zero-width direction characters the table may add.
var invisible = strings.NewReplacer(i18n.FSI, "", i18n.PDI, "", "\u200E", "")

// columnStarts returns, for one output line and the cells written to it, the terminal column
// at which each cell starts, found by searching the line (not by the table's arithmetic).
func columnStarts(t *testing.T, line string, cells []string) []int {
	t.Helper()
	line = invisible.Replace(line)
	var starts []int
	from := 0
	for _, c := range cells {
		i := strings.Index(line[from:], c)
		if i < 0 {
			t.Fatalf("cell %q not found in %q", c, line[from:])
		}
		starts = append(starts, i18n.Width(line[:from+i]))
		from += i + len(c)
	}
	return starts
}

func TestTableAlignsByDisplayWidth(t *testing.T) {
	rows := [][]string{
		{"ID", "NAME", "STATUS", "CREATED"},
		{"k1", "Billing (prod)", "active", "2026-11-30"},
		{"k2", "請求サービス", "revoked", "2026-11-29"},             // Japanese: two columns a character
		{"k3", "결제 서비스", "active", "2026-11-28"},              // Korean syllables
		{"k4", "cafe\u0301 ☕", "expired", "2026-11-27"},       // combining accent, a wide emoji
		{"k5", "مُفْتَاحُ الدَّفْعِ", "active", "2026-11-26"}, // Arabic with vowel marks
		{"k6", "מפתח תשלומים", "active", "2026-11-25"},        // Hebrew
		{"k7", "請求サービスＡＢ", "active", "2026-11-24"},            // fullwidth Latin: 16 columns
		{"k8", "ＡＢＣ全角", "active", "2026-11-23"},               // fullwidth Latin
	}
	for _, dir := range []string{"ltr", "rtl"} {
		var b bytes.Buffer
		tw := cli.NewTable(&b, dir, rows[0]...)
		for _, r := range rows[1:] {
			tw.Row(r...)
		}
		if err := tw.Flush(); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != len(rows) {
			t.Fatalf("%s: %d lines for %d rows:\n%s", dir, len(lines), len(rows), b.String())
		}
		want := columnStarts(t, lines[0], rows[0])
		for i, line := range lines {
			if got := columnStarts(t, line, rows[i]); !equalInts(got, want) {
				t.Errorf("%s: line %d starts its columns at %v, the header at %v:\n%s", dir, i, got, want, invisible.Replace(b.String()))
			}
			if strings.HasSuffix(line, " ") {
				t.Errorf("%s: line %d ends in spaces: %q", dir, i, line)
			}
		}
		// The widest NAME is 請求サービスＡＢ: 8 characters, 16 columns (counting characters,
		// "Billing (prod)" would win with 14); two spaces follow it.
		if want[2]-want[1] != 18 {
			t.Errorf("%s: NAME column is %d columns wide, want 16 + 2", dir, want[2]-want[1])
		}
	}
}

func TestTableExactOutput(t *testing.T) {
	var b bytes.Buffer
	tw := cli.NewTable(&b, "ltr", "NAME", "ID")
	tw.Row("キー", "k1")
	tw.Row("日本語", "k2")
	tw.Row("x", "")
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "NAME    ID\nキー    k1\n日本語  k2\nx       \n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	// ASCII in a left-to-right language: nothing invisible, so cut and awk keep working.
	b.Reset()
	tw = cli.NewTable(&b, "ltr", "ID", "PREFIX")
	tw.Row("r_1", "/api")
	_ = tw.Flush()
	if got := b.String(); got != "ID   PREFIX\nr_1  /api\n" {
		t.Errorf("plain table: %q", got)
	}
	// A tab or newline in a cell cannot break the layout.
	b.Reset()
	tw = cli.NewTable(&b, "ltr", "A", "B")
	tw.Row("x\ty\nz", "1")
	_ = tw.Flush()
	if got := b.String(); got != "A      B\nx\uFFFDy\uFFFDz  1\n" {
		t.Errorf("control characters: %q", got)
	}
}

func TestTableIsolatesRightToLeft(t *testing.T) {
	var b bytes.Buffer
	tw := cli.NewTable(&b, "rtl", "מזהה", "שם", "קידומת")
	tw.Row("k_1", "Billing (prod)", "/api")
	_ = tw.Flush()
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "\u200E"+i18n.FSI) {
			t.Errorf("line does not start with LRM and an isolate: %q", line)
		}
		if strings.Count(line, i18n.FSI) != 3 || strings.Count(line, i18n.PDI) != 3 {
			t.Errorf("each of the 3 cells must be isolated: %q", line)
		}
	}
	if !strings.Contains(b.String(), i18n.FSI+"/api"+i18n.PDI) || !strings.Contains(b.String(), i18n.FSI+"Billing (prod)"+i18n.PDI) {
		t.Errorf("values not isolated: %q", b.String())
	}
	// In a left-to-right table, a cell with Hebrew text or a direction override is isolated
	// too, and then every cell of the table is, so the line stays in order.
	b.Reset()
	tw = cli.NewTable(&b, "ltr", "ID", "NAME")
	tw.Row("k_1", "evil\u202Egnp.exe")
	_ = tw.Flush()
	if !strings.Contains(b.String(), i18n.FSI+"evil\u202Egnp.exe"+i18n.PDI) {
		t.Errorf("override not isolated: %q", b.String())
	}
}

// TestKeysListLinesUpInEveryLanguage runs the real command with a Japanese and a Hebrew key
// name in Japanese and Hebrew and checks the columns of its output.
func TestKeysListLinesUpInEveryLanguage(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"請求サービス", "מפתח תשלומים", "Billing (prod)"} {
		if r := run(t, dir, "", "keys", "create", "--name", name, "--json"); r.code != 0 {
			t.Fatalf("create %q: %+v", name, r)
		}
	}
	for _, lang := range []string{"en", "ja", "he", "ar", "de"} {
		t.Setenv("KEYGATE_LANG", lang)
		r := run(t, dir, "", "keys", "list")
		if r.code != 0 {
			t.Fatalf("%s: %+v", lang, r)
		}
		lines := strings.Split(strings.TrimSuffix(invisible.Replace(r.stdout), "\n"), "\n")
		if len(lines) != 4 {
			t.Fatalf("%s: want a header and 3 keys:\n%s", lang, r.stdout)
		}
		header := strings.Fields(lines[0])
		if lang != "en" && lang != "de" && header[1] == "NAME" {
			t.Errorf("%s: header not translated: %q", lang, lines[0])
		}
		// The second column (NAME) starts at the same terminal column on every line, and so
		// does the fourth (STATUS: after START, which is ASCII).
		var nameCol, statusCol []int
		for _, line := range lines[1:] {
			f := strings.SplitN(line, "  ", 2)
			rest := strings.TrimLeft(f[1], " ")
			nameCol = append(nameCol, i18n.Width(line[:len(line)-len(rest)]))
			for _, st := range []string{"active"} {
				if i := strings.Index(line, st); i >= 0 {
					statusCol = append(statusCol, i18n.Width(line[:i]))
				}
			}
		}
		if !allSame(nameCol) || len(statusCol) != 3 || !allSame(statusCol) {
			t.Errorf("%s: names start at %v, statuses at %v:\n%s", lang, nameCol, statusCol, invisible.Replace(r.stdout))
		}
		if (lang == "he" || lang == "ar") && !strings.Contains(r.stdout, i18n.FSI) {
			t.Errorf("%s: cells are not isolated:\n%q", lang, r.stdout)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func allSame(a []int) bool {
	for _, v := range a {
		if v != a[0] {
			return false
		}
	}
	return len(a) > 0
}

// TestRoutesListHeadersFollowTheLanguage: the routes table has its headers from the catalog
// and its columns line up in Hebrew, whose headers are right-to-left and values left-to-right.
func TestRoutesListHeadersFollowTheLanguage(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, dir, "", "routes", "add", "/api", "http://127.0.0.1:9000"); r.code != 0 {
		t.Fatalf("routes add: %+v", r)
	}
	t.Setenv("KEYGATE_LANG", "he")
	r := run(t, dir, "", "routes", "list")
	if r.code != 0 {
		t.Fatalf("routes list: %+v", r)
	}
	lines := strings.Split(strings.TrimSuffix(invisible.Replace(r.stdout), "\n"), "\n")
	prefix, upstream := i18n.T("he", "cli.routes.col.prefix", nil), i18n.T("he", "cli.routes.col.upstream", nil)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], prefix) || strings.Contains(lines[0], "PREFIX") {
		t.Fatalf("want a Hebrew header and one route:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, i18n.FSI+"/api"+i18n.PDI) {
		t.Errorf("the prefix is not isolated: %q", r.stdout)
	}
	h := columnStarts(t, lines[0], []string{prefix, upstream})
	v := columnStarts(t, lines[1], []string{"/api", "http://127.0.0.1:9000"})
	if !equalInts(h, v) {
		t.Errorf("header columns at %v, values at %v:\n%s", h, v, lines)
	}
}
