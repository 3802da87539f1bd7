package contract_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// gen makes values from kin-openapi schemas with a seeded source: valid ones (examples and
// enums first, bounds respected), and the hostile ones the contract test sends instead.
type gen struct {
	r *rand.Rand
	n int // a counter that keeps generated names apart
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// oddStrings are strings no input should choke on.
var oddStrings = []string{
	"",
	" ",
	"\x00",
	"a\x00b",
	"\u202Egnp.exe",            // right-to-left override
	"\u2068isolated\u2069",     // isolates
	"😀🔑👩‍👩‍👧‍👦",                // emoji, ZWJ sequence
	"e\u0301\u0301\u0301",      // combining marks
	"\ufeffbom",                // byte order mark
	"line\nbreak\r\n\ttab",     // control characters
	"\u0000\u001f\u007f\u0085", // C0, DEL, C1
	"../../../etc/passwd",
	"%2e%2e%2f%00",
	"' OR 1=1 --",
	"<script>alert(1)</script>",
	"{{.Secret}}",
	"password123", "1234567890", // long enough, but common
	"${jndi:ldap://x}",
	"null",
	"-1",
	"9223372036854775808",
	"\uffff\ufffe",
	strings.Repeat("x", 5000),
	strings.Repeat("é", 5000),
	strings.Repeat("😀", 1300),
}

// oddNumbers are numbers no input should choke on (as JSON numbers).
var oddNumbers = []any{
	-1, 0, 1, -2147483649, 2147483648, 4294967296, 9007199254740993, int64(9223372036854775807),
	int64(-9223372036854775808), 1.5, -0.0, 1e308, -1e308, 5e-324, 86400 * 365 * 1000,
}

// oddNumberTexts are JSON number spellings Go cannot hold in an int (raw, in bodies).
var oddNumberTexts = []string{"1e400", "-1e400", "99999999999999999999", "1.0e2", "0.1e1", "-0", "1E3"}

// oddQueryValues are query-string values for any parameter.
var oddQueryValues = []string{
	"", "abc", "1.5", "1e3", "-1", "0", "99999999999999999999", "-9223372036854775809", "0x10",
	"true", "null", "%00", "\x00", "\u202E", "😀", strings.Repeat("9", 400), strings.Repeat("x", 5000),
}

// value returns a valid value for s.
func (g *gen) value(s *openapi3.Schema, depth int) any {
	if s == nil {
		return "x"
	}
	if len(s.Enum) > 0 {
		return pick(g, s.Enum)
	}
	if s.Example != nil && g.chance(0.7) {
		return s.Example
	}
	if s.Nullable && g.chance(0.1) {
		return nil
	}
	switch {
	case s.Type.Is("string"):
		return g.str(s)
	case s.Type.Is("integer"):
		return g.integer(s)
	case s.Type.Is("number"):
		return float64(g.integer(s))
	case s.Type.Is("boolean"):
		return g.chance(0.5)
	case s.Type.Is("array"):
		n := g.r.IntN(3)
		if depth > 4 {
			n = 0
		}
		out := make([]any, 0, n)
		for range n {
			var item *openapi3.Schema
			if s.Items != nil {
				item = s.Items.Value
			}
			out = append(out, g.value(item, depth+1))
		}
		return out
	case s.Type.Is("object") || len(s.Properties) > 0:
		return g.object(s, depth, nil)
	}
	return "x"
}

// object returns a valid object: every required property, each optional one half the time.
// skip names properties to leave out.
func (g *gen) object(s *openapi3.Schema, depth int, skip map[string]bool) map[string]any {
	out := map[string]any{}
	if depth > 4 {
		return out
	}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) { // in order: the seed decides
		p := s.Properties[name]
		if skip[name] || p.Value == nil || p.Value.ReadOnly {
			continue
		}
		if required[name] || g.chance(0.5) {
			out[name] = g.value(p.Value, depth+1)
		}
	}
	return out
}

func (g *gen) str(s *openapi3.Schema) string {
	g.n++
	var v string
	switch s.Format {
	case "date-time":
		v = time.Now().Add(time.Duration(g.r.IntN(1000)) * time.Hour).UTC().Format(time.RFC3339)
	case "date":
		v = time.Now().AddDate(0, 0, 1+g.r.IntN(300)).UTC().Format("2006-01-02")
	case "email":
		v = fmt.Sprintf("contract-%d-%d@example.com", g.n, g.r.IntN(1_000_000))
	case "password":
		v = fmt.Sprintf("contract-Password-%d", g.r.IntN(1_000_000))
	case "uri", "url":
		v = fmt.Sprintf("http://127.0.0.1:%d", 1024+g.r.IntN(60000))
	default:
		v = pick(g, []string{"contract", "Contract name", "ключ", "clé", "鍵", "a"}) + fmt.Sprint(g.n)
	}
	if s.MaxLength != nil && uint64(len([]rune(v))) > *s.MaxLength {
		v = string([]rune(v)[:*s.MaxLength])
	}
	for uint64(len([]rune(v))) < s.MinLength {
		v += "x"
	}
	return v
}

