// Package demo is a small sample upstream — a pets API with its own OpenAPI 3.0 document —
// that `keygate serve --demo` starts on a loopback port, so that a first run can try keys, the
// gateway, the request log and the docs viewer end to end without an API of one's own.
package demo

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Prefix is the gateway route the demo is served under.
const Prefix = "/demo"

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the demo's OpenAPI 3.0 document.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

// Pet is one pet.
type Pet struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Species string `json:"species"`
	Age     int    `json:"age"`
}

type newPet struct {
	Name    string `json:"name"`
	Species string `json:"species"`
	Age     int    `json:"age"`
}

// API is the pets API: an in-memory list that starts with three pets.
type API struct {
	mu   sync.Mutex
	pets map[int64]Pet
	next int64
}

// NewAPI returns the API with its sample pets.
func NewAPI() *API {
	a := &API{pets: map[int64]Pet{}, next: 1}
	for _, p := range []newPet{{"Rex", "dog", 4}, {"Tom", "cat", 2}, {"Nemo", "fish", 1}} {
		a.add(p)
	}
	return a
}

func (a *API) add(p newPet) Pet {
	pet := Pet{ID: a.next, Name: p.Name, Species: p.Species, Age: p.Age}
	a.pets[pet.ID] = pet
	a.next++
	return pet
}

// Handler serves the API and its document at /openapi.json. Paths are the API's own (/pets);
// the gateway route strips /demo.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPIDocument)
	})
	mux.HandleFunc("GET /pets", a.list)
	mux.HandleFunc("POST /pets", a.create)
	mux.HandleFunc("GET /pets/{id}", a.get)
	mux.HandleFunc("DELETE /pets/{id}", a.remove)
	mux.HandleFunc("GET /whoami", whoami)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint; try GET /pets")
	})
	return mux
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	species := r.URL.Query().Get("species")
	a.mu.Lock()
	out := make([]Pet, 0, len(a.pets))
	for _, p := range a.pets {
		if species == "" || strings.EqualFold(p.Species, species) {
			out = append(out, p)
		}
	}
	a.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, out)
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	var p newPet
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, "body must be JSON {\"name\",\"species\",\"age\"}")
		return
	}
	p.Name, p.Species = strings.TrimSpace(p.Name), strings.TrimSpace(p.Species)
	if p.Name == "" || len(p.Name) > 64 || p.Species == "" || len(p.Species) > 32 || p.Age < 0 || p.Age > 100 {
		writeError(w, http.StatusBadRequest, "name (1-64 characters), species (1-32) and age (0-100) are required")
		return
	}
	a.mu.Lock()
	if len(a.pets) >= 1000 {
		a.mu.Unlock()
		writeError(w, http.StatusConflict, "the demo holds at most 1000 pets")
		return
	}
	pet := a.add(p)
	a.mu.Unlock()
	w.Header().Set("Location", "pets/"+strconv.FormatInt(pet.ID, 10))
	writeJSON(w, http.StatusCreated, pet)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	a.mu.Lock()
	p, ok := a.pets[id]
	a.mu.Unlock()
	if err != nil || !ok {
		writeError(w, http.StatusNotFound, "no pet with that id")
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) remove(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	a.mu.Lock()
	_, ok := a.pets[id]
	delete(a.pets, id)
	a.mu.Unlock()
	if err != nil || !ok {
		writeError(w, http.StatusNotFound, "no pet with that id")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// whoami shows the identity headers the gateway added: what an upstream learns about a caller.
func whoami(w http.ResponseWriter, r *http.Request) {
	out := map[string]string{}
	for _, h := range []string{"X-Keygate-Key-Id", "X-Keygate-Key-Name", "X-Keygate-Org-Id", "X-Keygate-User-Id", "X-Request-Id"} {
		if v := r.Header.Get(h); v != "" {
			out[h] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// Server is the demo upstream listening on a loopback port.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Start serves a fresh API on 127.0.0.1 at a free port.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start demo upstream: %w", err)
	}
	s := &Server{ln: ln, srv: &http.Server{Handler: NewAPI().Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the gateway reports the upstream as unavailable
		}
	}()
	return s, nil
}

// URL is the demo's base URL (http://127.0.0.1:PORT).
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// OpenAPIURL is where the demo serves its document.
func (s *Server) OpenAPIURL() string { return s.URL() + "/openapi.json" }

// Stop shuts the demo down.
func (s *Server) Stop(ctx context.Context) error { return s.srv.Shutdown(ctx) }
