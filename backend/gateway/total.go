package gateway

// RequestsTotal is the number of requests the gateway has answered since it started (every
// route, every status), for the nodes registry's requests per second.
func (g *Gateway) RequestsTotal() uint64 {
	g.metrics.mu.Lock()
	defer g.metrics.mu.Unlock()
	var n uint64
	for _, rm := range g.metrics.byRoute {
		n += rm.sum(countOf)
	}
	return n
}
