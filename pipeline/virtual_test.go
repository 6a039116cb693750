package pipeline_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// TestVirtualClockOrderUnderChurn schedules and stops timers at random, as
// stages re-arming timeouts do, and checks that what fires is exactly what
// was left, in time order with ties in insertion order.
func TestVirtualClockOrderUnderChurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	c := pipeline.NewVirtualClock()
	type fired struct {
		at time.Duration
		id int
	}
	var got []fired
	var want []fired
	timers := map[int]pipeline.Timer{}
	whenOf := map[int]time.Duration{}
	for id := range 2000 {
		d := time.Duration(rng.IntN(50)) * time.Millisecond // many ties
		timers[id] = c.AfterFunc(d, func() { got = append(got, fired{c.Now(), id}) })
		whenOf[id] = d
		if rng.IntN(3) == 0 { // stop an earlier timer
			victim := rng.IntN(id + 1)
			if tm, ok := timers[victim]; ok {
				tm.Stop()
				delete(timers, victim)
			}
		}
	}
	for id := range 2000 {
		if _, ok := timers[id]; ok {
			want = append(want, fired{whenOf[id], id})
		}
	}
	// Stable by time keeps insertion (id) order among ties.
	slices.SortStableFunc(want, func(a, b fired) int { return int(a.at - b.at) })
	if c.Pending() != len(want) {
		t.Fatalf("Pending() = %d, want %d", c.Pending(), len(want))
	}
	c.Run()
	if !slices.Equal(got, want) {
		n := 0
		for n < min(len(got), len(want)) && got[n] == want[n] {
			n++
		}
		t.Fatalf("fired %d events, want %d; first difference at %d", len(got), len(want), n)
	}
}
