package gateway

import "testing"

// TestXQueue: a pool's waiting exchanges come out oldest first through any mix of pushes, pops
// and removals, and waiting in a short queue allocates nothing once it has run a while.
func TestXQueue(t *testing.T) {
	xs := make([]*loopExchange, 100)
	for i := range xs {
		xs[i] = &loopExchange{}
	}
	var q xQueue
	var want []*loopExchange // the model: a plain slice
	next := 0
	for step := range 2000 {
		switch {
		case step%7 == 3 && len(want) > 2: // an exchange leaves the queue (its client left)
			x := want[1]
			q.remove(x)
			want = append(want[:1], want[2:]...)
		case step%3 != 0 || len(want) == 0:
			x := xs[next%len(xs)]
			next++
			q.push(x)
			want = append(want, x)
		default:
			if got := q.pop(); got != want[0] {
				t.Fatalf("step %d: popped not the oldest", step)
			}
			want = want[1:]
		}
		if q.len() != len(want) {
			t.Fatalf("step %d: length %d, want %d", step, q.len(), len(want))
		}
		if step%250 == 0 { // drain
			for len(want) > 0 {
				if q.pop() != want[0] {
					t.Fatalf("step %d: drained out of order", step)
				}
				want = want[1:]
			}
		}
	}
	var short xQueue
	short.push(xs[0])
	short.pop()
	if n := testing.AllocsPerRun(1000, func() {
		short.push(xs[1])
		short.push(xs[2])
		short.pop()
		short.pop()
	}); n != 0 {
		t.Fatalf("a short queue allocates %v times a round", n)
	}
}
