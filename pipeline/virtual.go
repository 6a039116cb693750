package pipeline

import "time"

// VirtualClock is a discrete-event clock: a priority queue of events ordered
// by time, ties broken by insertion order. Time jumps to each event as it
// fires, so a minute of conversation runs as fast as the CPU allows and every
// run with the same inputs is identical.
//
// A VirtualClock is not safe for concurrent use; a session owns one.
type VirtualClock struct {
	now  time.Duration
	seq  uint64
	gen  uint64
	q    eventHeap
	free []*event
	live int
}

// NewVirtualClock returns a clock at time zero with no events.
func NewVirtualClock() *VirtualClock {
	return &VirtualClock{}
}

// Now returns the current virtual time.
func (c *VirtualClock) Now() time.Duration { return c.now }

// AfterFunc schedules f to run d from now.
func (c *VirtualClock) AfterFunc(d time.Duration, f func()) Timer {
	e := c.alloc()
	e.at = c.now + max(d, 0)
	e.fn = f
	return c.schedule(e)
}

func (c *VirtualClock) alloc() *event {
	var e *event
	if n := len(c.free); n > 0 {
		e = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		e = &event{index: -1}
	}
	c.gen++
	e.gen = c.gen
	e.clock = c
	return e
}

func (c *VirtualClock) schedule(e *event) Timer {
	if e.clock == nil {
		// Events built by the session come without a generation.
		c.gen++
		e.gen = c.gen
		e.clock = c
	}
	if e.at < c.now {
		e.at = c.now
	}
	c.seq++
	e.seq = c.seq
	c.q.push(e)
	c.live++
	return Timer{e: e, gen: e.gen}
}

func (c *VirtualClock) remove(e *event) {
	if e.index >= 0 {
		c.q.remove(e.index)
		c.live--
		c.recycle(e)
	}
}

func (c *VirtualClock) recycle(e *event) {
	// Generation 0 never matches a handle, so stale Timers stay inert.
	*e = event{index: -1}
	c.free = append(c.free, e)
}

func (c *VirtualClock) pending() int { return c.live }

// Pending reports the number of events still scheduled.
func (c *VirtualClock) Pending() int { return c.live }

// Step fires the next event, advancing time to it. It reports false when no
// event is left.
func (c *VirtualClock) Step() bool {
	if len(c.q) == 0 {
		return false
	}
	e := c.q.remove(0)
	c.live--
	c.now = e.at
	// Invalidate the handle before firing so a callback that stops its own
	// timer is a no-op, then recycle after: the callback may schedule more.
	e.cancelled = true
	e.fire()
	c.recycle(e)
	return true
}

// Run fires events until none is left.
func (c *VirtualClock) Run() {
	for c.Step() {
	}
}

// RunUntil fires every event scheduled at or before t, then sets the clock
// to t.
func (c *VirtualClock) RunUntil(t time.Duration) {
	for len(c.q) > 0 && c.q[0].at <= t {
		c.Step()
	}
	if t > c.now {
		c.now = t
	}
}

// Next returns the time of the next event and whether there is one.
func (c *VirtualClock) Next() (time.Duration, bool) {
	if len(c.q) == 0 {
		return 0, false
	}
	return c.q[0].at, true
}

// eventHeap is a binary min-heap of events by (at, seq). The keys sit in
// the heap's own array, so ordering it reads one contiguous slice rather
// than an event per comparison; each event keeps its index for removal.
type eventHeap []heapItem

type heapItem struct {
	at  time.Duration
	seq uint64
	e   *event
}

func (a heapItem) less(b heapItem) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

func (h *eventHeap) push(e *event) {
	e.index = len(*h)
	*h = append(*h, heapItem{at: e.at, seq: e.seq, e: e})
	h.up(e.index)
}

// remove takes out the item at i and returns its event.
func (h *eventHeap) remove(i int) *event {
	q := *h
	n := len(q) - 1
	e := q[i].e
	if i != n {
		q[i] = q[n]
		q[i].e.index = i
		if !q[:n].down(i) {
			q[:n].up(i)
		}
	}
	q[n] = heapItem{}
	*h = q[:n]
	e.index = -1
	return e
}

func (h eventHeap) up(j int) {
	it := h[j]
	for j > 0 {
		p := (j - 1) / 2
		if !it.less(h[p]) {
			break
		}
		h[j] = h[p]
		h[j].e.index = j
		j = p
	}
	h[j] = it
	it.e.index = j
}

// down sifts the item at i0 down and reports whether it moved.
func (h eventHeap) down(i0 int) bool {
	it, i, n := h[i0], i0, len(h)
	for {
		c := 2*i + 1
		if c >= n || c < 0 {
			break
		}
		if r := c + 1; r < n && h[r].less(h[c]) {
			c = r
		}
		if !h[c].less(it) {
			break
		}
		h[i] = h[c]
		h[i].e.index = i
		i = c
	}
	h[i] = it
	it.e.index = i
	return i > i0
}
