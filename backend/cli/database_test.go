package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/cli"
	"github.com/keygate/keygate/backend/config"
	"github.com/keygate/keygate/backend/testutil/pgtest"
)

// transcript runs one session of management commands and returns what they printed, with ids,
// secrets and instants replaced by placeholders, so that two engines' transcripts compare equal.
func transcript(t *testing.T, global ...string) string {
	t.Helper()
	var out strings.Builder
	step := func(stdin string, args ...string) string {
		var o, e bytes.Buffer
		code := cli.Run(context.Background(), append(append([]string(nil), global...), args...),
			strings.NewReader(stdin), &o, &e, cli.Options{})
		out.WriteString("$ " + strings.Join(args, " ") + "\n" + o.String() + e.String())
		out.WriteString("exit " + string(rune('0'+code)) + "\n")
		return o.String()
	}
	var a, b struct{ ID, Key string }
	json.Unmarshal([]byte(step("", "keys", "create", "--name", "alpha", "--json")), &a)
	json.Unmarshal([]byte(step("", "keys", "create", "--name", "béta", "--expires", "30d", "--json")), &b)
	if a.Key == "" || b.Key == "" {
		t.Fatalf("keys create failed:\n%s", out.String())
	}
	step("", "keys", "list", "--json")
	step(a.Key+"\n", "keys", "verify")
	step("", "keys", "revoke", a.ID, "--reason", "rotated")
	step(a.Key+"\n", "keys", "verify")
	step(b.Key+"\n", "keys", "verify")
	step("", "keys", "list", "--status", "all", "--json")
	step("", "orgs", "create", "Acme", "--json")
	step("", "orgs", "list", "--json")
	step("", "routes", "add", "/api", "http://127.0.0.1:9", "--strip-prefix")
	step("", "routes", "add", "/api", "http://127.0.0.1:9")
	step("", "routes", "list", "--json")
	step("", "audit", "list", "--json")
	return normalize(out.String(), a.Key, b.Key)
}

