package learn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// fixture is a small shop API with what real APIs have: ids in paths (integers, UUIDs, SKU
// tokens), literal segments beside them (/users/me, /products/featured), query filters,
// nested objects, optional and nullable fields, and 201, 204, 400 and 404 answers. Its
// hand-written document is testdata/fixture.yaml.
type fixture struct {
	mu  sync.Mutex
	rnd *rand.Rand
}

func newFixture() *fixture { return &fixture{rnd: rand.New(rand.NewPCG(1, 2))} }

func (f *fixture) coin() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rnd.IntN(2) == 0
}

func (f *fixture) intn(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rnd.IntN(n)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) { writeJSON(w, 404, map[string]any{"error": "not found"}) }

func (f *fixture) address() map[string]any {
	a := map[string]any{"street": "1 Main St", "city": "Springfield", "country": "US"}
	if f.coin() {
		a["zip"] = "12345"
	}
	return a
}

func (f *fixture) user(id int) map[string]any {
	u := map[string]any{"id": id, "email": fmt.Sprintf("u%d@example.org", id), "name": "User " + strconv.Itoa(id),
		"createdAt": "2025-03-04T05:06:07Z", "tags": []string{"a", "b"}}
	switch f.intn(3) {
	case 0:
		u["phone"] = nil
	case 1:
		u["phone"] = "+1 555 0100"
	}
	if f.coin() {
		u["website"] = "https://example.org/u/" + strconv.Itoa(id)
	}
	if f.coin() {
		u["address"] = f.address()
	}
	return u
}

func (f *fixture) item(sku string) map[string]any {
	it := map[string]any{"sku": sku, "quantity": 1 + f.intn(5), "price": 9.5 + float64(f.intn(10))}
	if f.coin() {
		it["note"] = "gift wrap"
	}
	return it
}

func (f *fixture) order(id string, userID int) map[string]any {
	o := map[string]any{"id": id, "userId": userID, "status": "open", "total": 19.5, "currency": "EUR",
		"items": []any{f.item("SKU-1A2B3C4D"), f.item("SKU-9Z8Y7X6W")}, "createdAt": "2025-03-04T05:06:07Z"}
	switch f.intn(3) {
	case 0:
		o["shippedAt"] = nil
	case 1:
		o["shippedAt"] = "2025-03-05T05:06:07Z"
	}
	if f.coin() {
		o["coupon"] = "SPRING"
	}
	return o
}

func (f *fixture) product(sku string) map[string]any {
	p := map[string]any{"sku": sku, "name": "Widget", "price": 12.5, "category": "tools", "stock": 3, "tags": []string{"new"}}
	if f.coin() {
		d := map[string]any{"width": 1.5, "height": 2.5}
		if f.coin() {
			d["depth"] = 0.5
		}
		p["dimensions"] = d
	}
	return p
}

func (f *fixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	m := r.Method
	switch {
	case len(segs) == 1 && segs[0] == "health" && m == "GET":
		writeJSON(w, 200, map[string]any{"status": "ok", "uptimeSeconds": 12})
	case len(segs) == 1 && segs[0] == "users" && m == "GET":
		items := []any{}
		for i := 0; i < 1+f.intn(3); i++ {
			items = append(items, f.user(10+i))
		}
		res := map[string]any{"items": items, "total": len(items)}
		if f.coin() {
			res["next"] = "cursor-abc"
		}
		writeJSON(w, 200, res)
	case len(segs) == 1 && segs[0] == "users" && m == "POST":
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in["email"] == nil {
			writeJSON(w, 400, map[string]any{"error": "email is required"})
			return
		}
		writeJSON(w, 201, f.user(100+f.intn(100)))
	case len(segs) == 2 && segs[0] == "users" && segs[1] == "me" && m == "GET":
		n := map[string]any{"email": true}
		if f.coin() {
			n["push"] = false
		}
		writeJSON(w, 200, map[string]any{"id": 7, "email": "me@example.org", "name": "Me",
			"settings": map[string]any{"theme": "dark", "language": "en", "notifications": n}})
	case len(segs) >= 2 && segs[0] == "users":
		id, err := strconv.Atoi(segs[1])
		if err != nil {
			notFound(w)
			return
		}
		if len(segs) == 3 && segs[2] == "orders" {
			if m == "POST" {
				writeJSON(w, 201, f.order("6f1c2a7e-1b2c-4d3e-8f9a-0b1c2d3e4f5a", id))
				return
			}
			writeJSON(w, 200, []any{f.order("6f1c2a7e-1b2c-4d3e-8f9a-0b1c2d3e4f5a", id), f.order("7f1c2a7e-1b2c-4d3e-8f9a-0b1c2d3e4f5a", id)})
			return
		}
		if id >= 900 {
			notFound(w)
			return
		}
		switch m {
		case "GET", "PATCH":
			writeJSON(w, 200, f.user(id))
		case "DELETE":
			w.WriteHeader(204)
		}
	case len(segs) >= 2 && segs[0] == "orders":
		if strings.HasPrefix(segs[1], "0") {
			notFound(w)
			return
		}
		if len(segs) == 4 && segs[2] == "items" {
			writeJSON(w, 200, f.item("SKU-1A2B3C4D"))
			return
		}
		if m == "DELETE" {
			w.WriteHeader(204)
			return
		}
		writeJSON(w, 200, f.order(segs[1], 3))
	case len(segs) == 1 && segs[0] == "products":
		writeJSON(w, 200, map[string]any{"products": []any{f.product("SKU-1A2B3C4D"), f.product("SKU-5E6F7A8B")}})
	case len(segs) == 2 && segs[0] == "products" && segs[1] == "featured":
		writeJSON(w, 200, map[string]any{"products": []any{f.product("SKU-1A2B3C4D")}, "until": "2025-12-31T00:00:00Z"})
	case len(segs) == 2 && segs[0] == "products":
		if strings.HasSuffix(segs[1], "0404") {
			notFound(w)
			return
		}
		writeJSON(w, 200, f.product(segs[1]))
	default:
		notFound(w)
	}
}

