package openapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// Route is what the gateway document needs to know about one gateway route.
type Route struct {
	ID          string
	Prefix      string // path prefix on the gateway, e.g. /demo ("/" for everything)
	Upstream    string // upstream base URL
	StripPrefix bool   // the prefix is removed before forwarding
	// OpenAPISource is a file path or URL of the upstream's document; "" gives a catch-all.
	OpenAPISource string
	AuthRequired  bool
	// OrgBound is true when the route serves keys of one organization only (403 for others).
	OrgBound bool
	// MaxBodyBytes > 0 limits request bodies (413 above it).
	MaxBodyBytes int64
	// ValidateRequests checks requests against the upstream document (400 when invalid).
	ValidateRequests bool
	// Scopes are needed on every request of the route; DocumentScopes are what its document
	// declared when the route was saved (what the gateway enforces, shown on each operation).
	Scopes         []string
	DocumentScopes *DocumentScopes
	// IdentityJWT: the upstream receives a signed X-Keygate-Jwt.
	IdentityJWT bool
}

// DocumentScopes are the x-keygate-scopes a route's document declared (DeclaredScopes).
type DocumentScopes struct {
	Default    []string
	Operations []OperationScopes
}

// scoped reports whether some request of the route needs a scope.
func (r Route) scoped() bool {
	if len(r.Scopes) > 0 {
		return true
	}
	if d := r.DocumentScopes; d != nil {
		if len(d.Default) > 0 {
			return true
		}
		for _, o := range d.Operations {
			if len(o.Scopes) > 0 {
				return true
			}
		}
	}
	return false
}

