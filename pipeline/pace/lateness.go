package pace

import (
	"sync/atomic"
	"time"
)

// latenessBounds are the upper bounds of the lateness histogram's buckets;
// a last bucket takes the rest.
var latenessBounds = [...]time.Duration{
	25 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond, 200 * time.Microsecond,
	500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
}

// lateness counts how late lanes were fired: from the instant their first
// due event was due to the instant the shard fired them.
type lateness struct {
	n   [len(latenessBounds) + 1]atomic.Uint64
	max atomic.Int64
}

func (h *lateness) add(d time.Duration) {
	d = max(d, 0)
	i := 0
	for i < len(latenessBounds) && d > latenessBounds[i] {
		i++
	}
	h.n[i].Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Lateness summarises how late a Scheduler's shards have fired lanes, over
// its life: the scheduler's own timing error, before any socket.
type Lateness struct {
	Fires uint64 `json:"fires"`
	// P50 and P99 are upper bounds: the bucket edges (25 µs … 100 ms) the
	// quantiles fall under.
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// Lateness reports how late lanes have been fired.
func (s *Scheduler) Lateness() Lateness {
	var counts [len(latenessBounds) + 1]uint64
	var out Lateness
	for i := range counts {
		counts[i] = s.late.n[i].Load()
		out.Fires += counts[i]
	}
	out.Max = time.Duration(s.late.max.Load())
	q := func(p float64) time.Duration {
		if out.Fires == 0 {
			return 0
		}
		want := uint64(p * float64(out.Fires))
		var acc uint64
		for i, c := range counts {
			acc += c
			if acc > want {
				if i < len(latenessBounds) {
					return latenessBounds[i]
				}
				return out.Max
			}
		}
		return out.Max
	}
	out.P50, out.P99 = q(0.5), q(0.99)
	return out
}
