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
