package openapi_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/backend/openapi"
)

type listThingsIn struct {
	Org    string `json:"org" doc:"The organization; empty means the caller's first."`
	Status string `json:"status" enum:"active,expired,all" doc:"Which things to list."`
	Limit  int    `json:"limit" example:"50"`
}

type thing struct {
	ID        string     `json:"id" doc:"The thing's id."`
	Name      string     `json:"name"`
	Status    string     `json:"status" enum:"active,expired"`
	Email     string     `json:"email,omitempty" format:"email"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt"`
	Note      string     `json:"note" required:"false"`
}

type thingList struct {
	Things []thing `json:"things"`
	Next   string  `json:"next,omitempty"`
}

type createThingIn struct {
	Org  string `json:"org"`
	Name string `json:"name" required:"true" doc:"1 to 64 characters."`
}

type getThingIn struct {
	ID  string `json:"id" doc:"The thing's id."`
	Org string `json:"org"`
}

type nothing struct{}

func sampleOps() []openapi.Operation {
	return []openapi.Operation{
		{Name: "ListThings", Method: "GET", Path: "/api/v1/things", Summary: "List things", Tag: "things",
			In: reflect.TypeFor[listThingsIn](), Out: reflect.TypeFor[thingList](), Access: "member"},
		{Name: "CreateThing", Method: "POST", Path: "/api/v1/things", Summary: "Create a thing", Tag: "things",
			In: reflect.TypeFor[createThingIn](), Out: reflect.TypeFor[thing](), Status: 201, Access: "developer",
			Errors: []int{409}},
		{Name: "GetThing", Method: "GET", Path: "/api/v1/things/{id}", Summary: "Get a thing", Tag: "things",
			In: reflect.TypeFor[getThingIn](), Out: reflect.TypeFor[thing](), Access: "member"},
		{Name: "Login", Method: "POST", Path: "/api/v1/session", Summary: "Sign in", Tag: "session",
			In: reflect.TypeFor[createThingIn](), Out: reflect.TypeFor[nothing](), Status: 204, Access: "public", Mode: "serve"},
		{Name: "Logout", Method: "DELETE", Path: "/api/v1/session", Summary: "Sign out", Tag: "session",
			In: reflect.TypeFor[nothing](), Out: reflect.TypeFor[nothing](), Status: 204, Access: "signedIn"},
	}
}

