package keys

import "testing"

// TestCacheStaleLoadDoesNotRefreshOutageMemory: a verification loads a key, the key is revoked
// (forgetKey + invalidate, as Service.changed does) before the load is put: the stale entry must
// not become what an outage answers from.
func TestCacheStaleLoadDoesNotRefreshOutageMemory(t *testing.T) {
	c := newCache(10)
	var h Hash
	h[0] = 1
	_, st, _ := c.get(h) // the load begins
	stale := &entry{key: &Key{ID: "key_1", Status: StatusActive}}
	c.forgetKey("key_1") // revoked meanwhile
	c.invalidate()
	c.put(h, stale, st) // the load ends
	if c.lastGood(h) != nil {
		t.Fatal("a load older than the revocation became the outage answer")
	}
	if e, _, ok := c.get(h); ok {
		t.Fatalf("a load older than the revocation was cached: %+v", e.key)
	}
	// A load that began after the change is remembered, also when an invalidation (another
	// node's change, this key's own creation notice) comes while it runs.
	_, st, _ = c.get(h)
	c.invalidate()
	c.put(h, stale, st)
	if c.lastGood(h) == nil {
		t.Fatal("a fresh load was not remembered for outages")
	}
}

// TestLocalResetsOnAChange: a Local drops everything it kept when the cache's generation moves,
// a large map by replacing it (clearing walks all of it, on the event loop).
func TestLocalResetsOnAChange(t *testing.T) {
	s := &Service{cache: newCache(100_000), usage: newUsage(nil)}
	l := s.Local()
	for i := range 2000 {
		var h Hash
		h[0], h[1] = byte(i), byte(i>>8)
		l.m[h] = &entry{}
	}
	var h Hash
	h[31] = 1
	s.cache.put(h, &entry{key: &Key{ID: "key_1"}}, stamp{gen: s.cache.gen.Load()})
	if e := l.get(h); e == nil || e.key.ID != "key_1" {
		t.Fatal("the cached entry was not found")
	}
	s.cache.invalidate()
	if e := l.get(h); e != nil {
		t.Fatal("an entry kept across an invalidation")
	}
	if len(l.m) != 0 {
		t.Fatalf("%d entries left after the change", len(l.m))
	}
}
