package learn

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// More bounds per operation.
const (
	MaxQueryParams = 50
	MaxHeaders     = 50
	MaxStatuses    = 20
	MaxMediaTypes  = 8
	MaxSegments    = 32
)

// Segment kinds: a path segment that reads like an id is kept as its kind, never its value.
const (
	KindInt   = "int"
	KindUUID  = "uuid"
	KindHex   = "hex"
	KindToken = "token"
)

// SegmentKind classifies a path segment: one of the Kind constants when it reads like an id
// (digits, a UUID, a long hex string, an opaque token such as usr_8Fh2kQ9x or a base64 id),
// "" when it reads like a literal word (users, me, v2, line-items).
func SegmentKind(s string) string {
	if s == "" {
		return ""
	}
	digits, letters, other := 0, 0, 0
	hex := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters++
			if !(c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				hex = false
			}
		default:
			other++
			hex = false
		}
	}
	switch {
	case digits == len(s):
		return KindInt
	case len(s) == 36 && uuidRE.MatchString(s):
		return KindUUID
	case hex && len(s) >= 8 && (digits > 0 || len(s) >= 16):
		return KindHex
	case len(s) >= 8 && digits > 0, len(s) >= 24, len(s) > 64:
		return KindToken
	case strings.ContainsAny(s, "{}@=%\"'<>\\^`| "):
		return KindToken
	}
	return ""
}

// PathKey reduces a path to its key: literal segments as they are, id-like ones as their kind
// in braces (/users/42/orders → /users/{int}/orders). A trailing slash is dropped.
func PathKey(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	if len(segs) > MaxSegments {
		segs = segs[:MaxSegments]
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if k := SegmentKind(s); k != "" {
			b.WriteString("{" + k + "}")
		} else {
			b.WriteString(s)
		}
	}
	return b.String()
}

// Operation is the merged shape of one method on one path key of a route.
type Operation struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Samples int    `json:"samples"`
	// Accepted counts the exchanges answered below 400. Only they shape the request side
	// (query, headers, body): a refused request shows what the API does not take.
	Accepted int                    `json:"accepted"`
	Query    map[string]*QueryParam `json:"query,omitempty"`
	// Headers counts the requests that carried each (non-standard) header name.
	Headers   map[string]int     `json:"headers,omitempty"`
	Request   Bodies             `json:"request"`
	Responses map[string]*Bodies `json:"responses,omitempty"` // by status code
}

// QueryParam is the shape of one query parameter.
type QueryParam struct {
	Present int   `json:"present"`
	Repeat  int   `json:"repeat,omitempty"` // requests that carried it more than once
	Value   *Node `json:"value"`
}

// Bodies is the shape of the bodies sent in one direction.
type Bodies struct {
	Samples int                 `json:"samples"`
	None    int                 `json:"none,omitempty"` // exchanges without a body
	Content map[string]*Content `json:"content,omitempty"`
}

// Content is the shape of the bodies of one media type; Schema is nil when none could be read
// (not JSON, or longer than MaxBody).
type Content struct {
	Samples int   `json:"samples"`
	Schema  *Node `json:"schema,omitempty"`
}

// Key identifies an operation within a route.
func (o *Operation) Key() string { return o.Method + " " + o.Path }

// Shape reduces an observation to the shape of its operation. The observation's values are
// read here and nowhere else.
func Shape(ob Observation) *Operation {
	op := &Operation{Method: strings.ToUpper(ob.Method), Path: PathKey(ob.Path), Samples: 1}
	if ob.Status >= 100 && ob.Status <= 599 {
		res := &Bodies{}
		res.add(len(ob.ResponseBody) > 0 || ob.ResponseType != "" && ob.Status != 204 && ob.Status != 304, ob.ResponseType, ob.ResponseBody, ob.ResponseTruncated)
		op.Responses = map[string]*Bodies{strconv.Itoa(ob.Status): res}
	}
	if ob.Status >= 400 {
		return op
	}
	op.Accepted = 1
	shapeQuery(op, ob.RawQuery)
	for _, h := range ob.HeaderNames {
		name := strings.ToLower(h)
		if ignoredHeader(name) || len(name) > MaxNameLen || SegmentKind(name) != "" || !token(name) {
			continue
		}
		if op.Headers == nil {
			op.Headers = map[string]int{}
		}
		if len(op.Headers) < MaxHeaders {
			op.Headers[name] = 1
		}
	}
	op.Request.add(ob.RequestHasBody || len(ob.RequestBody) > 0, ob.RequestType, ob.RequestBody, ob.RequestTruncated)
	return op
}

