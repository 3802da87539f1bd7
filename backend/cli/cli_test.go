package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/cli"
	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// TestMain pins the CLI's language to English, whatever the machine's locale; the
// localization test sets its own.
func TestMain(m *testing.M) {
	os.Setenv("KEYGATE_LANG", "en")
	os.Exit(pgtest.Main(m))
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--data-dir", dir}, args...)
	code := cli.Run(context.Background(), full, strings.NewReader(stdin), &out, &errb, cli.Options{})
	return result{code, out.String(), errb.String()}
}

func jsonKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, raw)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestKeysCreateJSONShape(t *testing.T) {
	dir := t.TempDir()
	r := run(t, dir, "", "keys", "create", "--name", "ci", "--expires", "30d", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// The console's CreateKey answer, field for field.
	want := jsonKeys(t, mustJSON(t, keys.Created{}))
	if got := jsonKeys(t, []byte(r.stdout)); !reflect.DeepEqual(got, want) {
		t.Fatalf("create --json fields %v, want CreateKey's %v", got, want)
	}
	var c struct{ Key, Start, CreatedAt string }
	json.Unmarshal([]byte(r.stdout), &c)
	if !strings.HasPrefix(c.Key, c.Start) || !strings.HasSuffix(c.CreatedAt, "Z") {
		t.Fatalf("bad values: %+v", c)
	}
}

func TestKeysListJSONNeverShowsSecret(t *testing.T) {
	dir := t.TempDir()
	r := run(t, dir, "", "keys", "create", "--name", "one", "--json")
	var c struct{ Key string }
	json.Unmarshal([]byte(r.stdout), &c)
	l := run(t, dir, "", "keys", "list", "--json")
	if l.code != 0 {
		t.Fatalf("exit %d: %s", l.code, l.stderr)
	}
	// ListKeys' answer, with every page.
	var page struct{ Keys []json.RawMessage }
	if err := json.Unmarshal([]byte(l.stdout), &page); err != nil || len(page.Keys) != 1 {
		t.Fatalf("list: %v %s", err, l.stdout)
	}
	want := jsonKeys(t, mustJSON(t, keys.Key{}))
	if got := jsonKeys(t, page.Keys[0]); !reflect.DeepEqual(got, want) {
		t.Fatalf("list fields %v, want ListKeys' %v", got, want)
	}
	if strings.Contains(l.stdout, c.Key) || strings.Contains(l.stdout, c.Key[3:20]) {
		t.Fatal("list shows the secret")
	}
	empty := run(t, t.TempDir(), "", "keys", "list", "--json")
	if !emptyKeyList(empty.stdout) {
		t.Fatalf("empty list prints %q, want {\"keys\": []}", empty.stdout)
	}
}

func TestVerifyExitCodes(t *testing.T) {
	dir := t.TempDir()
	r := run(t, dir, "", "keys", "create", "--name", "v", "--json")
	var c struct{ ID, Key string }
	json.Unmarshal([]byte(r.stdout), &c)

	ok := run(t, dir, c.Key+"\n", "keys", "verify")
	if ok.code != 0 || !strings.Contains(ok.stdout, `"VALID"`) || strings.Contains(ok.stdout, c.Key) {
		t.Fatalf("valid key: %+v", ok)
	}
	bad := run(t, dir, "kg_nope\n", "keys", "verify")
	if bad.code != 1 || !strings.Contains(bad.stdout, `"MALFORMED"`) {
		t.Fatalf("malformed key: %+v", bad)
	}
	if rv := run(t, dir, "", "keys", "revoke", c.ID, "--reason", "rotated"); rv.code != 0 {
		t.Fatalf("revoke: %+v", rv)
	}
	gone := run(t, dir, c.Key, "keys", "verify")
	if gone.code != 1 || !strings.Contains(gone.stdout, `"REVOKED"`) {
		t.Fatalf("revoked key: %+v", gone)
	}
	if arg := run(t, dir, "", "keys", "verify", c.Key); arg.code != 2 || strings.Contains(arg.stderr, c.Key) {
		t.Fatalf("key on the command line must be refused without echoing it: %+v", arg)
	}
}

func TestErrorsAreOneSentence(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string
	}{
		// The console's problem details, as the operations answer them.
		{[]string{"keys", "create", "--name", "   "}, 1, "Enter a name for the key."},
		{[]string{"keys", "create", "--name", "x", "--expires", "2001-01-01"}, 1, "past"},
		{[]string{"keys", "create", "--name", "x", "--expires", "soon"}, 1, "Choose never, 7d"},
		{[]string{"keys", "create", "--name", "x", "--org", "org_nope"}, 1, "This organization does not exist."},
		{[]string{"keys", "get", "key_nope"}, 1, "No API key with this id"},
		{[]string{"keys", "revoke", "key_nope"}, 1, "No API key with this id"},
		{[]string{"keys", "rename", "key_nope", "x"}, 1, "No API key with this id"},
		{[]string{"keys", "roll", "key_nope"}, 1, "No API key with this id"},
		{[]string{"keys", "list", "--status", "sleeping"}, 1, "Choose active, disabled, expired, revoked or all."},
		{[]string{"routes", "remove", "/nope"}, 1, "No route has the prefix or id /nope."},
		{[]string{"orgs", "rename", "org_nope", "x"}, 1, "This organization does not exist."},
		{[]string{"keys", "get"}, 2, "usage"},
		{[]string{"keys", "frobnicate"}, 2, "unknown"},
		{[]string{"nope"}, 2, "unknown command"},
		{[]string{"keys", "create", "--bogus"}, 2, "bogus"},
	}
	for _, c := range cases {
		r := run(t, dir, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d stderr %q; want exit %d mentioning %q", c.args, r.code, r.stderr, c.code, c.want)
		}
		if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
			t.Errorf("%v: stack trace on stderr", c.args)
		}
	}
	// Nothing was created by the failures.
	if l := run(t, dir, "", "keys", "list", "--json"); !emptyKeyList(l.stdout) {
		t.Errorf("failed commands left keys: %s", l.stdout)
	}
}