// requiredScopes is what the gateway asks of a request for method and gwPath: the route's
// scopes and the operation's own (or the document's default).
func (r Route) requiredScopes(method, gwPath string) []string {
	out := slices.Clone(r.Scopes)
	var op []string
	if d := r.DocumentScopes; d != nil {
		op = d.Default
		key := templateKey(gwPath)
		for _, o := range d.Operations {
			if strings.EqualFold(o.Method, method) && templateKey(o.Path) == key {
				op = o.Scopes
				break
			}
		}
	}
	for _, s := range op {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// GatewayOptions describes the gateway the document is for.
type GatewayOptions struct {
	// ServerURL is the gateway's base URL, e.g. http://127.0.0.1:8787 (required).
	ServerURL string
	// ConsoleURL, when known, is given as the contact for keys.
	ConsoleURL string
	// Version is the document's info.version (Keygate's version).
	Version string
	Load    LoadOptions
	// Loader loads a route's upstream document (nil: LoadUpstream with Load); a caller that
	// builds the document often hands in a cache.
	Loader func(ctx context.Context, source string) (*Upstream, error)
	// Lang is the language of Keygate's own texts in the document ("" is English).
	Lang string
}

// Issue kinds.
const (
	IssueLoad     = "load"     // an upstream document did not load; the route got a catch-all
	IssueConflict = "conflict" // a path or component clashed with another; what happened is said
	IssueNote     = "note"     // something was converted or replaced; nothing was lost
)

// Issue is one thing worth telling about a generated document.
type Issue struct {
	Route   string `json:"route"` // the route prefix
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func (i Issue) String() string { return fmt.Sprintf("route %s: %s: %s", i.Route, i.Kind, i.Message) }

// Names of Keygate's own components in the gateway document.
const (
	schemeAPIKey  = "ApiKeyHeader"
	schemeBearer  = "BearerKey"
	schemeSession = "SessionCookie"
	problemName   = "Problem"
)

// gatewayResponses are the answers Keygate itself may give on a route's operations.
var gatewayResponses = []struct {
	status, name, desc string
	applies            func(r Route, documented bool) bool
}{
	{"400", "RequestInvalid", "The request does not match the upstream's OpenAPI document (VALIDATION); `fields` names each failing parameter or body field. Also: the path has a `.`, `..` or empty segment in any encoding (INVALID_PATH), reads in another letter case or decoded again as another guarded route's on the same upstream (AMBIGUOUS_PATH), the request is not unambiguous HTTP/1.1 (MALFORMED_REQUEST), or a multipart body Keygate had to read for a `_method` field cannot be taken apart (MALFORMED_BODY).",
		func(r Route, documented bool) bool { return r.ValidateRequests && documented }},
	{"400", "BadRequest", "The path has a `.`, `..` or empty segment in any encoding (INVALID_PATH), or reads in another letter case or decoded again as another guarded route's on the same upstream (AMBIGUOUS_PATH); or the request is not unambiguous HTTP/1.1: bare LF, folded or malformed header lines, two lengths, a Transfer-Encoding other than chunked (MALFORMED_REQUEST); or a multipart body Keygate had to read for a `_method` field cannot be taken apart (MALFORMED_BODY).",
		func(r Route, documented bool) bool { return !(r.ValidateRequests && documented) }},
	{"401", "Unauthorized", "Keygate refused the credential: none was sent (MISSING_CREDENTIAL), or the key is malformed, unknown, expired or revoked.",
		func(r Route, _ bool) bool { return r.AuthRequired }},
	{"403", "ForbiddenOrganization", "The key belongs to an organization this route does not serve (FORBIDDEN).",
		func(r Route, _ bool) bool { return r.AuthRequired && r.OrgBound && !r.scoped() }},
	{"403", "InsufficientScope", "The key lacks a scope this operation requires (INSUFFICIENT_SCOPE); `detail` and the WWW-Authenticate header name the missing scope. The operation's required scopes are in its description and in `x-keygate-scopes`.",
		func(r Route, _ bool) bool { return r.AuthRequired && !r.OrgBound && r.scoped() }},
	{"403", "ForbiddenOrganizationOrScope", "The key belongs to an organization this route does not serve (FORBIDDEN), or lacks a scope this operation requires (INSUFFICIENT_SCOPE; `detail` and the WWW-Authenticate header name the missing scope).",
		func(r Route, _ bool) bool { return r.AuthRequired && r.OrgBound && r.scoped() }},
	{"413", "PayloadTooLarge", "The request body is larger than this route allows (PAYLOAD_TOO_LARGE).",
		func(r Route, _ bool) bool { return r.MaxBodyBytes > 0 }},
	{"421", "MisdirectedRequest", "The Host header names none of the gateway's own addresses (UNKNOWN_HOST): a gateway on loopback answers only as localhost, 127.0.0.1 or [::1].",
		func(Route, bool) bool { return true }},
	{"429", "TooManyRequests", "Keygate's rate limit for this key, or for failed authentications from this client, was reached (RATE_LIMITED). Retry after the number of seconds in Retry-After.",
		func(r Route, _ bool) bool { return r.AuthRequired }},
	{"502", "BadGateway", "Keygate could not reach the upstream: connection refused or reset, or DNS failure (UPSTREAM_UNAVAILABLE).",
		func(Route, bool) bool { return true }},
	{"504", "GatewayTimeout", "The upstream did not answer within the gateway's upstream timeout (UPSTREAM_TIMEOUT).",
		func(Route, bool) bool { return true }},
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Gateway builds the gateway document: each route's upstream document under the route's
// prefix (or a catch-all when it has none or it fails to load), Keygate's security and error
// responses on every operation, one tag per route. Problems are returned as issues and written
// into the route's tag description; the error is only for a document that cannot be built.
func Gateway(ctx context.Context, routes []Route, opts GatewayOptions) (*openapi3.T, []Issue, error) {
	if opts.ServerURL == "" {
		return nil, nil, errors.New("gateway document: no gateway url")
	}
	if _, err := url.ParseRequestURI(opts.ServerURL); err != nil {
		return nil, nil, fmt.Errorf("gateway document: gateway url %q: %w", opts.ServerURL, err)
	}
	parts := make([]*routePart, len(routes))
	for i, r := range routes {
		parts[i] = newRoutePart(r)
	}
	// Sorted by prefix, a route's components and operationIds keep their names before those
	// of routes that sort after it; which route serves a path does not depend on this order.
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].route.Prefix < parts[j].route.Prefix })
	for i := 1; i < len(parts); i++ {
		if parts[i].route.Prefix == parts[i-1].route.Prefix {
			return nil, nil, fmt.Errorf("gateway document: two routes have prefix %s", parts[i].route.Prefix)
		}
	}
	usedSlugs := map[string]bool{}
	for _, p := range parts {
		p.slug = uniqueName(slugFor(p.route.Prefix), usedSlugs)
	}

	var wg sync.WaitGroup
	for _, p := range parts {
		if p.route.OpenAPISource == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if opts.Loader != nil {
				p.up, p.loadErr = opts.Loader(ctx, p.route.OpenAPISource)
			} else {
				p.up, p.loadErr = LoadUpstream(ctx, p.route.OpenAPISource, opts.Load)
			}
		}()
	}
	wg.Wait()

	m := newMerger(opts, parts)
	for _, p := range parts {
		m.addRoute(ctx, p)
	}
	doc, err := m.finish(ctx)
	if err != nil {
		return nil, m.issues, err
	}
	return doc, m.issues, nil
}

