package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/tests/harness"
)

// The contract test's two callers: an admin and a member of the instance organization.
const (
	adminEmail     = "contract-admin@example.com"
	adminPassword  = "contract-Admin-pw-4k2"
	memberEmail    = "contract-member@example.com"
	memberPassword = "contract-Member-pw-9x1"
)

// opBudget bounds the time one operation's requests take in one round, as one caller.
const opBudget = 1500 * time.Millisecond

// maxBody is one byte more than the console reads.
const maxBody = 1<<20 + 1

// operation is one operation of the console document, as the test needs it.
type operation struct {
	id, method, template string
	pathParams           []*openapi3.Parameter
	queryParams          []*openapi3.Parameter
	body                 *openapi3.Schema // nil: the operation takes no body
	success              int
	// responses are the documented statuses ("default" excluded), with their JSON schema
	// (nil when the answer has no body).
	responses map[int]*openapi3.Schema
	// media are the documented statuses' media types ("application/json", or a file's, e.g.
	// "application/vnd.sqlite3" for a backup).
	media map[int]string
}

func (o *operation) String() string { return o.id + " (" + o.method + " " + o.template + ")" }

// stateChanging mirrors HTTP: anything but GET and HEAD.
func (o *operation) stateChanging() bool {
	return o.method != http.MethodGet && o.method != http.MethodHead
}

// operations lists every operation of doc, in a fixed order: reads first, then creations,
// replacements, changes and, last, removals (so removals do not starve the rest of ids).
func operations(t *testing.T, doc *openapi3.T) []*operation {
	rank := map[string]int{"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
	var out []*operation
	for template, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := &operation{id: op.OperationID, method: method, template: template, responses: map[int]*openapi3.Schema{},
				media: map[int]string{}}
			for _, p := range append(item.Parameters, op.Parameters...) {
				switch p.Value.In {
				case "path":
					o.pathParams = append(o.pathParams, p.Value)
				case "query":
					o.queryParams = append(o.queryParams, p.Value)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				mt := op.RequestBody.Value.Content.Get("application/json")
				if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
					t.Fatalf("%s: a request body that is not JSON", o)
				}
				o.body = mt.Schema.Value
			}
			for code, r := range op.Responses.Map() {
				if code == "default" {
					continue
				}
				status, err := strconv.Atoi(code)
				if err != nil {
					t.Fatalf("%s: response %q", o, code)
				}
				var schema *openapi3.Schema
				for name, mt := range r.Value.Content {
					if mt.Schema != nil {
						schema = mt.Schema.Value
					}
					o.media[status] = name
				}
				o.responses[status] = schema
				if status/100 == 2 {
					if o.success != 0 {
						t.Fatalf("%s documents two successes", o)
					}
					o.success = status
				}
			}
			if o.success == 0 {
				t.Fatalf("%s documents no success", o)
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := rank[out[i].method], rank[out[j].method]; a != b {
			return a < b
		}
		return out[i].id < out[j].id
	})
	return out
}

// caller is a signed-in user of the console.
type caller struct {
	name, email, password string
	cookie, csrf, userID  string
	stale                 bool // the session was ended (Logout): sign in again before the next request
}

// request is one generated request.
type request struct {
	kind        string // what the variant tests, for the failure report
	op          *operation
	path        string // escaped
	query       string // raw
	body        []byte
	contentType string
	noOrigin    bool
	noCSRF      bool
	lang        string
	// outside names an input set outside the bounds the document states: the request must
	// not succeed.
	outside string
}

func (r *request) String() string {
	b := string(r.body)
	if len(b) > 160 {
		b = b[:160] + fmt.Sprintf("…(%d bytes)", len(r.body))
	}
	s := fmt.Sprintf("[%s] %s %s", r.kind, r.op.method, r.path)
	if r.query != "" {
		q := r.query
		if len(q) > 160 {
			q = q[:160] + "…"
		}
		s += "?" + q
	}
	if r.body != nil {
		s += fmt.Sprintf(" Content-Type=%q body=%q", r.contentType, b)
	}
	if r.noCSRF {
		s += " (no CSRF token)"
	}
	if r.noOrigin {
		s += " (no Origin)"
	}
	return s
}