func TestConsoleSchemasFollowTheGoTypes(t *testing.T) {
	doc, err := openapi.Console(context.Background(), sampleOps(), openapi.ConsoleOptions{ServerURL: "http://127.0.0.1:8788", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := openapi.Validate(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	th := doc.Components.Schemas["Thing"].Value
	if want := []string{"id", "name", "status", "createdAt", "expiresAt"}; !slices.Equal(th.Required, want) {
		t.Errorf("result required = %v, want %v (omitempty and required:false are optional)", th.Required, want)
	}
	if p := th.Properties["createdAt"].Value; p.Format != "date-time" || !p.Type.Is("string") {
		t.Errorf("time.Time = %v %s", p.Type, p.Format)
	}
	if p := th.Properties["expiresAt"].Value; !p.Nullable || p.Format != "date-time" {
		t.Error("*time.Time should be a nullable date-time")
	}
	if p := th.Properties["status"].Value; !reflect.DeepEqual(p.Enum, []any{"active", "expired"}) {
		t.Errorf("enum = %v", p.Enum)
	}
	if p := th.Properties["email"].Value; p.Format != "email" {
		t.Errorf("format = %q", p.Format)
	}
	if p := th.Properties["id"].Value; p.Description != "The thing's id." {
		t.Errorf("doc tag = %q", p.Description)
	}

	list := doc.Paths.Value("/api/v1/things").Get
	if list.OperationID != "ListThings" || !slices.Equal(list.Tags, []string{"things"}) {
		t.Errorf("operationId %q tags %v", list.OperationID, list.Tags)
	}
	params := map[string]*openapi3.Parameter{}
	for _, p := range list.Parameters {
		params[p.Value.Name] = p.Value
	}
	if p := params["status"]; p == nil || p.In != "query" || p.Required || !reflect.DeepEqual(p.Schema.Value.Enum, []any{"active", "expired", "all"}) {
		t.Errorf("status parameter = %+v", p)
	}
	if p := params["limit"]; p == nil || p.Schema.Value.Example != float64(50) {
		t.Errorf("limit example = %+v", p)
	}
	get := doc.Paths.Value("/api/v1/things/{id}").Get
	if p := get.Parameters[0].Value; p.Name != "id" || p.In != "path" || !p.Required || p.Description != "The thing's id." {
		t.Errorf("path parameter = %+v", p)
	}
	body := doc.Components.Schemas["CreateThingRequest"].Value
	if !slices.Equal(body.Required, []string{"name"}) {
		t.Errorf("input required = %v, want only the field marked required", body.Required)
	}

	// Security: session cookie, plus the CSRF token when state changes; none for public.
	create := doc.Paths.Value("/api/v1/things").Post
	if s := *create.Security; len(s) != 1 || len(s[0]) != 2 {
		t.Errorf("CreateThing security = %v, want SessionCookie and CsrfToken together", s)
	}
	if s := *list.Security; len(s) != 1 || len(s[0]) != 1 {
		t.Errorf("ListThings security = %v, want SessionCookie", s)
	}
	if s := doc.Paths.Value("/api/v1/session").Post.Security; s == nil || len(*s) != 0 {
		t.Errorf("public operation security = %v, want none", s)
	}
	for _, name := range []string{openapi.SchemeSessionCookie, openapi.SchemeCsrfToken} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("no %s scheme", name)
		}
	}
	if s := doc.Components.SecuritySchemes[openapi.SchemeSessionCookie].Value; s.In != "cookie" || s.Name != "keygate_session" {
		t.Errorf("SessionCookie = %+v", s)
	}
	// Errors are problem+json.
	for _, status := range []string{"400", "401", "403", "409", "413", "415", "421", "507", "default"} {
		r := create.Responses.Value(status)
		if r == nil || r.Value.Content.Get(openapi.ProblemMediaType) == nil {
			t.Errorf("CreateThing %s is not a problem+json response", status)
		}
	}
	// Statuses follow the operation's shape: a GET has no body to refuse, a read-only public
	// operation needs no session and writes nothing, a status in Errors is listed.
	listResponses := doc.Paths.Value("/api/v1/things").Get.Responses
	for status, want := range map[string]bool{"400": true, "401": true, "403": true, "409": false, "413": false, "415": false, "507": true} {
		if got := listResponses.Value(status) != nil; got != want {
			t.Errorf("ListThings documents %s: %v, want %v", status, got, want)
		}
	}
	if doc.Paths.Value("/api/v1/things/{id}").Get.Responses.Value("404") == nil {
		t.Error("GetThing has an id but no 404")
	}
	if _, err := openapi.Console(context.Background(), []openapi.Operation{{Name: "X", Method: "GET", Path: "/api/v1/x",
		In: reflect.TypeFor[nothing](), Out: reflect.TypeFor[nothing](), Access: "public", Errors: []int{418}}}, openapi.ConsoleOptions{}); err == nil {
		t.Error("a status without a described response was accepted")
	}
	if r := create.Responses.Value("201"); r == nil || r.Value.Content.Get("application/json") == nil {
		t.Error("CreateThing 201 has no JSON body")
	}
	if r := doc.Paths.Value("/api/v1/session").Delete.Responses.Value("204"); r == nil || len(r.Value.Content) != 0 {
		t.Error("Logout 204 should have no body")
	}
}

func TestConsoleRefusesBadTables(t *testing.T) {
	ops := sampleOps()
	dup := append(ops, ops[0])
	bad := []struct {
		name string
		ops  []openapi.Operation
	}{
		{"empty", nil},
		{"duplicate", dup},
		{"unknown access", []openapi.Operation{{Name: "X", Method: "GET", Path: "/x", In: reflect.TypeFor[nothing](), Out: reflect.TypeFor[nothing](), Access: "root"}}},
		{"path parameter without field", []openapi.Operation{{Name: "X", Method: "GET", Path: "/x/{nope}", In: reflect.TypeFor[nothing](), Out: reflect.TypeFor[nothing](), Access: "public"}}},
		{"non-struct input", []openapi.Operation{{Name: "X", Method: "GET", Path: "/x", In: reflect.TypeFor[string](), Out: reflect.TypeFor[nothing](), Access: "public"}}},
	}
	for _, c := range bad {
		if _, err := openapi.Console(context.Background(), c.ops, openapi.ConsoleOptions{}); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
