package learn

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Bounds on what one shape holds, so that no API (or attacker) can make it grow without end.
const (
	MaxDepth      = 16  // nesting of objects and arrays; deeper values are not looked into
	MaxProperties = 128 // properties per object; more are dropped and the object marked
	MaxNameLen    = 100 // longer property, query and header names are dropped
)

// Node is the merged shape of the JSON values seen at one place: how often each type was
// seen, the formats of its strings, the properties of its objects (each with how often it was
// present) and the shape of its arrays' items. It never holds a value.
type Node struct {
	Null int `json:"null,omitempty"`
	Bool int `json:"bool,omitempty"`
	Int  int `json:"int,omitempty"`
	Num  int `json:"num,omitempty"`
	Str  int `json:"str,omitempty"`
	Arr  int `json:"arr,omitempty"`
	Obj  int `json:"obj,omitempty"`
	// Formats counts the strings that had each format (date-time, date, uuid, email, uri).
	Formats map[string]int `json:"formats,omitempty"`
	// Props are the properties of objects whose keys are names.
	Props map[string]*Node `json:"props,omitempty"`
	// Map is the shape of the values of objects whose keys are ids (a map, not a record).
	Map *Node `json:"map,omitempty"`
	// Items is the shape of arrays' elements.
	Items *Node `json:"items,omitempty"`
	// Dropped is set when properties were left out to stay within MaxProperties.
	Dropped bool `json:"dropped,omitempty"`
}

// Count is how many values this node has seen.
func (n *Node) Count() int {
	if n == nil {
		return 0
	}
	return n.Null + n.Bool + n.Int + n.Num + n.Str + n.Arr + n.Obj
}

// Merge adds o's counts to n.
func (n *Node) Merge(o *Node) {
	if o == nil {
		return
	}
	n.Null += o.Null
	n.Bool += o.Bool
	n.Int += o.Int
	n.Num += o.Num
	n.Str += o.Str
	n.Arr += o.Arr
	n.Obj += o.Obj
	n.Dropped = n.Dropped || o.Dropped
	for f, c := range o.Formats {
		if n.Formats == nil {
			n.Formats = map[string]int{}
		}
		n.Formats[f] += c
	}
	for k, p := range o.Props {
		if n.Props == nil {
			n.Props = map[string]*Node{}
		}
		if cur, ok := n.Props[k]; ok {
			cur.Merge(p)
		} else if len(n.Props) < MaxProperties {
			n.Props[k] = p
		} else {
			n.Dropped = true
		}
	}
	n.Map = mergeNode(n.Map, o.Map)
	n.Items = mergeNode(n.Items, o.Items)
}

func mergeNode(a, b *Node) *Node {
	switch {
	case b == nil:
		return a
	case a == nil:
		return b
	}
	a.Merge(b)
	return a
}

var errTooDeep = errors.New("json nested too deeply")

// ShapeJSON reads one JSON document and returns its shape.
func ShapeJSON(data []byte) (*Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n := &Node{}
	if err := shapeValue(dec, n, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after json value")
	}
	return n, nil
}

// shapeValue reads the next value from dec into n, token by token, so that no value is ever
// held longer than its classification takes.
func shapeValue(dec *json.Decoder, n *Node, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case nil:
		n.Null++
	case bool:
		n.Bool++
	case json.Number:
		if isInteger(string(t)) {
			n.Int++
		} else {
			n.Num++
		}
	case string:
		n.Str++
		if f := stringFormat(t); f != "" {
			if n.Formats == nil {
				n.Formats = map[string]int{}
			}
			n.Formats[f]++
		}
	case json.Delim:
		if depth >= MaxDepth {
			return errTooDeep
		}
		if t == '[' {
			n.Arr++
			for dec.More() {
				if n.Items == nil {
					n.Items = &Node{}
				}
				if err := shapeValue(dec, n.Items, depth+1); err != nil {
					return err
				}
			}
		} else {
			n.Obj++
			if err := shapeObject(dec, n, depth); err != nil {
				return err
			}
		}
		_, err := dec.Token() // the closing delimiter
		return err
	}
	return nil
}

