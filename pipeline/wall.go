package pipeline

import (
	"context"
	"time"
)

// WallClock runs a session in real time. Timers are real, but their
// callbacks do not run on the timer's goroutine: they are posted to the
// clock's inbox and run by Loop on the session's goroutine, one at a time, in
// the order they fired. Input from outside (a socket) is posted to the same
// inbox, so stage code sees exactly the single-threaded world it sees under
// the VirtualClock.
type WallClock struct {
	start time.Time
	inbox chan func()
	done  chan struct{}
	live  int
}

// NewWallClock returns a clock whose time zero is now. queue bounds the
// inbox; posters block when it is full, which back-pressures timer goroutines
// and socket readers rather than growing memory.
func NewWallClock(queue int) *WallClock {
	if queue <= 0 {
		queue = 1024
	}
	return &WallClock{start: time.Now(), inbox: make(chan func(), queue), done: make(chan struct{})}
}

// Now returns the time since the clock was created.
func (c *WallClock) Now() time.Duration { return time.Since(c.start) }

// Start returns the wall time of session time zero.
func (c *WallClock) Start() time.Time { return c.start }

// AfterFunc schedules f to run on the loop goroutine d from now.
func (c *WallClock) AfterFunc(d time.Duration, f func()) Timer {
	return c.schedule(&event{at: c.Now() + max(d, 0), fn: f})
}

func (c *WallClock) schedule(e *event) Timer {
	e.clock = c
	e.gen = 1
	e.index = -1
	c.live++
	gen := e.gen
	d := e.at - c.Now()
	e.wall = time.AfterFunc(max(d, 0), func() {
		c.Post(func() { c.deliver(e, gen) })
	})
	return Timer{e: e, gen: gen}
}

func (c *WallClock) deliver(e *event, gen uint64) {
	if e.gen != gen || e.cancelled {
		return
	}
	e.cancelled = true
	c.live--
	e.fire()
}

func (c *WallClock) stop(e *event) {
	e.wall.Stop()
	c.live--
}

func (c *WallClock) pending() int { return c.live }

// Pending reports the number of timers scheduled and not yet run or stopped.
// Call it only from the loop goroutine.
func (c *WallClock) Pending() int { return c.live }

// Post queues f to run on the loop goroutine. It reports false if the loop
// has stopped. It is safe to call from any goroutine.
func (c *WallClock) Post(f func()) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.inbox <- f:
		return true
	case <-c.done:
		return false
	}
}

// Loop runs posted callbacks until ctx is done. Exactly one goroutine may
// call it. When it returns, later Posts are refused.
func (c *WallClock) Loop(ctx context.Context) {
	defer close(c.done)
	for {
		select {
		case f := <-c.inbox:
			f()
		case <-ctx.Done():
			return
		}
	}
}
