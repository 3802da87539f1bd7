package gateway

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
)

// candidates are the strings of logged text that could be an imported key's secret, gathered
// from a whole batch so that they are looked up at once.
type candidates struct {
	// look maps each string to look up to whether it is a finest piece (masked when the lookup
	// fails).
	look map[string]bool
	// forms maps a string looked up after percent-decoding to the text it was decoded from:
	// that text is what is masked when it is found.
	forms map[string][]string
	// runs counts the runs of pieces added (for tests: each string adds at most
	// 2 × maxStringRuns).
	runs int
	// finestOnly leaves out runs and decoded text (the store cannot answer: only the finest
	// pieces are masked then, and nothing is looked up).
	finestOnly bool
}

// Bounds on the runs of pieces looked up, so that a hostile line cannot blow up the work: a run
// joins at most maxRunPieces pieces and takes at most maxRunEdge characters of the punctuation
// on either side; one string tries at most maxStringRuns runs as sent and as many decoded. So
// a batch looks up its words and pieces, as before, and at most 2 × maxStringRuns more strings
// for each string it masks: the work grows with the batch, never with how a line is cut.
const (
	maxRunPieces  = 12
	maxRunEdge    = 2
	maxStringRuns = 512
)

// maxForeignWord is the longest secret an import accepts.
const maxForeignWord = 512

// errFinestOnly stands for a lookup not made: the finder could not say whether imported keys
// exist.
var errFinestOnly = errors.New("imported keys unknown")

func newCandidates() *candidates {
	return &candidates{look: map[string]bool{}, forms: map[string][]string{}}
}

// add adds the candidates of s: each word between blanks and quoting or list punctuation, its
// pieces between URL and assignment punctuation (so "token=SECRET", "/v1/SECRET/x",
// "key:SECRET" and "(SECRET)" each yield SECRET), and every run of up to maxRunPieces
// neighbouring pieces with the punctuation between them as it was, with and without the
// punctuation on either side (so an imported secret that itself holds = : / ? & # @ is found
// glued to other text: "token=abc:Def/ghi=123", "/x/abc:Def/ghi=123/y"). A word with percent
// escapes is gone through again decoded, its findings masked in their encoded form.
func (c *candidates) add(s string) {
	if len(s) < minForeignWord || s == Redacted {
		return
	}
	budget := maxStringRuns
	for _, word := range strings.FieldsFunc(s, coarseSeparator) {
		c.word(word, encoded{}, &budget)
	}
	if c.finestOnly || !strings.Contains(s, "%") {
		return
	}
	dec, at, ok := decodeEscapes(s)
	if !ok {
		return
	}
	budget = maxStringRuns
	// Decoded, a %20 or %22 is a blank or quote again: the words are cut anew.
	for i := 0; i < len(dec); {
		if coarseSeparator(rune(dec[i])) {
			i++
			continue
		}
		j := i
		for j < len(dec) && !coarseSeparator(rune(dec[j])) {
			j++
		}
		c.word(dec[i:j], encoded{s, at[i : j+1]}, &budget)
		i = j
	}
}

// encoded is where a decoded word came from: at[k] is the offset in text of the word's k-th
// byte (at[len(word)], of its end). Zero for a word as it was sent.
type encoded struct {
	text string
	at   []int
}