type routePart struct {
	route   Route
	slug    string
	up      *Upstream
	loadErr error
	issues  []string // written into the tag description
}

func newRoutePart(r Route) *routePart {
	r.Prefix = normalizePrefix(r.Prefix)
	return &routePart{route: r}
}

func normalizePrefix(p string) string {
	p = "/" + strings.Trim(strings.TrimSpace(p), "/")
	return path.Clean(p)
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

func slugFor(prefix string) string {
	s := strings.Trim(nonWord.ReplaceAllString(prefix, "_"), "_")
	if s == "" {
		return "root"
	}
	return s
}

func uniqueName(base string, used map[string]bool) string {
	name := base
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	used[name] = true
	return name
}

// merger assembles the document as generic JSON values: renaming components and rewriting
// $refs is simplest there.
type merger struct {
	opts       GatewayOptions
	parts      []*routePart
	paths      map[string]any
	pathOwner  map[string]string // template key → route prefix
	components map[string]map[string]any
	opIDs      map[string]bool
	// usedResponses are Keygate's response components some operation refers to.
	usedResponses map[string]bool
	issues        []Issue
}

var componentSections = []string{"schemas", "parameters", "headers", "requestBodies", "responses", "examples", "links", "callbacks"}

func newMerger(opts GatewayOptions, parts []*routePart) *merger {
	m := &merger{
		opts:       opts,
		parts:      parts,
		paths:      map[string]any{},
		pathOwner:  map[string]string{},
		components: map[string]map[string]any{},
		opIDs:      map[string]bool{},
		// Every operation can get 502 and 504, so the document always has these; validating
		// a route's share on its own needs them too.
		usedResponses: map[string]bool{},
	}
	for _, s := range append(componentSections, "securitySchemes") {
		m.components[s] = map[string]any{}
	}
	for name, v := range keygateComponents(opts.Lang) {
		section, key, _ := strings.Cut(name, "/")
		m.components[section][key] = v
	}
	return m
}

// keygateComponents are the schemas, responses and security schemes Keygate adds.
func keygateComponents(lang string) map[string]any {
	out := map[string]any{
		"schemas/" + problemName: generic(problemSchema(map[string]any{
			"type": "about:blank", "title": "Unauthorized", "status": 401, "code": "MISSING_CREDENTIAL",
			"detail": "This API needs a key in the x-api-key header.",
		})),
		"securitySchemes/" + schemeAPIKey: generic(&openapi3.SecurityScheme{
			Type: "apiKey", In: "header", Name: "x-api-key",
			Description: text(lang, "openapi.gateway.scheme.api_key", nil),
		}),
		"securitySchemes/" + schemeBearer: generic(&openapi3.SecurityScheme{
			Type: "http", Scheme: "bearer",
			Description: text(lang, "openapi.gateway.scheme.bearer", nil),
		}),
		"securitySchemes/" + schemeSession: generic(&openapi3.SecurityScheme{
			Type: "apiKey", In: "cookie", Name: "keygate_session",
			Description: text(lang, "openapi.gateway.scheme.session", nil),
		}),
	}
	for _, r := range gatewayResponses {
		resp := problemResponse(r.desc, problemName).Value
		switch r.status {
		case "401":
			resp.Headers = openapi3.Headers{"WWW-Authenticate": headerRef("The authentication schemes the gateway accepts.", openapi3.NewStringSchema())}
		case "429":
			resp.Headers = openapi3.Headers{
				"Retry-After":         headerRef("Seconds to wait before retrying.", openapi3.NewIntegerSchema().WithMin(0)),
				"RateLimit-Limit":     headerRef("Requests allowed per window for this key.", openapi3.NewIntegerSchema().WithMin(0)),
				"RateLimit-Remaining": headerRef("Requests left in the current window.", openapi3.NewIntegerSchema().WithMin(0)),
				"RateLimit-Reset":     headerRef("Seconds until the window resets.", openapi3.NewIntegerSchema().WithMin(0)),
			}
		}
		out["responses/"+r.name] = generic(resp)
	}
	return out
}

func headerRef(desc string, s *openapi3.Schema) *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
		Description: desc, Schema: openapi3.NewSchemaRef("", s),
	}}}
}