var (
	idPattern   = regexp.MustCompile(`\b(key|org|rt|usr)_[A-Za-z0-9]{6,}`)
	timePattern = regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?`)
)

func normalize(s string, secrets ...string) string {
	for i, k := range secrets {
		s = strings.ReplaceAll(s, k, "SECRET"+string(rune('A'+i)))
		if len(k) > 10 {
			s = strings.ReplaceAll(s, k[:7], "START"+string(rune('A'+i))) // "start" shows the first characters
		}
	}
	seen := map[string]string{}
	s = idPattern.ReplaceAllStringFunc(s, func(id string) string {
		if _, ok := seen[id]; !ok {
			seen[id] = id[:strings.IndexByte(id, '_')] + "_" + string(rune('0'+len(seen)))
		}
		return seen[id]
	})
	return timePattern.ReplaceAllString(s, "TIME")
}

// TestCommandsOnPostgres: the same management session prints the same thing on SQLite and on
// PostgreSQL, selected by --database or by $KEYGATE_DATABASE_URL.
func TestCommandsOnPostgres(t *testing.T) {
	sqlite := transcript(t, "--data-dir", t.TempDir())
	pg := transcript(t, "--data-dir", t.TempDir(), "--database", pgtest.URL(t))
	if sqlite != pg {
		t.Fatalf("outputs differ\n--- sqlite\n%s\n--- postgres\n%s", sqlite, pg)
	}
	if !strings.Contains(pg, `"REVOKED"`) || !strings.Contains(pg, `"/api"`) || !strings.Contains(pg, "Acme") {
		t.Fatalf("the session did not do what it should:\n%s", pg)
	}

	t.Setenv(config.EnvDatabaseURL, pgtest.URL(t))
	env := transcript(t, "--data-dir", t.TempDir())
	if env != sqlite {
		t.Fatalf("with %s: outputs differ\n%s", config.EnvDatabaseURL, env)
	}
}

func TestDatabaseFlagErrors(t *testing.T) {
	r := run(t, t.TempDir(), "", "--database", "mysql://u:hunter2@h/db", "keys", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "postgres://") || strings.Contains(r.stderr, "hunter2") {
		t.Fatalf("unsupported URL: %+v", r)
	}
	r = run(t, t.TempDir(), "", "keys", "list", "--database", "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2")
	if r.code != 1 || !strings.Contains(r.stderr, "127.0.0.1:1") || strings.Contains(r.stderr, "hunter2") {
		t.Fatalf("unreachable database: %+v", r)
	}
	r = run(t, t.TempDir(), "", "--database", pgtest.URL(t), "backup", t.TempDir()+"/b.db")
	if r.code != 1 || !strings.Contains(r.stderr, "pg_dump") {
		t.Fatalf("backup on PostgreSQL: %+v", r)
	}
}

// TestStoreCopy: `store copy --to URL` moves everything from the SQLite file into an empty
// PostgreSQL database: keys keep working (and revoked ones stay revoked), lists and the audit
// log read the same, and a second copy into the now non-empty target is refused.
func TestStoreCopy(t *testing.T) {
	dir := t.TempDir()
	var a, b struct{ ID, Key string }
	json.Unmarshal([]byte(run(t, dir, "", "keys", "create", "--name", "alpha", "--json").stdout), &a)
	json.Unmarshal([]byte(run(t, dir, "", "keys", "create", "--name", "beta", "--rate-limit", "5", "--json").stdout), &b)
	run(t, dir, "", "keys", "revoke", b.ID)
	run(t, dir, "", "orgs", "create", "Acme")
	run(t, dir, "", "routes", "add", "/api", "http://127.0.0.1:9", "--strip-prefix")
	before := map[string]string{}
	for _, cmd := range [][]string{{"keys", "list", "--status", "all", "--json"}, {"orgs", "list", "--json"},
		{"routes", "list", "--json"}, {"audit", "list", "--json"}} {
		before[strings.Join(cmd, " ")] = run(t, dir, "", cmd...).stdout
	}

	url := pgtest.URL(t)
	if r := run(t, dir, "", "store", "copy", "--to", "mysql://x/y"); r.code != 2 {
		t.Fatalf("copy to a non-PostgreSQL URL: %+v", r)
	}
	r := run(t, dir, "", "store", "copy", "--to", url)
	if r.code != 0 || !strings.Contains(r.stdout, "keys") || !strings.Contains(r.stdout, "matches") {
		t.Fatalf("store copy: %+v", r)
	}
	pg := func(args ...string) result { return run(t, dir, "", append([]string{"--database", url}, args...)...) }
	for cmd, want := range before {
		if got := pg(strings.Fields(cmd)...).stdout; got != want {
			t.Errorf("%s differs after the copy:\n%s\nwant\n%s", cmd, got, want)
		}
	}
	if v := run(t, dir, a.Key+"\n", "--database", url, "keys", "verify"); v.code != 0 || !strings.Contains(v.stdout, `"VALID"`) {
		t.Fatalf("a copied key: %+v", v)
	}
	if v := run(t, dir, b.Key+"\n", "--database", url, "keys", "verify"); v.code != 1 || !strings.Contains(v.stdout, `"REVOKED"`) {
		t.Fatalf("a copied revoked key: %+v", v)
	}
	// New rows get new ids after the copied ones.
	if c := pg("keys", "create", "--name", "gamma", "--json"); c.code != 0 {
		t.Fatalf("create on the copy: %+v", c)
	}
	if a := pg("audit", "list", "--json"); strings.Count(a.stdout, `"key.create"`) != 3 {
		t.Fatalf("audit after the copy:\n%s", a.stdout)
	}
	again := run(t, dir, "", "store", "copy", "--to", url)
	if again.code != 1 || !strings.Contains(again.stderr, "not empty") {
		t.Fatalf("second copy into the same database: %+v", again)
	}
}
