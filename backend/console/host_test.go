package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/testutil"
)

func TestLoopbackHosts(t *testing.T) {
	cases := []struct {
		addr, public string
		want         []string
	}{
		{"127.0.0.1:8788", "", []string{"localhost:8788", "127.0.0.1:8788", "[::1]:8788", "127.0.0.1:8788"}},
		{"[::1]:9000", "https://keygate.example.com", []string{"localhost:9000", "127.0.0.1:9000", "[::1]:9000", "[::1]:9000", "keygate.example.com"}},
		{"localhost:8788", "", []string{"localhost:8788", "127.0.0.1:8788", "[::1]:8788", "localhost:8788"}},
		{"0.0.0.0:8788", "", nil},
		{"192.168.1.5:8788", "", nil},
		{"not an address", "", nil},
	}
	for _, c := range cases {
		if got := console.LoopbackHosts(c.addr, c.public); !reflect.DeepEqual(got, c.want) {
			t.Errorf("LoopbackHosts(%q, %q) = %v, want %v", c.addr, c.public, got, c.want)
		}
	}
}

// TestConsoleRefusesUnknownHosts: a DNS-rebinding page reaches the loopback console under its
// own host name; the console answers only to the names it listens as.
func TestConsoleRefusesUnknownHosts(t *testing.T) {
	srv := testutil.NewServer(t)
	u, _ := url.Parse(srv.URL)
	srv.Config.Handler = srv.Console.Handler(console.HandlerOptions{AllowedHosts: console.LoopbackHosts(u.Host, "")})
	for host, want := range map[string]int{
		u.Host:                                http.StatusOK,
		"localhost:" + u.Port():               http.StatusOK,
		"LOCALHOST:" + u.Port():               http.StatusOK,
		"rebind.attacker.example:" + u.Port(): http.StatusMisdirectedRequest,
		"127.0.0.1:1":                         http.StatusMisdirectedRequest,
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/setup", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p problem.Problem
		json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d", host, resp.StatusCode, want)
		}
		if want != http.StatusOK && (p.Code != "UNKNOWN_HOST" || p.Detail == "" || resp.Header.Get("Content-Type") != "application/problem+json") {
			t.Errorf("Host %s: problem %+v", host, p)
		}
	}
}
