package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// Client is the one console client of the tests, as the browser page is: a cookie jar, the
// console's Origin on every request, the session's CSRF token once signed in. It talks to an
// in-process test server (Server.Client) or to a running `keygate serve` (NewClient with its
// URL), in two styles: Do, Call and Problem fail the test on a transport error (use them from
// the test's goroutine); Send, SignIn, CreateKey and RevokeKey return errors, an *APIError for
// a non-2xx answer (use them from load generators and other goroutines).
type Client struct {
	t      testing.TB // for Do, Call and Problem; nil when only the error-returning style is used
	Base   string     // the console's URL, e.g. http://127.0.0.1:8788
	HTTP   *http.Client
	CSRF   string
	Origin string // sent as Origin; the console's own URL unless a test changes it
	// Lang is sent as Accept-Language when set.
	Lang string
}

// NewClient returns a signed-out client of the console at base; t may be nil.
func NewClient(t testing.TB, base string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, Base: base, Origin: base, HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// request sends one request with a JSON body (nil for none) and returns the answer, read.
// hdr are name, value pairs that replace the client's headers (an empty value deletes one).
func (c *Client) request(ctx context.Context, method, path string, body any, hdr []string) (*http.Response, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, fmt.Errorf("encode body: %w", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, r)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Origin != "" {
		req.Header.Set("Origin", c.Origin)
	}
	if c.CSRF != "" {
		req.Header.Set("X-CSRF-Token", c.CSRF)
	}
	if c.Lang != "" {
		req.Header.Set("Accept-Language", c.Lang)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// Do sends a request with a JSON body (nil for none) and returns the response, body read.
func (c *Client) Do(method, path string, body any, hdr ...string) (*http.Response, []byte) {
	c.t.Helper()
	resp, b, err := c.request(context.Background(), method, path, body, hdr)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, b
}

// Call sends a request and decodes a successful JSON answer into out (if not nil); it returns
// the status.
func (c *Client) Call(method, path string, body, out any) int {
	c.t.Helper()
	resp, b := c.Do(method, path, body)
	if out != nil && resp.StatusCode < 300 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

// Problem is a decoded problem+json answer.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Fields []struct {
		Field  string `json:"field"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	} `json:"fields"`
}

// Problem sends a request that must fail and returns its decoded problem document.
func (c *Client) Problem(method, path string, body any, hdr ...string) Problem {
	c.t.Helper()
	resp, b := c.Do(method, path, body, hdr...)
	if resp.StatusCode < 400 {
		c.t.Fatalf("%s %s: status %d, want an error; body %s", method, path, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		c.t.Fatalf("%s %s: content type %q, want application/problem+json; body %s", method, path, ct, b)
	}
	var p Problem
	if err := json.Unmarshal(b, &p); err != nil {
		c.t.Fatalf("%s %s: decode problem %q: %v", method, path, b, err)
	}
	if p.Status != resp.StatusCode {
		c.t.Fatalf("%s %s: problem status %d, response status %d", method, path, p.Status, resp.StatusCode)
	}
	return p
}

// APIError is a non-2xx answer to Send.
type APIError struct {
	Status  int
	Problem Problem
	Body    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Problem.Code, e.Problem.Detail)
}

// Send sends one API request (in as the JSON body unless nil) and decodes a 2xx answer into
// out; a non-2xx answer is an *APIError.
func (c *Client) Send(ctx context.Context, method, path string, in, out any) error {
	resp, b, err := c.request(ctx, method, path, in, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{Status: resp.StatusCode, Body: string(b)}
		json.Unmarshal(b, &e.Problem)
		return e
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// SignIn signs in and keeps the session cookie and CSRF token.
func (c *Client) SignIn(ctx context.Context, email, password string) error {
	var out struct {
		CSRFToken string `json:"csrfToken"`
	}
	if err := c.Send(ctx, http.MethodPost, "/api/v1/session", map[string]string{"email": email, "password": password}, &out); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if out.CSRFToken == "" {
		return errors.New("login: no csrfToken")
	}
	c.CSRF = out.CSRFToken
	return nil
}

// CreatedKey is the console's and the CLI's answer to creating a key (the part tests use).
type CreatedKey struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// CreateKey creates a key through the console API.
func (c *Client) CreateKey(ctx context.Context, name string) (CreatedKey, error) {
	var k CreatedKey
	err := c.Send(ctx, http.MethodPost, "/api/v1/keys", map[string]any{"name": name}, &k)
	if err == nil && (k.ID == "" || k.Key == "") {
		err = fmt.Errorf("create key answered without id or key: %+v", k)
	}
	return k, err
}

// RevokeKey revokes a key through the console API.
func (c *Client) RevokeKey(ctx context.Context, id string) error {
	return c.Send(ctx, http.MethodPost, "/api/v1/keys/"+id+"/revoke", map[string]any{"reason": "test"}, nil)
}