func (m *merger) issue(p *routePart, kind, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	m.issues = append(m.issues, Issue{Route: p.route.Prefix, Kind: kind, Message: msg})
	p.issues = append(p.issues, msg)
}

// addRoute adds one route's operations: its upstream document if it loaded and fits, else a
// catch-all that says why.
func (m *merger) addRoute(ctx context.Context, p *routePart) {
	if p.up != nil {
		if err := m.addUpstream(ctx, p); err == nil {
			return
		} else {
			p.loadErr = err
		}
	}
	if p.loadErr != nil {
		// The issue (for whoever builds the document: the CLI's operator) has the loader's
		// message; the document itself, shown to every member who may list the route, only
		// the source and the kind of problem (LoadProblem): the message can quote the
		// document's contents or the paths of the files it refers to.
		const lead = "the upstream document was not used, so the route is documented as a catch-all: "
		m.issues = append(m.issues, Issue{Route: p.route.Prefix, Kind: IssueLoad, Message: fmt.Sprintf("%s%v", lead, p.loadErr)})
		p.issues = append(p.issues, lead+LoadProblem(p.route.OpenAPISource, p.loadErr))
	}
	m.addCatchAll(p)
}

// addUpstream places the route's upstream document; on error nothing was added.
func (m *merger) addUpstream(ctx context.Context, p *routePart) error {
	issuesBefore, partIssuesBefore := len(m.issues), len(p.issues)
	usedBefore := maps.Clone(m.usedResponses)
	up := p.up.Doc
	for _, n := range p.up.Notes {
		m.issue(p, IssueNote, "%s", n)
	}
	raw := generic(up)
	doc, _ := raw.(map[string]any)
	if doc == nil {
		return errors.New("upstream document is empty")
	}
	base := serverBase(up)

	// Components: rename what clashes with a different component of the same name.
	srcComps, _ := doc["components"].(map[string]any)
	if ss, _ := srcComps["securitySchemes"].(map[string]any); len(ss) > 0 {
		m.issue(p, IssueNote, "the upstream's own security schemes (%s) are replaced by Keygate's: Keygate strips the credential it checks before forwarding", strings.Join(sortedKeys(ss), ", "))
	}
	renames := m.planRenames(p, srcComps)

	// Paths: place under the prefix, apply Keygate's security and responses.
	srcPaths, _ := doc["paths"].(map[string]any)
	newPaths := map[string]any{}
	var pathKeys []string
	var opIDs []string
	for _, upPath := range sortedKeys(srcPaths) {
		item, _ := srcPaths[upPath].(map[string]any)
		gwPath, why := m.gatewayPath(p, base, upPath)
		if why != "" {
			m.issue(p, IssueConflict, "path %s is left out: %s", upPath, why)
			continue
		}
		key := templateKey(gwPath)
		if owner, taken := m.pathOwner[key]; taken {
			m.issue(p, IssueConflict, "path %s (%s on the gateway) is left out: it clashes with a path of route %s", upPath, gwPath, owner)
			continue
		}
		if slices.Contains(pathKeys, key) {
			m.issue(p, IssueConflict, "path %s (%s on the gateway) is left out: it clashes with another path of the same document", upPath, gwPath)
			continue
		}
		item = rewriteRefs(item, renames).(map[string]any)
		if _, ok := item["servers"]; ok {
			delete(item, "servers")
		}
		for _, method := range httpMethods {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			delete(op, "servers")
			id, _ := op["operationId"].(string)
			opIDs = append(opIDs, m.decorateOperation(p, op, method, gwPath, upPath, id, true))
		}
		newPaths[gwPath] = item
		pathKeys = append(pathKeys, key)
	}

	// Check the route's share on its own before committing it, so that one bad upstream
	// cannot break the whole document.
	comps := m.componentsWith(p, srcComps, renames)
	if err := validateFragment(ctx, m.opts, newPaths, comps); err != nil {
		for _, id := range opIDs {
			delete(m.opIDs, id)
		}
		m.issues, p.issues = m.issues[:issuesBefore], p.issues[:partIssuesBefore]
		m.usedResponses = usedBefore
		return fmt.Errorf("placed under %s it is not valid OpenAPI %s: %v", p.route.Prefix, Version, err)
	}
	m.components = comps
	for gw, item := range newPaths {
		m.paths[gw] = item
	}
	for _, k := range pathKeys {
		m.pathOwner[k] = p.route.Prefix
	}
	return nil
}