// shapeObject reads an object's members. Keys that look like ids (or that are not plain
// names) make the object a map: its values are shaped together in Map and no key is kept.
func shapeObject(dec *json.Decoder, n *Node, depth int) error {
	one := &Node{}
	var isMap bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if !isMap && !propertyName(key) {
			isMap = true
		}
		if isMap {
			if n.Map == nil {
				n.Map = &Node{}
			}
			if err := shapeValue(dec, n.Map, depth+1); err != nil {
				return err
			}
			continue
		}
		if one.Props == nil {
			one.Props = map[string]*Node{}
		}
		p, ok := one.Props[key]
		if !ok {
			if len(one.Props) >= MaxProperties {
				one.Dropped = true
				p = &Node{} // shaped and thrown away, to stay in step with the decoder
			} else {
				p = &Node{}
				one.Props[key] = p
			}
		} else {
			// A repeated key counts once for "present"; its second value is shaped apart.
			p = &Node{}
		}
		if err := shapeValue(dec, p, depth+1); err != nil {
			return err
		}
	}
	if isMap {
		// Members read as properties before the first id-like key belong to the map too.
		for _, p := range one.Props {
			if n.Map == nil {
				n.Map = &Node{}
			}
			n.Map.Merge(p)
		}
		return nil
	}
	for k, p := range one.Props {
		if n.Props == nil {
			n.Props = map[string]*Node{}
		}
		if cur, ok := n.Props[k]; ok {
			cur.Merge(p)
		} else if len(n.Props) < MaxProperties {
			n.Props[k] = p
		} else {
			n.Dropped = true
		}
	}
	n.Dropped = n.Dropped || one.Dropped
	return nil
}

func isInteger(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// propertyName reports whether an object key reads as a field name rather than an id or a
// value: a letter or '_' or '$' first, then letters, digits, '_', '-', '.', '$', '@', at most
// MaxNameLen bytes, and not shaped like an id.
func propertyName(k string) bool {
	if k == "" || len(k) > MaxNameLen {
		return false
	}
	c := k[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c == '@') {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-.$@", c) >= 0) {
			return false
		}
	}
	return SegmentKind(k) == ""
}

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$`)
)

// stringFormat names the OpenAPI format a string has, or "".
func stringFormat(s string) string {
	switch {
	case len(s) < 6 || len(s) > 2048:
		return ""
	case uuidRE.MatchString(s):
		return "uuid"
	case len(s) == 10 && dateRE.MatchString(s):
		if _, err := time.Parse(time.DateOnly, s); err == nil {
			return "date"
		}
	case len(s) >= 20 && s[4] == '-' && (s[10] == 'T' || s[10] == 't'):
		if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return "date-time"
		}
	case strings.IndexByte(s, '@') > 0 && emailRE.MatchString(s):
		if a, err := mail.ParseAddress(s); err == nil && a.Address == s {
			return "email"
		}
	case strings.Contains(s, "://"):
		if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" && !strings.ContainsAny(s, " \t\r\n") {
			return "uri"
		}
	}
	return ""
}

// queryValueNode shapes one query parameter value: a number, a boolean, or a string with its
// format.
func queryValueNode(n *Node, v string) {
	switch {
	case isInteger(v) && len(v) <= 19:
		n.Int++
	case v == "true" || v == "false":
		n.Bool++
	default:
		if _, err := strconv.ParseFloat(v, 64); err == nil && v != "" && !strings.ContainsAny(v, "xXnNiI_") {
			n.Num++
			return
		}
		n.Str++
		if f := stringFormat(v); f != "" {
			if n.Formats == nil {
				n.Formats = map[string]int{}
			}
			n.Formats[f]++
		}
	}
}
