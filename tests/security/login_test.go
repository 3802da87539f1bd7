package security_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func init() {
	attacks = append(attacks,
		attack{"class 1: concurrent logins get no more checks than the limit", concurrentLogins},
		attack{"class 1: setup-token attempts count on the login limit per address", setupAttemptsLimited},
	)
}

// post sends a JSON POST to the console from ip, as the console's own page would, and returns
// the status and problem code.
func (s *suite) post(t *testing.T, c *http.Client, path string, body any) (int, string) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.srv.ConsoleURL+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.srv.ConsoleURL)
	res, err := c.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", path, err)
		return 0, ""
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(res.Body)
	return res.StatusCode, problemCode(rb)
}

// burst sends n requests at once, each on its own connection (no keep-alive), released by one
// signal after every connection is dialed.
func burst(n int, send func(i int) (int, string)) (statuses []int, codes []string) {
	statuses, codes = make([]int, n), make([]string, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			statuses[i], codes[i] = send(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return statuses, codes
}

func freshClient(ip string) *http.Client {
	c := client(ip)
	c.Transport.(*http.Transport).DisableKeepAlives = true
	return c
}

func concurrentLogins(t *testing.T, s *suite) {
	// 60 simultaneous logins for one account from one address: 59 wrong passwords and the right
	// one. The limit is 5 per account: at most 5 passwords may be checked (every other answer is
	// 429 RATE_LIMITED, before any hashing).
	ip := s.ip()
	const n = 60
	statuses, codes := burst(n, func(i int) (int, string) {
		pw := fmt.Sprintf("wrong-password-%02d", i)
		if i == n/2 {
			pw = passwords[burstEmail]
		}
		return s.post(t, freshClient(ip), "/api/v1/session", map[string]string{"email": burstEmail, "password": pw})
	})
	checked, limited := 0, 0
	for i, st := range statuses {
		switch {
		case st == http.StatusTooManyRequests && codes[i] == "RATE_LIMITED":
			limited++
		case st == http.StatusOK || st == http.StatusUnauthorized:
			checked++
		default:
			t.Errorf("login %d: %d %s", i, st, codes[i])
		}
	}
	t.Logf("%d simultaneous logins for one account: %d checked, %d refused with 429", n, checked, limited)
	if checked > 5 {
		t.Errorf("%d passwords checked in a burst of %d, limit 5 per account", checked, n)
	}
	if checked == 0 {
		t.Error("no login was checked at all")
	}

	// 60 simultaneous logins for 60 different addresses from one client address: at most 20.
	ip = s.ip()
	statuses, _ = burst(n, func(i int) (int, string) {
		return s.post(t, freshClient(ip), "/api/v1/session", map[string]string{"email": fmt.Sprintf("nobody%d@example.com", i), "password": "wrong-password-123"})
	})
	checked = 0
	for _, st := range statuses {
		if st != http.StatusTooManyRequests {
			checked++
		}
	}
	t.Logf("%d simultaneous logins for different accounts from one address: %d checked", n, checked)
	if checked > 20 {
		t.Errorf("%d logins checked from one address in a burst of %d, limit 20", checked, n)
	}
}

func setupAttemptsLimited(t *testing.T, s *suite) {
	// Setup-token guesses alone: at most 20 per address, in a burst of 50.
	ip := s.ip()
	statuses, codes := burst(50, func(i int) (int, string) {
		return s.post(t, freshClient(ip), "/api/v1/setup", map[string]string{"token": fmt.Sprintf("guess-%02d-%s", i, strings.Repeat("x", 30)),
			"email": "first@example.com", "password": "first-admin-password-9"})
	})
	tried := 0
	for i, st := range statuses {
		if st == http.StatusTooManyRequests {
			if codes[i] != "RATE_LIMITED" {
				t.Errorf("setup attempt %d: 429 %s", i, codes[i])
			}
			continue
		}
		tried++
	}
	t.Logf("50 simultaneous setup-token guesses from one address: %d tried", tried)
	if tried > 20 {
		t.Errorf("%d setup-token guesses tried, limit 20 per address", tried)
	}
	// Failed logins and setup guesses share the per-address limit.
	ip = s.ip()
	c := freshClient(ip)
	for i := range 15 {
		if st, _ := s.post(t, c, "/api/v1/session", map[string]string{"email": fmt.Sprintf("mix%d@example.com", i), "password": "wrong-password-123"}); st != http.StatusUnauthorized {
			t.Fatalf("failed login %d: %d", i, st)
		}
	}
	limited := false
	for i := 0; i < 10 && !limited; i++ {
		st, _ := s.post(t, c, "/api/v1/setup", map[string]string{"token": "guess-" + strings.Repeat("y", 40), "email": "first@example.com", "password": "first-admin-password-9"})
		limited = st == http.StatusTooManyRequests
	}
	if !limited {
		t.Error("15 failed logins and 10 setup guesses from one address were never limited (20 per address)")
	}
}