// planRenames picks a new name for each upstream component that clashes with a different
// one already in the document. It repeats until stable, since renaming one component changes
// the content of those that refer to it.
func (m *merger) planRenames(p *routePart, src map[string]any) map[string]string {
	renames := map[string]string{}
	for changed := true; changed; {
		changed = false
		for _, section := range componentSections {
			entries, _ := src[section].(map[string]any)
			for _, name := range sortedKeys(entries) {
				from := "#/components/" + section + "/" + name
				if _, done := renames[from]; done {
					continue
				}
				existing, taken := m.components[section][name]
				if !taken || reflect.DeepEqual(existing, rewriteRefs(entries[name], renames)) {
					continue
				}
				used := map[string]bool{}
				for k := range m.components[section] {
					used[k] = true
				}
				for k := range entries {
					used[k] = true
				}
				newName := uniqueName(p.slug+"_"+name, used)
				renames[from] = "#/components/" + section + "/" + newName
				m.issue(p, IssueConflict, "component %s/%s differs from the one already in the document; kept as %s/%s", section, name, section, newName)
				changed = true
			}
		}
	}
	return renames
}

// componentsWith returns a copy of the document's components with the route's added.
func (m *merger) componentsWith(p *routePart, src map[string]any, renames map[string]string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for s, entries := range m.components {
		out[s] = map[string]any{}
		for k, v := range entries {
			out[s][k] = v
		}
	}
	for _, section := range componentSections {
		entries, _ := src[section].(map[string]any)
		for name, v := range entries {
			target := name
			if to, ok := renames["#/components/"+section+"/"+name]; ok {
				target = path.Base(to)
			}
			out[section][target] = rewriteRefs(v, renames)
		}
	}
	return out
}

// gatewayPath maps an upstream path to the path callers use on the gateway, or says why the
// gateway cannot reach it through this route.
func (m *merger) gatewayPath(p *routePart, base, upPath string) (string, string) {
	gw, why := placePath(p.route, base, upPath)
	if why != "" {
		return "", why
	}
	for _, other := range m.parts {
		if len(other.route.Prefix) > len(p.route.Prefix) {
			if _, ok := cutSegments(gw, other.route.Prefix); ok {
				return "", fmt.Sprintf("on the gateway %s is served by the longer route %s", gw, other.route.Prefix)
			}
		}
	}
	return gw, ""
}

// placePath maps an upstream document's path (below its server base path) to the gateway
// path that reaches it through route r, or says why none does. The gateway forwards a request
// for P to the upstream URL's path joined with P, less the prefix when it is stripped.
func placePath(r Route, base, upPath string) (string, string) {
	full := joinPath(base, upPath)
	rest := full
	if u, err := url.Parse(r.Upstream); err == nil {
		if up := strings.TrimSuffix(u.Path, "/"); up != "" {
			cut, ok := cutSegments(full, up)
			if !ok {
				return "", fmt.Sprintf("the upstream serves it at %s, outside the route's upstream base path %s", full, up)
			}
			rest = cut
		}
	}
	if r.StripPrefix {
		return joinPath(r.Prefix, rest), ""
	}
	if _, ok := cutSegments(rest, r.Prefix); !ok {
		return "", fmt.Sprintf("on the gateway it would be %s, which is outside the route's prefix %s (the prefix is not stripped)", rest, r.Prefix)
	}
	return rest, ""
}

// serverBase is the path of an upstream document's first server URL ("/" when it has none).
func serverBase(doc *openapi3.T) string {
	if len(doc.Servers) > 0 {
		if bp, err := doc.Servers.BasePath(); err == nil {
			return bp
		}
	}
	return "/"
}

