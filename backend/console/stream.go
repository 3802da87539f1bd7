package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/gateway"
)

// RequestStreamPath is the request log as server-sent events (FollowRequests over HTTP). It
// is not an operation of the table: its answer is a stream, not one JSON document, and the
// desktop window follows the log through Wails events instead (App.FollowRequests).
const RequestStreamPath = "/api/v1/requests/stream"

// followOp describes the stream's query for decode: FollowRequestsInput's fields.
var followOp = Operation{Name: "FollowRequests", Method: http.MethodGet, Path: RequestStreamPath,
	In: reflect.TypeOf(FollowRequestsInput{})}

// serveRequestStream answers GET RequestStreamPath with text/event-stream: one `request` event
// per entry (its id is the entry's id, data its JSON), a comment every 15 s when idle. A
// browser's EventSource reconnects by itself with Last-Event-ID, which resumes after that
// entry: no gap, no repeat. Errors found before the stream starts are problem+json answers
// (EventSource gives up on them); a follower who loses the right to read the log afterwards
// gets one `denied` event with the problem and the stream ends.
func (s *Service) serveRequestStream(opts HandlerOptions) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.caller(w, r, opts, auth.NeedMember)
		if err != nil {
			s.fail(w, r, err, c.Lang)
			return
		}
		v, err := decode(w, r, followOp)
		if err != nil {
			s.fail(w, r, err, c.Lang)
			return
		}
		in := v.(*FollowRequestsInput)
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
			if err != nil || n < 0 {
				s.fail(w, r, invalid("Last-Event-ID", "invalid", "validation.after.range", nil), c.Lang)
				return
			}
			in.After = n
		}
		rc := http.NewResponseController(w)
		started := false
		err = s.FollowRequests(r.Context(), c, *in, func(es []gateway.Entry) error {
			if !started {
				started = true
				h := w.Header()
				h.Set("Content-Type", "text/event-stream; charset=utf-8")
				h.Set("Cache-Control", "no-store")
				h.Set("X-Content-Type-Options", "nosniff")
				h.Set("X-Accel-Buffering", "no") // nginx and others: do not buffer the stream
				w.WriteHeader(http.StatusOK)
				if _, err := fmt.Fprint(w, "retry: 1000\n\n"); err != nil {
					return err
				}
			}
			if len(es) == 0 {
				if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
					return err
				}
			}
			for _, e := range es {
				data, err := json.Marshal(e)
				if err != nil {
					return err
				}
				// JSON has no raw newline, so the data is one line.
				if _, err := fmt.Fprintf(w, "id: %d\nevent: request\ndata: %s\n\n", e.ID, data); err != nil {
					return err
				}
			}
			return rc.Flush()
		})
		if err == nil || r.Context().Err() != nil {
			return
		}
		if !started {
			s.fail(w, r, err, c.Lang)
			return
		}
		e := classify(err)
		if e.Status >= 500 {
			s.Logger.Error("request stream failed", "status", e.Status, "code", e.Code, "err", e.Err)
		}
		data, _ := json.Marshal(e.problem(s.bundle(), c.Lang))
		fmt.Fprintf(w, "event: denied\ndata: %s\n\n", data)
		rc.Flush()
	}
}