func (g *gen) integer(s *openapi3.Schema) int64 {
	lo, hi := int64(0), int64(100)
	if s.Min != nil {
		lo = int64(*s.Min)
		if s.ExclusiveMin.IsTrue() {
			lo++
		}
	}
	if s.Max != nil {
		hi = int64(*s.Max)
		if s.ExclusiveMax.IsTrue() {
			hi--
		}
	} else if lo > hi-100 {
		hi = lo + 100
	}
	if hi < lo {
		return lo
	}
	return lo + g.r.Int64N(hi-lo+1)
}

// outOfRange returns an integer just outside s's bounds, or one far from ordinary values.
func (g *gen) outOfRange(s *openapi3.Schema) int64 {
	choices := []int64{-1, 0, 501, 1000, 1001, 100_000, 1 << 31, 1 << 53, -1 << 63, 1<<63 - 1, 30*24*3600 + 1}
	if s != nil && s.Min != nil {
		choices = append(choices, int64(*s.Min)-1, int64(*s.Min)-1)
	}
	if s != nil && s.Max != nil {
		choices = append(choices, int64(*s.Max)+1, int64(*s.Max)+1)
	}
	return pick(g, choices)
}

// beyond returns the integers just past s's documented bounds.
func beyond(s *openapi3.Schema) []int64 {
	var out []int64
	if s.Min != nil {
		out = append(out, int64(*s.Min)-1)
	}
	if s.Max != nil {
		out = append(out, int64(*s.Max)+1)
	}
	return out
}

// outside reports whether v breaks s's documented bounds.
func outside(s *openapi3.Schema, v int64) bool {
	return s.Min != nil && float64(v) < *s.Min || s.Max != nil && float64(v) > *s.Max
}

// wrongType returns a value whose JSON type differs from s's.
func (g *gen) wrongType(s *openapi3.Schema) any {
	var choices []any
	if s == nil || !s.Type.Is("string") {
		choices = append(choices, "not-a-"+typeName(s))
	}
	if s == nil || !(s.Type.Is("integer") || s.Type.Is("number")) {
		choices = append(choices, 42, -7.25)
	}
	if s == nil || !s.Type.Is("boolean") {
		choices = append(choices, true)
	}
	if s == nil || !s.Type.Is("array") {
		choices = append(choices, []any{1, "two", nil})
	}
	if s == nil || !(s.Type.Is("object") || len(s.Properties) > 0) {
		choices = append(choices, map[string]any{"nested": map[string]any{"deeper": []any{}}})
	}
	if s == nil || !s.Nullable {
		choices = append(choices, nil)
	}
	return pick(g, choices)
}

func typeName(s *openapi3.Schema) string {
	if s == nil || s.Type == nil || len(*s.Type) == 0 {
		return "thing"
	}
	return (*s.Type)[0]
}

// odd returns a hostile value of s's own type (strings for strings, numbers for numbers).
func (g *gen) odd(s *openapi3.Schema) any {
	switch {
	case s == nil:
		return pick(g, oddStrings)
	case s.Type.Is("integer") || s.Type.Is("number"):
		return pick(g, oddNumbers)
	case s.Type.Is("array"):
		n := 1 + g.r.IntN(3)
		if g.chance(0.2) {
			n = 1000
		}
		out := make([]any, n)
		for i := range out {
			if s.Items != nil {
				out[i] = g.odd(s.Items.Value)
			} else {
				out[i] = pick(g, oddStrings)
			}
		}
		return out
	case s.Type.Is("boolean"):
		return pick(g, []any{"true", 1, 0})
	}
	return pick(g, oddStrings)
}

// badJSON are bodies that are not one JSON object.
var badJSON = []string{
	"{", "}", "{\"a\":", "[1,2,3]", "null", "42", "\"text\"", "{}{}", "{} trailing", "{\"a\":1,}",
	"{'single':'quotes'}", "\xff\xfe{}", "{\"name\":\"\\ud800\"}", "{\"name\":\"\\u0000\"}",
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	"{\"a\":" + strings.Repeat("{\"a\":", 5000) + "1" + strings.Repeat("}", 5001),
	"{\"__proto__\":{\"admin\":true}}", "\x00", "{\"a\":1e400}",
}

// oddContentTypes are content types other than JSON, or JSON spelt oddly.
var oddContentTypes = []string{
	"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
	"application/xml", "application/json-patch+json", "application/jsonx", "application/json; charset=utf-16",
	"APPLICATION/JSON", ";;;", "application/json; charset=\"", "application/json;;",
}

// badPathValues are path parameter values that name nothing (escaped when sent).
var badPathValues = []string{
	"nope", "0", "-1", "..", ".", "%00", "a/b", "a%2Fb", "\x00", "\u202E", "😀", " ",
	strings.Repeat("x", 2000), "' OR 1=1 --", "00000000-0000-0000-0000-000000000000", "k_" + strings.Repeat("Z", 40),
}
