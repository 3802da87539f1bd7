package console

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Health is the answer of GET /readyz (and, with only Status, of GET /healthz).
type Health struct {
	// Status is "ok" (healthz), "ready" or "unavailable" (readyz).
	Status string `json:"status"`
	// Store is "ok" or why the database did not answer.
	Store string `json:"store,omitempty"`
	// Engine is sqlite or postgres.
	Engine string `json:"engine,omitempty"`
	// ChangeFeed is "listening" or "lost" (PostgreSQL: this node would not hear other nodes'
	// changes, so its caches are off until it listens again).
	ChangeFeed string `json:"changeFeed,omitempty"`
	// Gateway is "running" or "stopped".
	Gateway string `json:"gateway,omitempty"`
}

// serveHealth answers the load balancers' probes: GET /healthz says the process serves HTTP;
// GET /readyz says whether this node can serve traffic — the store answers within 2 s and the
// gateway is running (with its routes loaded, which its start requires) — with 503 when not.
// Both answer JSON, need no session, and answer whatever the Host (they tell nothing secret, and
// a load balancer probes by address). It reports whether it answered.
func (s *Service) serveHealth(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		json.NewEncoder(w).Encode(Health{Status: "method not allowed"})
		return true
	}
	if r.URL.Path == "/healthz" {
		json.NewEncoder(w).Encode(Health{Status: "ok"})
		return true
	}
	h := s.readiness(r.Context())
	if h.Status != "ready" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(h)
	return true
}

func (s *Service) readiness(ctx context.Context) Health {
	h := Health{Status: "ready", Store: "ok", Engine: string(s.Store.Dialect), Gateway: "stopped"}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var one int
	if err := s.Store.Read.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		h.Status, h.Store = "unavailable", "unreachable"
	}
	if s.Store.Changes().Listening() {
		h.ChangeFeed = "listening"
	} else {
		h.ChangeFeed = "lost"
	}
	if s.Gateway != nil && s.Gateway.Status().Running {
		h.Gateway = "running"
	} else {
		h.Status = "unavailable"
	}
	return h
}
