package problem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/problem"
)

func TestWrite(t *testing.T) {
	p := problem.New(http.StatusTooManyRequests, problem.CodeRateLimited, "slow down")
	p.RetryAfter = 1500 * time.Millisecond
	p.Fields = []problem.Field{{Field: "name", Code: "required", Detail: "Enter a name."}}
	rec := httptest.NewRecorder()
	problem.Write(rec, p)

	if rec.Code != 429 {
		t.Fatalf("status %d", rec.Code)
	}
	for name, want := range map[string]string{
		"Content-Type": "application/problem+json", "Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff", "Retry-After": "2",
		"Content-Length": fmt.Sprint(rec.Body.Len()),
	} {
		if got := rec.Header().Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "about:blank", "title": "Too Many Requests", "status": 429.0, "code": "RATE_LIMITED",
		"detail": "slow down", "fields": []any{map[string]any{"field": "name", "code": "required", "detail": "Enter a name."}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("body %v, want %v", got, want)
	}
	if _, ok := got["RetryAfter"]; ok {
		t.Error("RetryAfter leaked into the body")
	}
}

func TestBodyOmitsEmptyFieldsAndDefaultsType(t *testing.T) {
	b := problem.Problem{Status: 404, Code: problem.CodeNotFound, Title: "Not Found"}.Body()
	if strings.Contains(string(b), "fields") || !strings.Contains(string(b), `"type":"about:blank"`) || b[len(b)-1] != '\n' {
		t.Errorf("body %s", b)
	}
}

func TestEachHeaderServesAnyEngine(t *testing.T) {
	got := map[string]string{}
	problem.New(400, problem.CodeValidation, "").EachHeader(func(k, v string) { got[k] = v })
	if len(got) != 3 || got["Content-Type"] != problem.ContentType {
		t.Errorf("headers %v", got)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Millisecond: "1", time.Second: "1", 1001 * time.Millisecond: "2", time.Minute: "60", 0: "1",
	} {
		if got := problem.RetryAfterSeconds(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

func TestPrebuilt(t *testing.T) {
	p := problem.New(401, problem.CodeMissingCredential, "send a key")
	p.RetryAfter = time.Minute // ignored: a prebuilt body is shared
	b := problem.Prebuild(p)
	rec := httptest.NewRecorder()
	b.Write(rec)
	if rec.Code != 401 || rec.Body.String() != string(b.Body) || rec.Header().Get("Content-Length") != b.Length ||
		rec.Header().Get("Retry-After") != "" || rec.Header().Get("Content-Type") != problem.ContentType {
		t.Errorf("%d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	var back problem.Problem
	if err := json.Unmarshal(b.Body, &back); err != nil || back.Code != problem.CodeMissingCredential || back.Status != 401 {
		t.Errorf("%+v %v", back, err)
	}
	if n := testing.AllocsPerRun(100, func() { b.SetHeaders(http.Header{}) }); n > 1 {
		t.Errorf("SetHeaders allocates %v times beyond the map", n)
	}
}

var errName = &problem.Invalid{Field: "name", Code: "invalid", Msg: "validation.name", Text: "name is bad"}

func TestInvalids(t *testing.T) {
	limit := &problem.Invalid{Field: "limit", Code: "range"}
	other := errors.New("disk on fire")
	err := fmt.Errorf("create: %w", errors.Join(errName, fmt.Errorf("page: %w", limit), other))
	got := problem.Invalids(err)
	if len(got) != 2 || got[0] != errName || got[1] != limit {
		t.Fatalf("Invalids = %v", got)
	}
	if problem.Invalids(other) != nil || problem.IsInvalid(other) || !problem.IsInvalid(err) {
		t.Error("an error without Invalid was taken for one, or the reverse")
	}
	if limit.MessageID() != "validation.range" || errName.MessageID() != "validation.name" {
		t.Error("MessageID")
	}
	if limit.Error() != "invalid limit: range" || errName.Error() != "name is bad" {
		t.Errorf("Error() = %q, %q", limit.Error(), errName.Error())
	}
}

func TestOnKeepsIdentity(t *testing.T) {
	moved := errName.On("displayName")
	if moved.Field != "displayName" || errName.Field != "name" {
		t.Fatalf("On changed the original or not the copy: %q %q", moved.Field, errName.Field)
	}
	if !errors.Is(moved, errName) || !errors.Is(fmt.Errorf("x: %w", moved), errName) {
		t.Error("errors.Is does not see the original through On")
	}
	if got := problem.Invalids(moved); len(got) != 1 || got[0].Field != "displayName" {
		t.Errorf("Invalids(moved) = %v", got)
	}
	if errors.Is(&problem.Invalid{Field: "name", Code: "invalid", Msg: "validation.name", Text: "name is bad"}, errName) {
		t.Error("an equal but distinct Invalid matched: identity is what errors.Is compares")
	}
}