func (b *Bodies) add(has bool, ctype string, body []byte, truncated bool) {
	b.Samples++
	mt := mediaType(ctype)
	if !has || mt == "" && len(body) == 0 {
		b.None++
		return
	}
	if mt == "" {
		mt = "application/octet-stream"
	}
	c := &Content{Samples: 1}
	if WantsBody(mt) && !truncated && len(body) > 0 {
		if n, err := ShapeJSON(body); err == nil {
			c.Schema = n
		}
	}
	b.Content = map[string]*Content{mt: c}
}

func shapeQuery(op *Operation, raw string) {
	if raw == "" {
		return
	}
	seen := map[string]int{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || !queryName(name) {
			continue
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			val = ""
		}
		if op.Query == nil {
			op.Query = map[string]*QueryParam{}
		}
		q, ok := op.Query[name]
		if !ok {
			if len(op.Query) >= MaxQueryParams {
				continue
			}
			q = &QueryParam{Value: &Node{}}
			op.Query[name] = q
		}
		seen[name]++
		queryValueNode(q.Value, val)
	}
	for name, n := range seen {
		q := op.Query[name]
		q.Present = 1
		if n > 1 {
			q.Repeat = 1
		}
	}
}

// queryName accepts names made of printable ASCII without quotes or spaces, that do not read
// like an id (a bare value such as ?8fj2kd9s is not a parameter name to remember).
func queryName(s string) bool {
	if s == "" || len(s) > MaxNameLen || SegmentKind(s) != "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"'<>\\`{}", c) >= 0 {
			return false
		}
	}
	return true
}

// ignoredHeader names the headers that say nothing about an API: transport, browser,
// credential and proxy headers, and the gateway's own.
func ignoredHeader(name string) bool {
	switch name {
	case "accept", "accept-encoding", "accept-language", "authorization", "cache-control", "connection",
		"content-length", "content-type", "cookie", "host", "origin", "pragma", "referer", "user-agent",
		"x-api-key", "te", "trailer", "transfer-encoding", "upgrade", "via", "forwarded", "x-real-ip",
		"x-request-id", "dnt", "priority", "keep-alive", "expect", "upgrade-insecure-requests",
		"proxy-authorization", "proxy-connection", "x-csrf-token", "http2-settings", "content-encoding":
		return true
	}
	return strings.HasPrefix(name, "x-forwarded-") || strings.HasPrefix(name, "x-keygate-") ||
		strings.HasPrefix(name, "sec-") || strings.HasPrefix(name, "access-control-")
}

// Merge adds o (the same method and path key) to op, within the bounds.
func (op *Operation) Merge(o *Operation) {
	op.Samples += o.Samples
	op.Accepted += o.Accepted
	for name, q := range o.Query {
		if op.Query == nil {
			op.Query = map[string]*QueryParam{}
		}
		cur, ok := op.Query[name]
		if !ok {
			if len(op.Query) >= MaxQueryParams {
				continue
			}
			op.Query[name] = q
			continue
		}
		cur.Present += q.Present
		cur.Repeat += q.Repeat
		cur.Value = mergeNode(cur.Value, q.Value)
	}
	for h, c := range o.Headers {
		if op.Headers == nil {
			op.Headers = map[string]int{}
		}
		if _, ok := op.Headers[h]; ok || len(op.Headers) < MaxHeaders {
			op.Headers[h] += c
		}
	}
	op.Request.merge(&o.Request)
	for st, b := range o.Responses {
		if op.Responses == nil {
			op.Responses = map[string]*Bodies{}
		}
		cur, ok := op.Responses[st]
		if !ok {
			if len(op.Responses) < MaxStatuses {
				op.Responses[st] = b
			}
			continue
		}
		cur.merge(b)
	}
}

func (b *Bodies) merge(o *Bodies) {
	b.Samples += o.Samples
	b.None += o.None
	for mt, c := range o.Content {
		if b.Content == nil {
			b.Content = map[string]*Content{}
		}
		cur, ok := b.Content[mt]
		if !ok {
			if len(b.Content) < MaxMediaTypes {
				b.Content[mt] = c
			}
			continue
		}
		cur.Samples += c.Samples
		cur.Schema = mergeNode(cur.Schema, c.Schema)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