// cutSegments removes prefix from p when it matches whole path segments.
func cutSegments(p, prefix string) (string, bool) {
	if prefix == "/" || prefix == "" {
		return p, true
	}
	if p == prefix {
		return "/", true
	}
	if strings.HasPrefix(p, prefix+"/") {
		return p[len(prefix):], true
	}
	return "", false
}

func joinPath(a, b string) string {
	a = strings.TrimSuffix(a, "/")
	if b == "" || b == "/" {
		if a == "" {
			return "/"
		}
		return a
	}
	return a + "/" + strings.TrimPrefix(b, "/")
}

var paramName = regexp.MustCompile(`\{[^}]*\}`)

// templateKey makes /pets/{id} and /pets/{petId} the same path.
func templateKey(p string) string {
	return paramName.ReplaceAllString(strings.TrimSuffix(p, "/"), "{}")
}

// decorateOperation gives an operation its tag, a unique operationId, Keygate's security and
// error responses; it returns the operationId.
func (m *merger) decorateOperation(p *routePart, op map[string]any, method, gwPath, upPath, id string, documented bool) string {
	op["tags"] = []any{p.route.Prefix}
	switch {
	case id == "":
		id = uniqueName(p.slug+"_"+method+"_"+strings.Trim(nonWord.ReplaceAllString(upPath, "_"), "_"), m.opIDs)
	case m.opIDs[id]:
		newID := uniqueName(p.slug+"_"+id, m.opIDs)
		m.issue(p, IssueConflict, "operationId %s is used by another route; this one is %s", id, newID)
		id = newID
	default:
		m.opIDs[id] = true
	}
	op["operationId"] = id
	if d, _ := op["description"].(string); strings.TrimSpace(d) == "" {
		if s, _ := op["summary"].(string); s != "" {
			op["description"] = s
		} else {
			op["description"] = text(m.opts.Lang, "openapi.gateway.forwarded", map[string]any{
				"Method": strings.ToUpper(method), "Path": gwPath, "Prefix": p.route.Prefix,
			})
		}
	}
	if p.route.AuthRequired {
		op["security"] = securityAll()
		if need := p.route.requiredScopes(method, gwPath); len(need) > 0 {
			// OpenAPI 3.0 lets only OAuth2 and OpenID Connect requirements list scopes, so the
			// scopes go in an extension of Keygate's own and in the description people read.
			list := make([]any, len(need))
			quoted := make([]string, len(need))
			for i, s := range need {
				list[i], quoted[i] = s, "`"+s+"`"
			}
			op[ScopesExtension] = list
			op["description"] = strings.TrimSpace(op["description"].(string)) + "\n\n**Required key scopes:** " + strings.Join(quoted, ", ") + "."
		} else {
			delete(op, ScopesExtension)
		}
	} else {
		op["security"] = []any{}
		delete(op, ScopesExtension)
	}
	responses, _ := op["responses"].(map[string]any)
	if responses == nil {
		responses = map[string]any{}
		op["responses"] = responses
	}
	for _, r := range gatewayResponses {
		if !r.applies(p.route, documented) {
			continue
		}
		existing, ok := responses[r.status].(map[string]any)
		if !ok {
			responses[r.status] = map[string]any{"$ref": "#/components/responses/" + r.name}
			m.usedResponses[r.name] = true
			continue
		}
		if _, isRef := existing["$ref"]; isRef {
			m.issue(p, IssueNote, "%s %s keeps the upstream's own %s response; Keygate's %s may also be returned", strings.ToUpper(method), gwPath, r.status, ProblemMediaType)
			continue
		}
		content, _ := existing["content"].(map[string]any)
		if content == nil {
			content = map[string]any{}
			existing["content"] = content
		}
		if _, ok := content[ProblemMediaType]; !ok {
			content[ProblemMediaType] = map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + problemName}}
		}
	}
	return id
}

func securityAll() []any {
	return []any{
		map[string]any{schemeAPIKey: []any{}},
		map[string]any{schemeBearer: []any{}},
		map[string]any{schemeSession: []any{}},
	}
}

