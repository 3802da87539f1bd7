package console

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/gateway"
)

// FollowRequestsInput selects the request log entries a live view receives: ListRequests'
// filters, and where to resume.
type FollowRequestsInput struct {
	Org    string `json:"org"`
	Status string `json:"status"`
	KeyID  string `json:"keyId"`
	Route  string `json:"route"`
	From   string `json:"from" format:"date-time"`
	To     string `json:"to" format:"date-time"`
	// Limit is how many of the newest entries a fresh follower gets first (1–1000, default 100).
	Limit int `json:"limit" minimum:"0" maximum:"1000"`
	// After resumes after the entry with this id (the last one received, an SSE Last-Event-ID):
	// every later entry is sent, none twice. 0 starts with the newest Limit entries.
	After int64 `json:"after"`
}

// Follow timings: how often the store is read for entries that other nodes (or a gateway in
// another process) persisted, how often an idle stream says it is alive, and how often the
// caller's right to read the log is checked again.
const (
	followPollEvery = 250 * time.Millisecond
	followKeepalive = 15 * time.Second
)

var followRecheckEvery = 15 * time.Second

// FollowRequests sends the request log's entries matching in to send as they are persisted,
// oldest first, until ctx ends or send fails: first the newest in.Limit entries (or, with
// in.After, every entry after that one), then each new one. A batch of none is a keepalive.
// The entries come from the store, so the requests of every node sharing it arrive, each once,
// in id order; this process's gateway wakes the follower as soon as it has persisted (every
// gateway.PersistFollowedEvery while followed), other nodes' entries are read within
// followPollEvery of their node persisting them (once a second).
//
// It answers the errors ListRequests answers before anything is sent, and errForbidden or
// auth.ErrNoSession when the caller loses the right to read the log while following.
func (s *Service) FollowRequests(ctx context.Context, c *Call, in FollowRequestsInput, send func([]gateway.Entry) error) error {
	o := Operation{Name: "FollowRequests", Need: auth.NeedMember, Scope: ScopeOrg, In: reflect.TypeOf(in),
		run: func(s *Service, ctx context.Context, c *Call, in any) (any, error) {
			return nil, s.followRequests(ctx, c, in.(*FollowRequestsInput), send)
		}}
	_, err := s.execute(ctx, o, c, &in)
	return err
}

func (s *Service) followRequests(ctx context.Context, c *Call, in *FollowRequestsInput, send func([]gateway.Entry) error) error {
	f, err := requestFilter(in.Org, in.Status, in.KeyID, in.Route, in.From, in.To, in.Limit)
	if err != nil {
		return err
	}
	if in.After < 0 {
		return invalid("after", "range", "validation.after.range", nil)
	}
	inst, err := s.instanceOrg(ctx)
	if err != nil {
		return err
	}
	f.IncludeAnonymous = c.Principal.RoleIn(inst.ID) == auth.RoleAdmin
	last := in.After
	if last == 0 {
		// The newest entries first. Rows committed after top that match are in the snapshot
		// (it is read later) or come after it; from max(top, snapshot) on nothing is missed.
		top, err := gateway.LastRequestID(ctx, s.Store)
		if err != nil {
			return err
		}
		es, err := gateway.QueryRequests(ctx, s.Store, f, s.Keys)
		if err != nil {
			return err
		}
		slices.Reverse(es)
		if len(es) > 0 {
			top = max(top, es[len(es)-1].ID)
		}
		if err := send(es); err != nil {
			return err
		}
		last = top
	}
	f.Limit = gateway.MaxRequestsLimit

	var wake <-chan struct{}
	var unfollow func()
	var followed *gateway.Gateway
	defer func() {
		if unfollow != nil {
			unfollow()
		}
	}()
	poll := time.NewTicker(followPollEvery)
	defer poll.Stop()
	lastSent, lastCheck := time.Now(), time.Now()
	for {
		// Follow this process's gateway while it runs (the desktop starts and stops it).
		if g := s.localGateway(); g != followed {
			if unfollow != nil {
				unfollow()
				wake, unfollow = nil, nil
			}
			if followed = g; g != nil {
				wake, unfollow = g.FollowLog()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-poll.C:
		}
		if time.Since(lastCheck) >= followRecheckEvery {
			lastCheck = time.Now()
			if err := s.stillMayFollow(ctx, c, in.Org); err != nil {
				return err
			}
		}
		for {
			top, err := gateway.LastRequestID(ctx, s.Store)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if top <= last {
				break
			}
			es, err := gateway.RequestsBetween(ctx, s.Store, f, last, top, s.Keys)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if len(es) == f.Limit {
				top = es[len(es)-1].ID // more to read below top
			}
			if len(es) > 0 {
				if err := send(es); err != nil {
					return err
				}
				lastSent = time.Now()
			}
			last = top
			if len(es) < f.Limit {
				break
			}
		}
		if time.Since(lastSent) >= followKeepalive {
			if err := send(nil); err != nil {
				return err
			}
			lastSent = time.Now()
		}
	}
}

// localGateway is this process's running gateway, if any.
func (s *Service) localGateway() *gateway.Gateway {
	if s.Gateway == nil {
		return nil
	}
	return s.Gateway.Gateway()
}

// stillMayFollow checks again that a follower signed in through a session still has it and
// still belongs to org: ending a session or taking someone out of the organization ends their
// live view within followRecheckEvery.
func (s *Service) stillMayFollow(ctx context.Context, c *Call, org string) error {
	if c.session == nil {
		return nil // the desktop's user and the command line do not lose their rights
	}
	sess, err := s.Auth.Session(ctx, c.token)
	if err == nil {
		var p auth.Principal
		if p, err = s.principal(ctx, sess); err == nil && !p.May(auth.NeedMember, org) {
			return errForbidden
		}
	}
	if errors.Is(err, auth.ErrNoSession) {
		return errUnauthenticated
	}
	return err
}

// requestFilter builds and checks a request log filter from an operation's fields.
func requestFilter(org, status, keyID, route, from, to string, limit int) (gateway.Filter, error) {
	f := gateway.Filter{OrgID: org, Status: status, KeyID: keyID, Route: route, Limit: limit}
	var err error
	if f.From, err = parseTime("from", from); err != nil {
		return f, err
	}
	if f.To, err = parseTime("to", to); err != nil {
		return f, err
	}
	return f, f.Check()
}

// parseTime reads an RFC 3339 instant ("" is the zero time).
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, invalid(field, "format", "validation.time.format", nil)
	}
	return t, nil
}