func TestOrgs(t *testing.T) {
	dir := t.TempDir()
	l := run(t, dir, "", "orgs", "list", "--json")
	var orgs struct{ Orgs []struct{ ID, Name string } }
	err := json.Unmarshal([]byte(l.stdout), &orgs)
	if list := orgs.Orgs; err != nil || len(list) != 1 || list[0].Name != "Default" || !strings.HasPrefix(list[0].ID, "org_") {
		t.Fatalf("first run: %v %s", err, l.stdout)
	}
	c := run(t, dir, "", "orgs", "create", "Acme", "--json")
	var o struct{ ID, Name string }
	json.Unmarshal([]byte(c.stdout), &o)
	if c.code != 0 || o.Name != "Acme" {
		t.Fatalf("create: %+v", c)
	}
	k := run(t, dir, "", "keys", "create", "--name", "acme key", "--org", o.ID, "--json")
	if k.code != 0 {
		t.Fatalf("key in new org: %+v", k)
	}
	if d := run(t, dir, "", "keys", "list", "--json"); strings.Contains(d.stdout, "acme key") {
		t.Fatal("the default organization lists another organization's key")
	}
	rn := run(t, dir, "", "orgs", "rename", o.ID, "Acme Corp", "--json")
	json.Unmarshal([]byte(rn.stdout), &o)
	if rn.code != 0 || o.Name != "Acme Corp" {
		t.Fatalf("rename: %+v", rn)
	}
}

func TestHeadlessWithoutCommandSaysHowToServe(t *testing.T) {
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), nil, strings.NewReader(""), &out, &errb, cli.Options{})
	if code != 2 || !strings.Contains(errb.String(), "keygate serve") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	called := ""
	cli.Run(context.Background(), []string{"--data-dir", "/x"}, nil, &out, &errb,
		cli.Options{Desktop: func(dir string) int { called = dir; return 0 }})
	if called != "/x" {
		t.Fatalf("desktop not opened with the data dir: %q", called)
	}
}

func TestVersion(t *testing.T) {
	r := run(t, t.TempDir(), "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "keygate ") {
		t.Fatalf("%+v", r)
	}
}

func TestHelpAndErrorsFollowKeygateLang(t *testing.T) {
	t.Setenv("KEYGATE_LANG", "de")
	r := run(t, t.TempDir(), "", "help")
	if r.code != 0 || !strings.Contains(r.stdout, "Befehle:") || strings.Contains(r.stdout, "Commands:") {
		t.Fatalf("German help: %q", r.stdout)
	}
	t.Setenv("KEYGATE_LANG", "ja")
	r = run(t, t.TempDir(), "", "keys", "create", "--name", " ")
	if r.code != 1 || !strings.Contains(r.stderr, "キーの名前を入力してください。") || strings.Contains(r.stderr, "。.") {
		t.Fatalf("Japanese error: %q", r.stderr)
	}
	t.Setenv("KEYGATE_LANG", "")
	t.Setenv("LANGUAGE", "")
	t.Setenv("LC_ALL", "fr_FR.UTF-8")
	r = run(t, t.TempDir(), "", "nope")
	if r.code != 2 || !strings.Contains(r.stderr, "commande inconnue") {
		t.Fatalf("French from LC_ALL: %q", r.stderr)
	}
}

