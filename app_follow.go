package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/ids"
)

// The desktop window's live request log: the browser follows GET /api/v1/requests/stream
// (server-sent events), which the window's asset server cannot stream, so the window follows
// through Wails events instead. Like app_openapi.go's, these methods are not console
// operations; app_test.go lists them as desktop-only.

// followMessage is one event of a follow: new entries, oldest first, or the problem that ended it.
type followMessage struct {
	Entries []gateway.Entry `json:"entries,omitempty"`
	Problem any             `json:"problem,omitempty"`
}

// follows are the window's running follows by event name.
type follows struct {
	mu     sync.Mutex
	cancel map[string]context.CancelFunc
}

// FollowRequests starts following the request log with in's filters and returns the name of
// the event its entries are emitted on, oldest first, each once (see console.FollowRequests).
// An error that ends it later is emitted as a problem; UnfollowRequests stops it.
func (a *App) FollowRequests(in console.FollowRequestsInput) (string, error) {
	if a.console == nil || a.ctx == nil {
		return "", errors.New("keygate is not ready")
	}
	id, err := ids.Random(12)
	if err != nil {
		return "", err
	}
	name := "requests:" + id
	ctx, cancel := context.WithCancel(a.ctx)
	a.follows.mu.Lock()
	if a.follows.cancel == nil {
		a.follows.cancel = map[string]context.CancelFunc{}
	}
	a.follows.cancel[name] = cancel
	a.follows.mu.Unlock()
	go func() {
		defer a.unfollow(name)
		err := a.console.FollowRequests(ctx, in, func(es []gateway.Entry) error {
			if len(es) > 0 {
				emitEvent(ctx, name, followMessage{Entries: es})
			}
			return ctx.Err()
		})
		if err != nil && ctx.Err() == nil {
			var pe *console.ProblemError
			if errors.As(err, &pe) {
				emitEvent(ctx, name, followMessage{Problem: pe.Problem})
			} else {
				fmt.Fprintf(os.Stderr, "keygate: follow requests: %v\n", err)
				emitEvent(ctx, name, followMessage{Problem: map[string]any{"code": "INTERNAL", "status": 500, "detail": err.Error()}})
			}
		}
	}()
	return name, nil
}

// UnfollowRequests stops the follow FollowRequests named (a no-op for one that has ended).
func (a *App) UnfollowRequests(name string) error {
	a.unfollow(name)
	return nil
}

func (a *App) unfollow(name string) {
	a.follows.mu.Lock()
	cancel := a.follows.cancel[name]
	delete(a.follows.cancel, name)
	a.follows.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