// request is one call of the traffic script.
type request struct {
	method, path string
	body         any
}

// traffic is the script: n calls spread over every operation, optional query parameters and
// body fields present about half the time, ids drawn from a range (some that do not exist).
func traffic(n int, seed uint64) []request {
	rnd := rand.New(rand.NewPCG(seed, 7))
	coin := func() bool { return rnd.IntN(2) == 0 }
	uuid := func() string {
		return fmt.Sprintf("%x%07x-%04x-4%03x-8%03x-%012x", 1+rnd.IntN(15), rnd.IntN(1<<28), rnd.IntN(1<<16), rnd.IntN(1<<12), rnd.IntN(1<<12), rnd.Int64N(1<<48))
	}
	userID := func() string { return strconv.Itoa(1 + rnd.IntN(950)) }
	var out []request
	for len(out) < n {
		switch rnd.IntN(16) {
		case 0:
			out = append(out, request{"GET", "/health", nil})
		case 1:
			q := []string{}
			if coin() {
				q = append(q, "role="+[]string{"admin", "member"}[rnd.IntN(2)])
			}
			if coin() {
				q = append(q, "active="+[]string{"true", "false"}[rnd.IntN(2)])
			}
			if coin() {
				q = append(q, "limit="+strconv.Itoa(1+rnd.IntN(50)))
			}
			p := "/users"
			if len(q) > 0 {
				p += "?" + strings.Join(q, "&")
			}
			out = append(out, request{"GET", p, nil})
		case 2:
			b := map[string]any{"email": "new@example.org", "name": "New"}
			if rnd.IntN(8) == 0 {
				delete(b, "email") // refused with 400
			}
			if coin() {
				b["phone"] = "+1 555 0101"
			}
			if coin() {
				a := map[string]any{"street": "2 High St", "city": "Shelbyville", "country": "US"}
				if coin() {
					a["zip"] = "54321"
				}
				b["address"] = a
			}
			out = append(out, request{"POST", "/users", b})
		case 3:
			out = append(out, request{"GET", "/users/me", nil})
		case 4, 5:
			out = append(out, request{"GET", "/users/" + userID(), nil})
		case 6:
			b := map[string]any{}
			if coin() {
				b["name"] = "Renamed"
			}
			if coin() {
				b["phone"] = nil
			}
			if coin() {
				b["website"] = "https://example.net/"
			}
			out = append(out, request{"PATCH", "/users/" + strconv.Itoa(1+rnd.IntN(800)), b})
		case 7:
			out = append(out, request{"DELETE", "/users/" + userID(), nil})
		case 8:
			p := "/users/" + userID() + "/orders"
			q := []string{}
			if coin() {
				q = append(q, "status=open")
			}
			if coin() {
				q = append(q, "since=2025-01-02T03:04:05Z")
			}
			if len(q) > 0 {
				p += "?" + strings.Join(q, "&")
			}
			out = append(out, request{"GET", p, nil})
		case 9:
			items := []any{}
			for i := 0; i < 1+rnd.IntN(3); i++ {
				it := map[string]any{"sku": "SKU-1A2B3C4D", "quantity": 1 + rnd.IntN(3)}
				if coin() {
					it["note"] = "fragile"
				}
				items = append(items, it)
			}
			b := map[string]any{"currency": "EUR", "items": items}
			if coin() {
				b["coupon"] = "SPRING"
			}
			out = append(out, request{"POST", "/users/" + userID() + "/orders", b})
		case 10:
			id := uuid()
			if rnd.IntN(5) == 0 {
				id = "0" + id[1:]
			}
			out = append(out, request{"GET", "/orders/" + id, nil})
		case 11:
			out = append(out, request{"DELETE", "/orders/" + uuid(), nil})
		case 12:
			out = append(out, request{"GET", "/orders/" + uuid() + "/items/" + strconv.Itoa(1+rnd.IntN(20)), nil})
		case 13:
			q := []string{}
			if coin() {
				q = append(q, "category=tools")
			}
			if coin() {
				q = append(q, "minPrice="+strconv.Itoa(rnd.IntN(9))+".5")
			}
			if coin() {
				q = append(q, "tag=new", "tag=sale")
			}
			p := "/products"
			if len(q) > 0 {
				p += "?" + strings.Join(q, "&")
			}
			out = append(out, request{"GET", p, nil})
		case 14:
			out = append(out, request{"GET", "/products/featured", nil})
		case 15:
			sku := fmt.Sprintf("SKU-%08X", rnd.Uint32())
			if rnd.IntN(6) == 0 {
				sku = "SKU-00000404"
			}
			out = append(out, request{"GET", "/products/" + sku, nil})
		}
	}
	return out
}

// run sends the script through the gateway at base with the key.
func run(ctx context.Context, base, key string, reqs []request) error {
	for _, rq := range reqs {
		var body *strings.Reader
		if rq.body != nil {
			b, _ := json.Marshal(rq.body)
			body = strings.NewReader(string(b))
		} else {
			body = strings.NewReader("")
		}
		req, err := http.NewRequestWithContext(ctx, rq.method, base+rq.path, body)
		if err != nil {
			return err
		}
		if rq.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("X-Api-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode >= 500 || res.StatusCode == 401 {
			return fmt.Errorf("%s %s: status %d", rq.method, rq.path, res.StatusCode)
		}
	}
	return nil
}
