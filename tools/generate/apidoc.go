package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
)

// The operation table of docs/api.md sits between these lines; the rest of the file is
// written by hand.
const (
	beginMarker = "<!-- BEGIN GENERATED operations: `make generate` writes this table from backend/console/operations.go -->"
	endMarker   = "<!-- END GENERATED operations -->"
)

var needText = map[auth.Need]string{
	auth.NeedPublic:     "public",
	auth.NeedSignedIn:   "signed in",
	auth.NeedAdminOfAny: "admin of any",
	auth.NeedMember:     "member",
	auth.NeedDeveloper:  "developer",
	auth.NeedAdmin:      "admin",
}

// apiTable writes one row per operation: name, method and path with its query and body
// fields, the result's fields (or 204), the role needed and where it is available.
func apiTable(ops []console.Operation, doc *openapi3.T) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(beginMarker + "\n\n")
	b.WriteString("| name | method and path | input | result | role |\n|---|---|---|---|---|\n")
	for _, o := range ops {
		var query, body []string
		for _, f := range o.Fields() {
			switch f.In {
			case "query":
				query = append(query, f.Name)
			case "body":
				body = append(body, f.Name)
			}
		}
		in := ""
		if len(query) > 0 {
			in = "`?" + strings.Join(query, "&") + "`"
		}
		if len(body) > 0 {
			in = "`{" + strings.Join(body, ",") + "}`"
		}
		if o.Mode == console.ModeCLI {
			fmt.Fprintf(&b, "| %s | (command line only) | `{%s}` | %s | admin (instance) |\n", o.Name, strings.Join(body, ","), o.Out.Name())
			continue
		}
		result := fmt.Sprint(o.Status)
		if o.Produces != "" {
			result += " a file (`" + o.Produces + "`)"
		} else if o.Status != http.StatusNoContent {
			op := doc.Paths.Find(o.Path).GetOperation(o.Method)
			mt := op.Responses.Status(o.Status).Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				return nil, fmt.Errorf("operation %s: no JSON result", o.Name)
			}
			name := strings.TrimPrefix(mt.Schema.Ref, "#/components/schemas/")
			s, err := resolve(doc, mt.Schema)
			if err != nil {
				return nil, err
			}
			fields := make([]string, 0, len(s.Properties))
			for f := range s.Properties {
				fields = append(fields, f)
			}
			sort.Strings(fields)
			result += " " + name
			if len(fields) > 0 {
				result += " `{" + strings.Join(fields, ",") + "}`"
			}
		}
		role, ok := needText[o.Need]
		if !ok {
			return nil, fmt.Errorf("operation %s: unknown need %q", o.Name, o.Need)
		}
		if o.Scope == console.ScopeInstance {
			role += " (instance)"
		}
		switch o.Mode {
		case console.ModeDesktop:
			role += ", desktop only"
		case console.ModeServe:
			role += ", serve only"
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s | %s |\n", o.Name, o.Method, o.Path, in, result, role)
	}
	b.WriteString("\n" + endMarker)
	return b.Bytes(), nil
}

// replaceBetweenMarkers puts table in place of the marked block of doc, markers included.
func replaceBetweenMarkers(doc, table []byte) ([]byte, error) {
	i := bytes.Index(doc, []byte(beginMarker))
	j := bytes.Index(doc, []byte(endMarker))
	if i < 0 || j < i {
		return nil, errors.New("the generated-table markers are missing or out of order")
	}
	out := append([]byte{}, doc[:i]...)
	out = append(out, table...)
	return append(out, doc[j+len(endMarker):]...), nil
}
