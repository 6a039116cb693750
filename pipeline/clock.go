package pipeline

import "time"

// Clock is the session's only source of time. Instants are offsets from the
// session's start. Headless runs step a VirtualClock as fast as the CPU
// allows; live sessions run the same VirtualClock paced by the wall clock
// (package pace), so both produce timelines in the same units.
//
// Stage code never sleeps and never starts goroutines to wait: every delay is
// an event scheduled on the clock. Callbacks run on the session's goroutine,
// one at a time, so stage state needs no locks.
type Clock interface {
	// Now returns the current session time.
	Now() time.Duration
	// AfterFunc schedules f to run d from now (d < 0 counts as 0).
	AfterFunc(d time.Duration, f func()) Timer

	// schedule queues e to fire at e.at. Only the clocks of this package
	// implement it, because the session relies on their ordering guarantees.
	schedule(e *event) Timer
	// pending reports how many scheduled events are still live.
	pending() int
}

// Now is the smallest interface for code that only reads time.
type Now interface {
	Now() time.Duration
}

// event is one scheduled callback. Events are pooled by the virtual clock, so
// a Timer refers to an event together with its generation: a stale handle to
// a recycled event is harmless.
type event struct {
	at    time.Duration
	seq   uint64
	gen   uint64
	index int // position in the virtual heap, -1 when not queued

	fn  func()
	ffn func(Frame)
	fr  Frame

	// owner and scope attribute the event to a stage and a response, so the
	// session can cancel a response's work and attribute what it emits.
	sess  *Session
	node  int
	scope ResponseID

	cancelled bool
	clock     *VirtualClock
}

// fire runs the event's callback, through the session when it has one.
func (e *event) fire() {
	if e.sess != nil {
		e.sess.fire(e)
		return
	}
	if e.ffn != nil {
		e.ffn(e.fr)
		return
	}
	e.fn()
}

// Timer is a handle to a scheduled event. The zero Timer is valid and stopped.
type Timer struct {
	e   *event
	gen uint64
}

// Stop cancels the event. It reports whether the call stopped it, i.e. the
// event had neither fired nor been stopped before.
func (t Timer) Stop() bool {
	if t.e == nil || t.e.gen != t.gen || t.e.cancelled {
		return false
	}
	t.e.cancelled = true
	t.e.clock.remove(t.e)
	return true
}

// Active reports whether the event is still scheduled.
func (t Timer) Active() bool {
	return t.e != nil && t.e.gen == t.gen && !t.e.cancelled
}

// When returns the time the event is (or was) scheduled for. It is only
// meaningful while Active.
func (t Timer) When() time.Duration {
	if !t.Active() {
		return 0
	}
	return t.e.at
}
