package learn_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keygate/keygate/backend/learn"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/testutil"
)

// TestLearnerHidesSecretSegments: a path segment that reads like a word is learned literally,
// so one that is an imported key's secret (no shape: only letters, under 24 characters) is
// looked up and learned as a parameter; each segment is looked up once; when the lookup fails
// such segments are hidden too.
func TestLearnerHidesSecretSegments(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	r, err := routes.New(st, nil).Add(ctx, routes.Params{Prefix: "/b", Upstream: "http://127.0.0.1:9", Learn: true})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "letmeinplease"
	var asked atomic.Int32
	var down atomic.Bool
	l := learn.New(st, learn.Options{Secrets: func(_ context.Context, words []string) (map[string]bool, error) {
		asked.Add(1)
		if down.Load() {
			return nil, errors.New("store down")
		}
		out := map[string]bool{}
		for _, w := range words {
			out[w] = w == secret
		}
		return out, nil
	}})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go l.Run(runCtx)
	for range 3 {
		l.Observe(learn.Observation{RouteID: r.ID, Method: "GET", Path: "/accounts/" + secret + "/settings", Status: 200})
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("%d lookups for three observations of one path, want 1", n)
	}
	down.Store(true)
	l.Observe(learn.Observation{RouteID: r.ID, Method: "GET", Path: "/accounts/anotherword", Status: 200})
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ops, err := learn.Operations(ctx, st, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, op := range ops {
		paths = append(paths, op.Path)
	}
	all := strings.Join(paths, " ")
	if strings.Contains(all, secret) || strings.Contains(all, "anotherword") {
		t.Fatalf("learned paths %v keep a secret segment", paths)
	}
	if !strings.Contains(all, "/accounts/{token}/settings") {
		t.Fatalf("learned paths %v, want /accounts/{token}/settings", paths)
	}
}

// TestLearnerHidesSecretsSpanningSegments: an imported secret that holds '/' spans path
// segments, each of which reads like a word (and is no secret alone): the run of segments is
// looked up, and none of them is learned literally.
func TestLearnerHidesSecretsSpanningSegments(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t)
	r, err := routes.New(st, nil).Add(ctx, routes.Params{Prefix: "/b", Upstream: "http://127.0.0.1:9", Learn: true})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "open:sesame/let&me:in"
	l := learn.New(st, learn.Options{Secrets: func(_ context.Context, words []string) (map[string]bool, error) {
		out := map[string]bool{}
		for _, w := range words {
			out[w] = w == secret
		}
		return out, nil
	}})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go l.Run(runCtx)
	l.Observe(learn.Observation{RouteID: r.ID, Method: "GET", Path: "/accounts/" + secret + "/settings", Status: 200})
	l.Observe(learn.Observation{RouteID: r.ID, Method: "GET", Path: "/accounts/open:house/settings", Status: 200})
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ops, err := learn.Operations(ctx, st, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, op := range ops {
		paths = append(paths, op.Path)
	}
	all := strings.Join(paths, " ")
	if strings.Contains(all, "sesame") || strings.Contains(all, "let&me") {
		t.Fatalf("learned paths %v keep part of a secret", paths)
	}
	if !strings.Contains(all, "/accounts/open:house/settings") {
		t.Fatalf("learned paths %v, want /accounts/open:house/settings kept", paths)
	}
}