// addCatchAll documents a route without a usable document: any method, any path below it.
func (m *merger) addCatchAll(p *routePart) {
	gw := joinPath(p.route.Prefix, "{path}")
	key := templateKey(gw)
	if owner, taken := m.pathOwner[key]; taken {
		m.issue(p, IssueConflict, "catch-all %s is left out: it clashes with a path of route %s", gw, owner)
		return
	}
	m.pathOwner[key] = p.route.Prefix
	lang := m.opts.Lang
	why := text(lang, "openapi.gateway.catch_all.no_document", nil)
	if p.loadErr != nil {
		why = text(lang, "openapi.gateway.catch_all.unusable", nil)
	}
	item := map[string]any{
		"parameters": []any{map[string]any{
			"name": "path", "in": "path", "required": true,
			"description": text(lang, "openapi.gateway.catch_all.path", nil),
			"schema":      map[string]any{"type": "string"},
			"example":     "status",
		}},
	}
	for _, method := range []string{"get", "post", "put", "patch", "delete"} {
		op := map[string]any{
			"summary": text(lang, "openapi.gateway.catch_all.summary", map[string]any{"Method": strings.ToUpper(method), "Prefix": p.route.Prefix}),
			"description": text(lang, "openapi.gateway.catch_all.description", map[string]any{"Prefix": p.route.Prefix}) +
				" " + why,
			"responses": map[string]any{
				"200":     map[string]any{"description": text(lang, "openapi.gateway.catch_all.ok", nil)},
				"default": map[string]any{"description": text(lang, "openapi.gateway.catch_all.default", nil)},
			},
		}
		if method != "get" && method != "delete" {
			op["requestBody"] = map[string]any{
				"description": text(lang, "openapi.gateway.catch_all.body", nil),
				"content":     map[string]any{"*/*": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}},
			}
		}
		m.decorateOperation(p, op, method, gw, "any", "", false)
		item[method] = op
	}
	m.paths[gw] = item
}

// finish writes the info, servers and tags, loads the result with kin-openapi and validates it.
func (m *merger) finish(ctx context.Context) (*openapi3.T, error) {
	var tags []any
	for _, p := range m.parts {
		tags = append(tags, map[string]any{"name": p.route.Prefix, "description": m.tagDescription(p)})
	}
	sort.Slice(tags, func(i, j int) bool {
		return tags[i].(map[string]any)["name"].(string) < tags[j].(map[string]any)["name"].(string)
	})
	lang := m.opts.Lang
	desc := text(lang, "openapi.gateway.description", nil)
	if n := countIssues(m.issues, IssueLoad, IssueConflict); n > 0 {
		desc += "\n\n" + text(lang, "openapi.gateway.problems", map[string]any{"Count": n})
	}
	title := text(lang, "openapi.gateway.title", nil)
	doc := map[string]any{
		"openapi": Version,
		"info":    m.info(title, desc),
		"servers": []any{map[string]any{"url": strings.TrimSuffix(m.opts.ServerURL, "/"), "description": title}},
		"tags":    tags,
		"paths":   m.paths,
	}
	for _, r := range gatewayResponses {
		if !m.usedResponses[r.name] {
			delete(m.components["responses"], r.name)
		}
	}
	if !m.refersToProblem() {
		delete(m.components["schemas"], problemName)
	}
	comps := map[string]any{}
	for s, entries := range m.components {
		if len(entries) > 0 {
			comps[s] = entries
		}
	}
	doc["components"] = comps
	return loadGenerated(ctx, doc)
}

// refersToProblem reports whether anything left in the document uses Keygate's Problem schema.
func (m *merger) refersToProblem() bool {
	rest := map[string]any{"paths": m.paths}
	for s, entries := range m.components {
		for k, v := range entries {
			if s != "schemas" || k != problemName {
				rest[s+"/"+k] = v
			}
		}
	}
	b, _ := json.Marshal(rest)
	return strings.Contains(string(b), `"#/components/schemas/`+problemName+`"`)
}

func (m *merger) info(title, desc string) map[string]any {
	info := map[string]any{"title": title, "version": versionOr(m.opts.Version), "description": desc}
	if m.opts.ConsoleURL != "" {
		info["contact"] = map[string]any{"name": text(m.opts.Lang, "openapi.gateway.contact", nil), "url": m.opts.ConsoleURL}
	}
	return info
}