// consoleRun holds the running server, its document and what the answers taught about ids.
type consoleRun struct {
	t      *testing.T
	base   string
	client *http.Client
	// signIn signs the callers in from 127.0.0.2: the generated sign-ins fail from 127.0.0.1
	// until the per-address limit refuses every sign-in from there.
	signIn *http.Client
	g      *gen
	ops    []*operation

	// pool holds string values seen in answers by property name; collection holds the ids
	// listed by each collection path's GET (e.g. /api/v1/keys → key ids).
	pool       map[string][]string
	collection map[string][]string
	own        map[string]bool // the callers' own user ids: never removed or demoted

	sent     int
	skipped  int // requests left out when an operation used up its time budget
	byStatus map[int]int
	spent    map[string]time.Duration // time per operation, to say where a slow run went
	failures map[string]int           // failure kind → count; the first few of each are reported
}

func TestContractConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts keygate serve")
	}
	t.Parallel() // each has its own server
	bin, err := harness.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "data")
	if err := harness.AddAdmin(ctx, bin, dir, adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	if r, err := harness.CLI(ctx, bin, dir, memberPassword+"\n", "users", "add", "--email", memberEmail, "--role", "member"); err != nil || r.Code != 0 {
		t.Fatalf("users add member: %v %+v", err, r)
	}
	srv, err := harness.Start(bin, dir, harness.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("keygate serve did not stop cleanly: %v", err)
		}
	}()

	h := &consoleRun{t: t, base: srv.ConsoleURL, g: newGen(seed(t)),
		client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		signIn: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}},
		pool: map[string][]string{}, collection: map[string][]string{}, own: map[string]bool{},
		byStatus: map[int]int{}, spent: map[string]time.Duration{}, failures: map[string]int{}}
	admin := &caller{name: "admin", email: adminEmail, password: adminPassword}
	member := &caller{name: "member", email: memberEmail, password: memberPassword}
	for _, c := range []*caller{admin, member} {
		h.login(ctx, c)
	}
	doc := h.document(ctx, admin)
	h.ops = operations(t, doc)
	t.Logf("seed %d, %d operations in the console document", seed(t), len(h.ops))
	start := time.Now()
	h.learn(ctx, admin)
	for round := range rounds(t) {
		// The member first: the admin's removals would otherwise leave it less to see.
		for _, c := range []*caller{member, admin} {
			for _, o := range h.ops {
				// In random order and within a time budget: an operation that is slow by
				// design (a sign-in hashes a password) gets a sample of its requests each
				// round, not all of them.
				rqs := h.requests(o, c, round)
				h.g.r.Shuffle(len(rqs), func(i, j int) { rqs[i], rqs[j] = rqs[j], rqs[i] })
				began := time.Now()
				for i, rq := range rqs {
					if time.Since(began) > opBudget {
						h.skipped += len(rqs) - i
						break
					}
					h.do(ctx, c, rq)
				}
				if o.method == http.MethodGet && len(o.pathParams) == 0 {
					continue
				}
				h.learn(ctx, admin) // new ids from what the operation created
			}
		}
	}
	elapsed := time.Since(start)
	var statuses []string
	for _, s := range slices.Sorted(maps.Keys(h.byStatus)) {
		statuses = append(statuses, fmt.Sprintf("%d×%d", s, h.byStatus[s]))
	}
	t.Logf("%d requests in %s (%.0f/s), %d left out for time: %s", h.sent, elapsed.Round(time.Millisecond),
		float64(h.sent)/elapsed.Seconds(), h.skipped, strings.Join(statuses, " "))
	slowest := slices.SortedFunc(maps.Keys(h.spent), func(a, b string) int { return int(h.spent[b] - h.spent[a]) })
	for _, id := range slowest[:min(5, len(slowest))] {
		t.Logf("  %s: %s", id, h.spent[id].Round(time.Millisecond))
	}
	if h.byStatus[200]+h.byStatus[201]+h.byStatus[204] == 0 {
		t.Error("no request succeeded: the generator makes no valid input")
	}
	if h.sent < 1000 {
		t.Errorf("only %d requests: the document lists too little or the generator stalls", h.sent)
	}
}

// document fetches and validates the console's OpenAPI document from the server itself, as c.
func (h *consoleRun) document(ctx context.Context, c *caller) *openapi3.T {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/openapi/console.json", nil)
	req.Header.Set("Cookie", c.cookie) // as a signed-in user sees it
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		h.t.Fatalf("GET /openapi/console.json: %d %s", res.StatusCode, b)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		h.t.Fatalf("load the console document: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		h.t.Fatalf("the console document is not valid OpenAPI: %v", err)
	}
	return doc
}