// word adds the candidates of one word.
func (c *candidates) word(w string, from encoded, budget *int) {
	if len(w) < minForeignWord {
		return
	}
	finest := from.at == nil
	if !strings.ContainsFunc(w, fineSeparator) {
		c.put(w, 0, len(w), from, finest)
		return
	}
	c.put(w, 0, len(w), from, false)
	// pieces[k] = [start, end) of the k-th piece; seps between them as they were.
	var pieces [][2]int
	for i := 0; i < len(w); {
		if fineSeparator(rune(w[i])) {
			i++
			continue
		}
		j := i
		for j < len(w) && !fineSeparator(rune(w[j])) {
			j++
		}
		pieces = append(pieces, [2]int{i, j})
		i = j
	}
	for _, p := range pieces {
		c.put(w, p[0], p[1], from, finest)
	}
	if c.finestOnly {
		return
	}
	// Runs of pieces as they are first, shorter ones first (more likely a secret than a whole
	// path); then with up to maxRunEdge characters of the punctuation before or after them (a
	// secret that starts or ends with it: base64's "==").
	for _, edges := range [...]bool{false, true} {
		for span := 1; span <= maxRunPieces; span++ {
			for k := 0; k+span <= len(pieces); k++ {
				start, end := pieces[k][0], pieces[k+span-1][1]
				before, after := 0, 0
				if edges {
					for before < maxRunEdge && start-before > 0 && fineSeparator(rune(w[start-before-1])) {
						before++
					}
					for after < maxRunEdge && end+after < len(w) && fineSeparator(rune(w[end+after])) {
						after++
					}
				}
				for b := 0; b <= before; b++ {
					for a := 0; a <= after; a++ {
						i, j := start-b, end+a
						if edges == (a == 0 && b == 0) || span == 1 && !edges || j-i < minForeignWord || i == 0 && j == len(w) {
							continue // the piece itself, a run already added, or the word
						}
						if j-i > maxForeignWord {
							continue
						}
						if *budget == 0 {
							return
						}
						*budget-- // repeated runs count too: the work is bounded, not only the lookups
						if c.put(w, i, j, from, false) {
							c.runs++
						}
					}
				}
			}
		}
	}
}

// put adds w[i:j] (and, for a decoded word, the text it was decoded from); it reports whether
// the string was new.
func (c *candidates) put(w string, i, j int, from encoded, finest bool) bool {
	s := w[i:j]
	if len(s) < minForeignWord || len(s) > maxForeignWord || strings.Contains(s, Redacted) {
		return false
	}
	was, seen := c.look[s]
	c.look[s] = was || finest
	if from.at != nil {
		if e := from.text[from.at[i]:from.at[j]]; e != s && !slices.Contains(c.forms[s], e) {
			c.forms[s] = append(c.forms[s], e)
		}
	}
	return !seen
}

// decodeEscapes decodes the valid %XX escapes of s (others are kept as they are); at[k] is
// where the k-th decoded byte began in s, at[len(dec)] = len(s). ok is false when s has none.
func decodeEscapes(s string) (dec string, at []int, ok bool) {
	var b []byte
	for i := 0; i < len(s); {
		if s[i] == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			if b == nil {
				b = make([]byte, 0, len(s))
				at = make([]int, 0, len(s)+1)
				for k := 0; k < i; k++ {
					b = append(b, s[k])
					at = append(at, k)
				}
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			at = append(at, i)
			i += 3
			continue
		}
		if b != nil {
			b = append(b, s[i])
			at = append(at, i)
		}
		i++
	}
	if b == nil {
		return "", nil, false
	}
	return string(b), append(at, len(s)), true
}

// find looks the candidates up and returns the texts to mask, longest first (a text that holds
// a shorter found one is replaced whole). When the lookup fails (the database is unreachable)
// every finest candidate counts as found: the logs lose detail for a while rather than keep a
// secret.
func (m logMask) find(ctx context.Context, c *candidates) []string {
	if len(c.look) == 0 {
		return nil
	}
	list := make([]string, 0, len(c.look))
	for w := range c.look {
		list = append(list, w)
	}
	var got map[string]bool
	var err error
	if c.finestOnly {
		err = errFinestOnly
	} else {
		got, err = m.finder.ForeignSecrets(ctx, list)
	}
	var found []string
	for _, w := range list {
		if err != nil && c.look[w] || got[w] {
			found = append(found, w)
			found = append(found, c.forms[w]...)
		}
	}
	sort.Slice(found, func(i, j int) bool { return len(found[i]) > len(found[j]) })
	return found
}

func replaceFound(s string, found []string) string {
	for _, w := range found {
		if strings.Contains(s, w) {
			s = strings.ReplaceAll(s, w, Redacted)
		}
	}
	return s
}

// coarseSeparator ends a word: blanks, control characters, quoting and list punctuation.
func coarseSeparator(r rune) bool {
	return r <= ' ' || r == 0x7f || strings.ContainsRune(",;\"'()<>[]{}|\\`", r)
}

// fineSeparator cuts a word into pieces: URL and assignment punctuation.
func fineSeparator(r rune) bool { return strings.ContainsRune("=:/?&#@!*$+%", r) }