func versionOr(v string) string {
	if v == "" {
		return "dev"
	}
	return v
}

func (m *merger) tagDescription(p *routePart) string {
	var b strings.Builder
	lang := m.opts.Lang
	switch {
	case p.up != nil && p.loadErr == nil:
		// The upstream's title, version and description are its own text: never translated.
		info := p.up.Doc.Info
		data := map[string]any{"Title": strings.TrimSpace(info.Title), "Version": info.Version}
		if p.up.SourceVersion != Version {
			data["From"], data["To"] = p.up.SourceVersion, Version
			b.WriteString(text(lang, "openapi.gateway.tag.upstream_converted", data))
		} else {
			b.WriteString(text(lang, "openapi.gateway.tag.upstream", data))
		}
		if d := strings.TrimSpace(info.Description); d != "" {
			b.WriteString("\n\n" + d)
		}
	case p.route.OpenAPISource == "":
		b.WriteString(text(lang, "openapi.gateway.tag.no_document", map[string]any{"Prefix": p.route.Prefix}))
	default:
		b.WriteString(text(lang, "openapi.gateway.tag.unusable", map[string]any{"Prefix": p.route.Prefix}))
	}
	if !p.route.AuthRequired {
		b.WriteString("\n\n" + text(lang, "openapi.gateway.tag.no_credential", nil))
	}
	if len(p.issues) > 0 {
		b.WriteString("\n\n" + text(lang, "openapi.gateway.tag.problems", nil) + "\n")
		for _, s := range p.issues {
			b.WriteString("\n- " + s)
		}
	}
	return b.String()
}

func countIssues(issues []Issue, kinds ...string) int {
	n := 0
	for _, i := range issues {
		for _, k := range kinds {
			if i.Kind == k {
				n++
			}
		}
	}
	return n
}

// validateFragment checks a document holding just these paths and components.
func validateFragment(ctx context.Context, opts GatewayOptions, paths map[string]any, comps map[string]map[string]any) error {
	doc := map[string]any{
		"openapi":    Version,
		"info":       map[string]any{"title": "fragment", "version": "0"},
		"servers":    []any{map[string]any{"url": opts.ServerURL}},
		"paths":      paths,
		"components": comps,
	}
	_, err := loadGenerated(ctx, doc)
	return err
}

// loadGenerated turns a generic document into a validated *openapi3.T with resolved refs.
func loadGenerated(ctx context.Context, doc map[string]any) (*openapi3.T, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal document: %w", err)
	}
	loader := openapi3.NewLoader()
	loader.Context = ctx
	t, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load generated document: %w", err)
	}
	if err := Validate(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// generic converts a kin-openapi value to plain JSON values.
func generic(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("openapi: marshal %T: %v", v, err)) // kin-openapi values always marshal
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(fmt.Sprintf("openapi: unmarshal %T: %v", v, err))
	}
	return out
}

// rewriteRefs returns a deep copy of v with every $ref in renames replaced.
func rewriteRefs(v any, renames map[string]string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if s, ok := val.(string); ok && k == "$ref" {
				if to, ok := renames[s]; ok {
					out[k] = to
					continue
				}
			}
			out[k] = rewriteRefs(val, renames)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = rewriteRefs(val, renames)
		}
		return out
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// LoadProblem says why a route's upstream document could not be used, naming the source (a
// URL without its credentials, a file by its base name) and the kind of problem — never the loader's
// own message, which can quote the document's contents or the paths of files it refers to.
// The document is shown to every member who may list the route.
func LoadProblem(source string, err error) string {
	// A file is named by its base name: the server's directories are no one's business.
	name := filepath.Base(source)
	if u, perr := url.Parse(source); perr == nil && u.Scheme != "" && u.Host != "" {
		name = u.Redacted()
	}
	var why string
	switch {
	case errors.Is(err, ErrRefRefused):
		why = "it refers to a file or host it may not use"
	case errors.Is(err, ErrNotExpressible):
		why = "it cannot be expressed in OpenAPI 3.0"
	case errors.Is(err, ErrSourceInvalid):
		why = "it is not a valid OpenAPI 3 document"
	case errors.Is(err, ErrSourceUnreadable):
		why = "it could not be read"
	default:
		why = "it could not be used"
	}
	return fmt.Sprintf("%s: %s", name, why)
}
