package pace

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestLaneHeapOrderUnderChurn pushes, moves earlier and removes lanes at
// random, as queue and remove do, and checks every lane's index and the
// order lanes come out in.
func TestLaneHeapOrderUnderChurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	var h laneHeap
	in := map[*Lane]bool{}
	var all []*Lane
	check := func(step int) {
		for i, e := range h {
			if e.l.index != i {
				t.Fatalf("step %d: lane at %d has index %d", step, i, e.l.index)
			}
			if e.key != e.l.key {
				t.Fatalf("step %d: heap key %v, lane key %v", step, e.key, e.l.key)
			}
		}
	}
	for step := range 3000 {
		switch op := rng.IntN(4); {
		case op < 2 || len(h) == 0: // push a new lane
			l := &Lane{index: -1, key: time.Duration(rng.IntN(1000))}
			h.push(entry{l.key, l})
			in[l] = true
			all = append(all, l)
		case op == 2: // a lane's next event moves earlier
			l := h[rng.IntN(len(h))].l
			l.key -= time.Duration(rng.IntN(500))
			h[l.index].key = l.key
			h.up(l.index)
		default: // a lane stops
			l := h[rng.IntN(len(h))].l
			if got := h.remove(l.index); got != l || l.index != -1 {
				t.Fatalf("step %d: remove returned %p (index %d), want %p", step, got, l.index, l)
			}
			delete(in, l)
		}
		check(step)
	}
	var keys []time.Duration
	for len(h) > 0 {
		l := h.remove(0)
		if !in[l] {
			t.Fatal("a removed lane came out again")
		}
		delete(in, l)
		keys = append(keys, l.key)
		check(-1)
	}
	if len(in) != 0 {
		t.Fatalf("%d lanes never came out", len(in))
	}
	if !slices.IsSorted(keys) {
		t.Fatal("lanes came out of due-time order")
	}
}
