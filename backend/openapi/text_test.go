package openapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/openapi"
)

// TestGatewayInLanguage: Keygate's own texts of the gateway document (title, description,
// server, security schemes, catch-all operations, route tags) come from the catalog of the
// asked language; the upstream documents' own texts stay as written; and every language gives
// a valid document.
func TestGatewayInLanguage(t *testing.T) {
	english, _ := buildGateway(t)
	for _, l := range i18n.Languages() {
		opts := gatewayOpts
		opts.Lang = l.Tag
		doc, _, err := openapi.Gateway(context.Background(), fixtureRoutes(), opts)
		if err != nil {
			t.Fatalf("%s: %v", l.Tag, err)
		}
		if err := openapi.Validate(context.Background(), doc); err != nil {
			t.Fatalf("%s: not a valid document: %v", l.Tag, err)
		}
		want := i18n.T(l.Tag, "openapi.gateway.title", nil)
		if doc.Info.Title != want || doc.Servers[0].Description != want {
			t.Errorf("%s: title %q, server %q, want %q", l.Tag, doc.Info.Title, doc.Servers[0].Description, want)
		}
		if !strings.HasPrefix(doc.Info.Description, i18n.T(l.Tag, "openapi.gateway.description", nil)) {
			t.Errorf("%s: description %q", l.Tag, doc.Info.Description)
		}
		if got := doc.Components.SecuritySchemes["ApiKeyHeader"].Value.Description; got != i18n.T(l.Tag, "openapi.gateway.scheme.api_key", nil) {
			t.Errorf("%s: ApiKeyHeader says %q", l.Tag, got)
		}
		// /shop/legacy has no document: its catch-all is Keygate's text.
		get := doc.Paths.Value("/shop/legacy/{path}").Get
		if want := i18n.T(l.Tag, "openapi.gateway.catch_all.summary", map[string]any{"Method": "GET", "Prefix": "/shop/legacy"}); get.Summary != want {
			t.Errorf("%s: catch-all summary %q, want %q", l.Tag, get.Summary, want)
		}
		// /pets comes from the upstream's document: its operations read as the upstream wrote them.
		for path, item := range english.Paths.Map() {
			if !strings.HasPrefix(path, "/pets/") && path != "/pets" {
				continue
			}
			for method, op := range item.Operations() {
				got := doc.Paths.Value(path).GetOperation(method)
				if got.Summary != op.Summary || got.Description != op.Description {
					t.Errorf("%s: %s %s was translated: %q / %q", l.Tag, method, path, got.Summary, got.Description)
				}
			}
		}
		tag := doc.Tags.Get("/pets")
		if !strings.Contains(tag.Description, "Pets") {
			t.Errorf("%s: the upstream's title is gone from its tag: %q", l.Tag, tag.Description)
		}
		if l.Tag != i18n.Source && doc.Info.Title == english.Info.Title {
			t.Errorf("%s: the title is still English", l.Tag)
		}
	}
}

// TestConsoleInLanguage: the console document's title, description, server, security schemes
// and tags follow the language; tags keep their names (operations refer to them) and show a
// translated name in x-displayName; English adds no x-displayName.
func TestConsoleInLanguage(t *testing.T) {
	for _, lang := range []string{"", "en", "ja", "he"} {
		doc, err := openapi.Console(context.Background(), sampleOps(), openapi.ConsoleOptions{ServerURL: "http://127.0.0.1:8788", Lang: lang})
		if err != nil {
			t.Fatalf("%q: %v", lang, err)
		}
		if want := i18n.T(lang, "openapi.console.title", nil); doc.Info.Title != want {
			t.Errorf("%q: title %q, want %q", lang, doc.Info.Title, want)
		}
		if want := i18n.T(lang, "openapi.console.scheme.session", nil); doc.Components.SecuritySchemes["SessionCookie"].Value.Description != want {
			t.Errorf("%q: session scheme %q", lang, doc.Components.SecuritySchemes["SessionCookie"].Value.Description)
		}
		tag := doc.Tags.Get("session")
		if tag == nil {
			t.Fatalf("%q: no session tag", lang)
		}
		if want := i18n.T(lang, "openapi.console.tag.session", nil); tag.Description != want {
			t.Errorf("%q: session tag %q, want %q", lang, tag.Description, want)
		}
		name, has := tag.Extensions["x-displayName"]
		switch {
		case lang == "" || lang == "en":
			if has {
				t.Errorf("%q: English has x-displayName %v", lang, name)
			}
		case name != i18n.T(lang, "openapi.console.tag.session.name", nil):
			t.Errorf("%q: session tag shown as %v", lang, name)
		}
	}
	en, _ := openapi.Console(context.Background(), sampleOps(), openapi.ConsoleOptions{})
	ja, _ := openapi.Console(context.Background(), sampleOps(), openapi.ConsoleOptions{Lang: "ja"})
	a, _ := json.Marshal(en.Paths)
	b, _ := json.Marshal(ja.Paths)
	if len(a) == 0 || string(a) != string(b) {
		t.Error("the language changed the console's operations (they are not part of this change)")
	}
}