func TestManagementActionsAreAudited(t *testing.T) {
	dir := t.TempDir()
	r := run(t, dir, "", "keys", "create", "--name", "audited", "--json")
	var c struct{ ID, Key string }
	json.Unmarshal([]byte(r.stdout), &c)
	run(t, dir, "", "keys", "revoke", c.ID, "--reason", "done")
	run(t, dir, "", "keys", "revoke", c.ID) // idempotent: no second entry
	org := run(t, dir, "", "orgs", "create", "Acme", "--json")
	var o struct{ ID string }
	json.Unmarshal([]byte(org.stdout), &o)
	a := run(t, dir, "", "audit", "list", "--json")
	b := run(t, dir, "", "audit", "list", "--org", o.ID, "--json")
	if a.code != 0 || b.code != 0 {
		t.Fatalf("audit list: %+v %+v", a, b)
	}
	a.stdout += b.stdout
	for action, want := range map[string]int{"key.create": 1, "key.revoke": 1, "org.create": 1} {
		if got := strings.Count(a.stdout, `"`+action+`"`); got != want {
			t.Errorf("%s recorded %d times, want %d:\n%s", action, got, want, a.stdout)
		}
	}
	if strings.Contains(a.stdout, c.Key) {
		t.Error("the audit log holds a secret")
	}
	if strings.Count(a.stdout, `"actor": "cli"`) != 3 {
		t.Errorf("the CLI's entries do not all name the actor cli:\n%s", a.stdout)
	}
}

func TestServeRefusesABadConsoleURL(t *testing.T) {
	for _, u := range []string{"ftp://x", "https://", "https://example.com/console", "example.com", "https://u:p@example.com"} {
		r := run(t, t.TempDir(), "", "serve", "--listen", "127.0.0.1:0", "--console-listen", "127.0.0.1:0", "--console-url", u)
		if r.code != 2 || !strings.Contains(r.stderr, "--console-url") {
			t.Errorf("--console-url %q: exit %d, stderr %q", u, r.code, r.stderr)
		}
	}
}

func TestCommandHelpFollowsKeygateLang(t *testing.T) {
	t.Setenv("KEYGATE_LANG", "de")
	r := run(t, t.TempDir(), "", "keys", "create", "--help")
	if r.code != 0 || !strings.Contains(r.stderr, "Optionen von keygate keys create") ||
		!strings.Contains(r.stderr, "Name des Schlüssels") || strings.Contains(r.stderr, "key name, 1 to 64") {
		t.Fatalf("German keys create --help: %q", r.stderr)
	}
	// A flag whose meaning differs by command (users add --name is a person's name, not a
	// key's) takes its command's own text (cli.flag.users.name), never another command's.
	r = run(t, t.TempDir(), "", "users", "add", "--help")
	if !strings.Contains(r.stderr, "Anzeigename") || strings.Contains(r.stderr, "Name des Schlüssels") {
		t.Fatalf("users add --help borrowed the key name's text: %q", r.stderr)
	}
	// Every flag of the commands on the operations reads German, none stays English.
	for _, cmd := range [][]string{{"keys", "roll"}, {"keys", "get"}, {"requests", "list"}, {"audit", "list"},
		{"routes", "update"}, {"gateway", "settings", "set"}, {"members", "add"}, {"users", "passwd"}} {
		r = run(t, t.TempDir(), "", append(cmd, "--help")...)
		for _, english := range []string{"organization id", "only ", "how long", "the route's", "display name", "at most"} {
			if strings.Contains(r.stderr, english) {
				t.Errorf("keygate %v --help has English %q:\n%s", cmd, english, r.stderr)
			}
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// emptyKeyList reports whether out is ListKeys' answer with no key.
func emptyKeyList(out string) bool {
	var page struct{ Keys []json.RawMessage }
	return json.Unmarshal([]byte(out), &page) == nil && page.Keys != nil && len(page.Keys) == 0
}