// login signs c in and learns its user id.
func (h *consoleRun) login(ctx context.Context, c *caller) {
	body, _ := json.Marshal(map[string]string{"email": c.email, "password": c.password})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/api/v1/session", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", h.base)
	res, err := h.signIn.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		h.t.Fatalf("sign in %s: %d %s", c.email, res.StatusCode, b)
	}
	var out struct {
		CSRFToken string `json:"csrfToken"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.CSRFToken == "" || out.User.ID == "" {
		h.t.Fatalf("sign in %s: %s (%v)", c.email, b, err)
	}
	for _, ck := range res.Cookies() {
		if strings.HasSuffix(ck.Name, "keygate_session") && ck.Value != "" {
			c.cookie = ck.Name + "=" + ck.Value
		}
	}
	if c.cookie == "" {
		h.t.Fatalf("sign in %s: no session cookie", c.email)
	}
	c.csrf, c.userID, c.stale = out.CSRFToken, out.User.ID, false
	h.own[c.userID], h.own[c.email] = true, true
}

// learn lists every collection (GET operations without path parameters) as c, so that
// generated requests can name ids that exist.
func (h *consoleRun) learn(ctx context.Context, c *caller) {
	for _, o := range h.ops {
		if o.method != http.MethodGet || len(o.pathParams) > 0 {
			continue
		}
		h.do(ctx, c, &request{kind: "learn", op: o, path: o.template})
	}
}

// remember records the string values of an answer by property name, and a collection's ids.
func (h *consoleRun) remember(o *operation, v any) {
	var walk func(v any, inList bool)
	walk = func(v any, inList bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && s != "" && len(s) < 200 {
					h.pool[k] = addUnique(h.pool[k], s)
					if k == "id" && inList && o.method == http.MethodGet && len(o.pathParams) == 0 {
						h.collection[o.template] = addUnique(h.collection[o.template], s)
					}
				}
				walk(x, false)
			}
		case []any:
			for _, x := range v {
				walk(x, true)
			}
		}
	}
	walk(v, false)
}

func addUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	if len(list) >= 40 {
		list = list[1:]
	}
	return append(list, s)
}

// candidates are known values for an input called name (a path parameter, query parameter or
// body property) of o: ids its collection lists and values answers gave under that name or
// name+"Id". The callers' own user ids are left out, so the test never locks itself out.
func (h *consoleRun) candidates(o *operation, name string) []string {
	var out []string
	if i := strings.Index(o.template, "/{"+name+"}"); i > 0 {
		out = append(out, h.collection[o.template[:i]]...)
	}
	out = append(out, h.pool[name]...)
	out = append(out, h.pool[name+"Id"]...)
	if name == "org" {
		out = append(out, h.pool["orgId"]...)
	}
	return slices.DeleteFunc(out, func(s string) bool { return h.own[s] })
}

// fill returns a valid value for a parameter or property, preferring known values.
func (h *consoleRun) fill(o *operation, name string, s *openapi3.Schema) any {
	if s != nil && s.Type.Is("string") && len(s.Enum) == 0 {
		if c := h.candidates(o, name); len(c) > 0 && h.g.chance(0.8) {
			return pick(h.g, c)
		}
	}
	return h.g.value(s, 0)
}

func queryText(v any) []string {
	switch v := v.(type) {
	case nil:
		return []string{""}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, queryText(x)...)
		}
		return out
	case float64:
		return []string{strconv.FormatFloat(v, 'f', -1, 64)}
	}
	return []string{fmt.Sprint(v)}
}

// validRequest builds a request every part of which follows the document.
func (h *consoleRun) validRequest(o *operation, kind string) (*request, url.Values, map[string]any) {
	path := o.template
	for _, p := range o.pathParams {
		v := fmt.Sprint(h.fill(o, p.Name, schemaOf(p)))
		path = strings.Replace(path, "{"+p.Name+"}", url.PathEscape(v), 1)
	}
	q := url.Values{}
	for _, p := range o.queryParams {
		if p.Required || h.g.chance(0.4) {
			q[p.Name] = queryText(h.fill(o, p.Name, schemaOf(p)))
		}
	}
	rq := &request{kind: kind, op: o, path: path, query: q.Encode()}
	var body map[string]any
	if o.body != nil {
		body = h.g.object(o.body, 0, nil)
		for _, name := range slices.Sorted(maps.Keys(o.body.Properties)) { // in order: the seed decides
			if _, ok := body[name]; ok {
				body[name] = h.fill(o, name, o.body.Properties[name].Value)
			}
		}
		rq.body, _ = json.Marshal(body)
		rq.contentType = "application/json"
	}
	return rq, q, body
}

func schemaOf(p *openapi3.Parameter) *openapi3.Schema {
	if p.Schema == nil {
		return nil
	}
	return p.Schema.Value
}

func withBody(rq *request, body map[string]any, kind string) *request {
	c := *rq
	c.kind = kind
	c.body, _ = json.Marshal(body)
	return &c
}

// requests is one round of requests for o as c: valid ones, then each kind of bad input.
func (h *consoleRun) requests(o *operation, c *caller, round int) []*request {
	g := h.g
	var out []*request
	for range 3 {
		rq, _, _ := h.validRequest(o, "valid")
		out = append(out, rq)
	}
	// Each required input missing; each input of the wrong type; odd values of the right type.
	if o.body != nil {
		for _, name := range slices.Sorted(maps.Keys(o.body.Properties)) {
			prop := o.body.Properties[name].Value
			rq, _, body := h.validRequest(o, "")
			if slices.Contains(o.body.Required, name) {
				delete(body, name)
				out = append(out, withBody(rq, body, "missing "+name))
			}
			body[name] = g.wrongType(prop)
			out = append(out, withBody(rq, body, "wrong type "+name))
			body[name] = g.odd(prop)
			out = append(out, withBody(rq, body, "odd "+name))
			if prop != nil && (prop.Type.Is("integer") || prop.Type.Is("number")) {
				for _, v := range append(beyond(prop), g.outOfRange(prop)) {
					body[name] = v
					r := withBody(rq, body, fmt.Sprintf("out of range %s=%d", name, v))
					if outside(prop, v) {
						r.outside = name
					}
					out = append(out, r)
				}
				body[name] = "\x00number"
				raw, _ := json.Marshal(body)
				num := pick(g, oddNumberTexts)
				raw = bytes.Replace(raw, []byte(`"\u0000number"`), []byte(num), 1)
				c := *rq
				c.kind, c.body = "number text "+name+"="+num, raw
				out = append(out, &c)
			}
		}
		rq, _, body := h.validRequest(o, "")
		body["contractUnknown"] = g.value(nil, 0)
		out = append(out, withBody(rq, body, "unknown field"))
		for range 2 {
			c := *rq
			c.kind, c.body = "bad JSON", []byte(pick(g, badJSON))
			out = append(out, &c)
		}
		ct := *rq
		ct.kind, ct.contentType = "content type", pick(g, oddContentTypes)
		out = append(out, &ct)
		if round == 0 {
			big := *rq
			big.kind, big.body = "oversized body", append(append([]byte("{"), bytes.Repeat([]byte(" "), maxBody)...), '}')
			out = append(out, &big)
		}
	}
	for _, p := range o.queryParams {
		rq, q, _ := h.validRequest(o, "")
		if p.Required {
			q.Del(p.Name)
			c := *rq
			c.kind, c.query = "missing "+p.Name, q.Encode()
			out = append(out, &c)
		}
		if s := schemaOf(p); s != nil && (s.Type.Is("integer") || s.Type.Is("number")) {
			for _, v := range append(beyond(s), g.outOfRange(s)) {
				q.Set(p.Name, strconv.FormatInt(v, 10))
				r := *rq
				r.kind, r.query = fmt.Sprintf("out of range %s=%d", p.Name, v), q.Encode()
				if outside(s, v) {
					r.outside = p.Name
				}
				out = append(out, &r)
			}
		}
		q.Set(p.Name, pick(g, oddQueryValues))
		c := *rq
		c.kind, c.query = "odd "+p.Name, q.Encode()
		out = append(out, &c)
		q[p.Name] = []string{"1", "2"}
		c2 := *rq
		c2.kind, c2.query = "repeated "+p.Name, q.Encode()
		out = append(out, &c2)
	}
	{
		rq, q, _ := h.validRequest(o, "")
		q.Set("contractUnknown", pick(g, oddQueryValues))
		rq.kind, rq.query = "unknown query parameter", q.Encode()
		out = append(out, rq)
		raw, _, _ := h.validRequest(o, "")
		raw.kind, raw.query = "undecodable query", pick(g, []string{"%zz", "a=%", "=", "&&&", ";", "a=1;b=2", "%00=%00"})
		out = append(out, raw)
	}
	for _, p := range o.pathParams {
		for range 2 {
			rq, _, _ := h.validRequest(o, "")
			v := pick(g, badPathValues)
			rq.kind = "bad path " + p.Name + "=" + strconv.Quote(v)
			rq.path = o.template
			for _, other := range o.pathParams {
				val := v
				if other != p {
					val = fmt.Sprint(h.fill(o, other.Name, schemaOf(other)))
				}
				rq.path = strings.Replace(rq.path, "{"+other.Name+"}", url.PathEscape(val), 1)
			}
			out = append(out, rq)
		}
	}
	if o.stateChanging() {
		rq, _, _ := h.validRequest(o, "no CSRF token")
		rq.noCSRF = true
		out = append(out, rq)
		rq2, _, _ := h.validRequest(o, "no Origin")
		rq2.noOrigin = true
		out = append(out, rq2)
	}
	for _, rq := range out {
		if g.chance(0.3) {
			rq.lang = pick(g, []string{"de", "ar", "ja", "he-IL", "zh-Hans", "*", "xx-YY;q=0.1", strings.Repeat("a-", 400)})
		}
	}
	if spendsOwnSignIns[o.id] {
		out = sparingSignIns(out, round)
	}
	return out
}

// spendsOwnSignIns are the operations where a wrong password counts against the caller's own
// account, as a failed sign-in does: the generator's random passwords would lock the test's
// callers out of signing in again for the rest of the run.
var spendsOwnSignIns = map[string]bool{"ChangePassword": true}

// sparingSignIns keeps, in the first two rounds, one well-formed request (which reaches the
// password check), and in every round the
// requests refused before the check by their form: a missing, wrongly typed or unknown field,
// bad JSON, an odd content type, an oversized body, no CSRF token or no Origin. Anything else
// (an odd value, an ignored query parameter …) may reach the check and spend an attempt. So any
// number of rounds (make fuzz runs 20) spends two of an account's five attempts.
func sparingSignIns(rqs []*request, round int) []*request {
	var out []*request
	reached := round >= 2
	for _, rq := range rqs {
		switch {
		case rq.kind == "valid" && !reached:
			reached = true
		case strings.HasPrefix(rq.kind, "missing "), strings.HasPrefix(rq.kind, "wrong type "),
			rq.kind == "unknown field", rq.kind == "bad JSON", rq.kind == "content type",
			rq.kind == "oversized body", rq.kind == "no CSRF token", rq.kind == "no Origin":
		default:
			continue
		}
		out = append(out, rq)
	}
	return out
}

// do sends rq as c and checks the answer against the document.
func (h *consoleRun) do(ctx context.Context, c *caller, rq *request) {
	if c.stale {
		h.login(ctx, c)
	}
	u := h.base + rq.path
	if rq.query != "" {
		u += "?" + rq.query
	}
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.op.method, u, body)
	if err != nil {
		h.fail(rq, "build", 0, "could not build the request: %v", err)
		return
	}
	if rq.body != nil && rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	if !rq.noOrigin {
		req.Header.Set("Origin", h.base)
	}
	req.Header.Set("Cookie", c.cookie)
	if !rq.noCSRF {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if rq.lang != "" {
		req.Header.Set("Accept-Language", rq.lang)
	}
	began := time.Now()
	res, err := h.client.Do(req)
	if err != nil {
		h.fail(rq, "transport", 0, "no answer: %v", err)
		return
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	h.spent[rq.op.id] += time.Since(began)
	h.sent++
	h.byStatus[res.StatusCode]++
	if err != nil {
		h.fail(rq, "read", res.StatusCode, "reading the answer: %v", err)
		return
	}
	h.check(rq, res, b)
	if rq.kind == "valid" && res.StatusCode == http.StatusBadRequest && os.Getenv("KEYGATE_CONTRACT_VERBOSE") != "" {
		// Input the document calls valid but the server refuses: a rule the document does
		// not state.
		h.t.Logf("valid input refused: %s\n  %s", rq, snippet(b))
	}
	switch {
	case res.StatusCode == http.StatusUnauthorized && rq.op.method != http.MethodPost:
		c.stale = true // e.g. after a Logout
	case rq.op.template == "/api/v1/session" && rq.op.method == http.MethodDelete && res.StatusCode/100 == 2:
		c.stale = true
	}
}

var (
	codePattern = regexp.MustCompile(`^[A-Z][A-Z_]*[A-Z]$`)
	// messageID is what a catalog lookup returns for an id it does not know.
	messageID = regexp.MustCompile(`^(problem|validation)\.[A-Za-z0-9_.]+$`)
)

// check holds an answer to the contract.
func (h *consoleRun) check(rq *request, res *http.Response, b []byte) {
	o, status := rq.op, res.StatusCode
	if status >= 500 {
		h.fail(rq, fmt.Sprintf("%d", status), status, "server error: %s", snippet(b))
		return
	}
	schema, documented := o.responses[status]
	if !documented {
		h.fail(rq, fmt.Sprintf("undocumented %d", status), status, "status %d is not documented (documented: %v): %s",
			status, slices.Sorted(maps.Keys(o.responses)), snippet(b))
		return
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if status >= 400 {
		if mt != "application/problem+json" {
			h.fail(rq, fmt.Sprintf("%d not problem+json", status), status, "error with Content-Type %q: %s", res.Header.Get("Content-Type"), snippet(b))
			return
		}
		var p struct {
			Type   *string `json:"type"`
			Title  *string `json:"title"`
			Status *int    `json:"status"`
			Code   *string `json:"code"`
			Detail *string `json:"detail"`
			Fields []struct {
				Field, Code, Detail string
			} `json:"fields"`
		}
		if err := json.Unmarshal(b, &p); err != nil || p.Type == nil || p.Title == nil || p.Status == nil || p.Code == nil || p.Detail == nil {
			h.fail(rq, fmt.Sprintf("%d malformed problem", status), status, "problem document lacks type, title, status, code or detail (%v): %s", err, snippet(b))
			return
		}
		if *p.Status != status || !codePattern.MatchString(*p.Code) || *p.Title == "" || *p.Detail == "" {
			h.fail(rq, fmt.Sprintf("%d inconsistent problem", status), status, "problem status, code, title or detail wrong: %s", snippet(b))
		}
		texts := []string{*p.Title, *p.Detail}
		for _, f := range p.Fields {
			texts = append(texts, f.Detail)
			if f.Code == "" || f.Detail == "" {
				h.fail(rq, fmt.Sprintf("%d field without code", status), status, "a field error lacks its code or detail: %s", snippet(b))
			}
		}
		for _, text := range texts {
			if messageID.MatchString(text) {
				h.fail(rq, fmt.Sprintf("%d untranslated %s", status, text), status, "a message id instead of its text (missing from the catalog): %s", snippet(b))
			}
		}
		if status == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
			h.fail(rq, "429 without Retry-After", status, "no Retry-After")
		}
	} else if rq.outside != "" {
		h.fail(rq, "bound not enforced", status, "%s is outside the documented bounds, yet the request succeeded: %s", rq.outside, snippet(b))
		return
	} else if status != o.success {
		h.fail(rq, fmt.Sprintf("success %d", status), status, "success %d, documented %d", status, o.success)
		return
	}
	if schema == nil {
		if len(bytes.TrimSpace(b)) > 0 {
			h.fail(rq, fmt.Sprintf("%d has a body", status), status, "a body where none is documented: %s", snippet(b))
		}
		return
	}
	if want := o.media[status]; status < 400 && want != "application/json" && want != "" {
		// A file (a backup): the documented media type, and something in it.
		if mt != want || len(b) == 0 {
			h.fail(rq, "file answer", status, "Content-Type %q, want %s; %d bytes", res.Header.Get("Content-Type"), want, len(b))
		}
		return
	}
	if status < 400 && mt != "application/json" {
		h.fail(rq, "success not JSON", status, "Content-Type %q", res.Header.Get("Content-Type"))
		return
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		h.fail(rq, fmt.Sprintf("%d not JSON", status), status, "body is not JSON: %v: %s", err, snippet(b))
		return
	}
	if err := schema.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
		h.fail(rq, fmt.Sprintf("%d off schema", status), status, "body does not match the documented schema: %v\n%s", shortErr(err), snippet(b))
		return
	}
	if status < 400 {
		h.remember(o, v)
	}
}

// fail reports a broken contract; the first three of each kind (operation and what broke)
// are printed in full, the rest counted.
func (h *consoleRun) fail(rq *request, what string, status int, format string, args ...any) {
	key := rq.op.id + ": " + what
	h.failures[key]++
	if n := h.failures[key]; n <= 3 {
		h.t.Errorf("%s: %s\n  request: %s\n  %s", rq.op, what, rq, fmt.Sprintf(format, args...))
	} else if n == 4 {
		h.t.Errorf("%s: %s: more of the same not shown", rq.op, what)
	}
}

func snippet(b []byte) string {
	s := string(bytes.TrimSpace(b))
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func shortErr(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) && len(me) > 3 {
		me = me[:3]
		return me.Error() + " …"
	}
	s := err.Error()
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}
