// Package pace runs VirtualClocks in real time: each Lane is one session's
// clock, and its events fire when the wall clock reaches them. Lanes share
// a few goroutines (one per shard, GOMAXPROCS of them by default) instead
// of holding a goroutine and a timer each, so a server with hundreds of live
// sessions wakes a handful of goroutines, not hundreds, and each wakeup
// fires every lane that has come due.
//
// Events run at their exact virtual times: a shard that wakes late fires an
// event late on the wall clock, but the event sees its own time, and what it
// schedules is timed from that time, so lateness never accumulates along a
// chain of events. Lateness shows only where a lane meets the outside world
// (a socket write, a read stamped with the wall clock).
//
// A lane may also watch one descriptor (Lane.Watch): its shard then reads
// the lane's socket in the same wakeups that fire timers, so a server with
// hundreds of connections has no goroutine per connection to schedule —
// under load, those hand-offs, not the work, made the timing tail. A read
// that carries the instant its bytes came (the kernel's receive stamp) is
// handled at that instant on the lane's clock (Lane.Arrived), so a shard
// that reads late adds nothing to the input's timing either.
//
// On Linux a shard sleeps on an epoll set holding a timerfd and the
// watched sockets, polled through Go's netpoller, with a runtime read
// deadline at the timer's instant: the timerfd wakes an idle process within
// tens of microseconds (Go's own timers, when every thread is parked in
// epoll, wake on millisecond boundaries, ~0.6 ms late at the median), and
// the deadline, checked whenever the scheduler runs, wakes a busy one.
// Elsewhere a shard sleeps on a time.Timer and watches nothing.
package pace

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// never is a key for a lane with nothing scheduled.
const never = time.Duration(math.MaxInt64)

// Scheduler paces lanes on a fixed set of shards. A shard's goroutine runs
// only while it has lanes, so an idle Scheduler holds no goroutine and needs
// no closing.
type Scheduler struct {
	epoch    time.Time
	slack    time.Duration
	newWaker func() (waker, error)
	mu       sync.Mutex // guards the shards' lane counts
	shards   []*shard
	late     lateness
}

// DefaultSlack is how much later than its first due lane a sleeping shard
// may wake, to fire the lanes due just after it in the same wakeup: the
// Linux kernel's default timer slack for ordinary threads (50 µs, see
// prctl(2) PR_SET_TIMERSLACK).
const DefaultSlack = 50 * time.Microsecond

// New returns a Scheduler with n shards; n ≤ 0 means GOMAXPROCS.
func New(n int) *Scheduler {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	s := &Scheduler{epoch: time.Now(), newWaker: newWaker, slack: DefaultSlack}
	for range n {
		s.shards = append(s.shards, &shard{s: s, armed: never})
	}
	return s
}

// since is the time since the scheduler's epoch.
func (s *Scheduler) since() time.Duration { return time.Since(s.epoch) }

// Lane is one VirtualClock paced in real time. Its events fire on its
// shard's goroutine; Do runs other work on the caller's goroutine. A mutex
// keeps the lane single-threaded either way, so the code on the clock sees
// the world it sees under a virtual clock run headless.
type Lane struct {
	sh      *shard
	zero    time.Duration // the lane's time zero, since the scheduler's epoch
	onPanic func(any)

	mu      sync.Mutex
	vc      *pipeline.VirtualClock
	stopped bool

	// Under sh.mu.
	key     time.Duration // when the shard must fire the lane, since epoch
	index   int           // in the shard's heap; -1 when not queued
	fd      int32         // the descriptor watched; -1: none
	onReady func()
}

// NewLane starts a lane at time zero on the least loaded shard. onPanic, if
// not nil, is called with the value of a panic raised by one of the lane's
// events (on the shard's goroutine, from the deferred recovery, so a stack
// trace taken there shows the panic); the lane is stopped, and the other
// lanes carry on. onPanic runs with the lane locked: it must not call the
// lane's Do or Stop.
func (s *Scheduler) NewLane(onPanic func(any)) *Lane {
	s.mu.Lock()
	sh := s.shards[0]
	for _, c := range s.shards[1:] {
		if c.lanes < sh.lanes {
			sh = c
		}
	}
	sh.lanes++
	if sh.lanes == 1 {
		sh.startLocked()
	}
	s.mu.Unlock()
	return &Lane{sh: sh, zero: s.since(), onPanic: onPanic,
		vc: pipeline.NewVirtualClock(), key: never, index: -1, fd: -1}
}

// Clock returns the lane's clock. It must only be used from the lane's
// events or from within Do.
func (l *Lane) Clock() *pipeline.VirtualClock { return l.vc }

// Now returns the wall-clock time since the lane began. It is safe from any
// goroutine; the clock's own time is Clock().Now(), inside the lane.
func (l *Lane) Now() time.Duration { return l.sh.s.since() - l.zero }

// Do runs f inside the lane, after every event due by now. It reports false
// once the lane has stopped. A panic in f stops the lane and is passed on to
// the caller.
func (l *Lane) Do(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	defer l.stopOnPanic()
	l.vc.RunUntil(l.Now())
	f()
	l.requeueLocked()
	return true
}

// stopOnPanic stops the lane if the goroutine is panicking, and lets the
// panic go on.
func (l *Lane) stopOnPanic() {
	if r := recover(); r != nil {
		l.stopped = true
		l.sh.remove(l)
		l.sh.release()
		panic(r)
	}
}

// Stop stops the lane: no event of it fires after Stop returns, and Do
// refuses. It may be called more than once, from any goroutine but the
// lane's own (an event or a Do would deadlock on the lane's lock).
func (l *Lane) Stop() {
	l.mu.Lock()
	was := l.stopped
	l.stopped = true
	l.mu.Unlock()
	l.sh.remove(l)
	if !was {
		l.sh.release()
	}
}

// Stopped reports whether the lane has stopped (Stop, or a panic).
func (l *Lane) Stopped() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopped
}

// ErrWatchUnsupported: the lane's shard cannot watch descriptors (not
// Linux, or no epoll); read on a goroutine instead.
var ErrWatchUnsupported = errors.New("pace: watching descriptors is not supported here")

// errWakerClosed: the shard's waker closed under a Watch (the lane
// stopped meanwhile).
var errWakerClosed = errors.New("pace: lane stopped")

// Watch has ready called inside the lane — on the shard's goroutine, with
// the lane locked — whenever fd has bytes to read or its peer has hung up,
// until Unwatch or Stop. The watch is level-triggered: ready should read
// until the socket would block, or Unwatch, or it is called again at once.
// So a shard reads its lanes' sockets in the same wakeups that fire their
// timers, with no goroutine per connection to schedule.
//
// ready runs before the lane's clock is run to now: a busy shard may get
// to a socket well after its bytes came, and the lane's events due since
// must fire after that input, not before it. So ready calls Arrived with
// each read's arrival before handling what it read (the zero Time when
// unknown: the input is then handled now, after every event due); once
// ready returns, the lane runs to now.
//
// A lane watches one descriptor at a time;
// the caller should keep it open until Unwatch or Stop has returned (a
// descriptor closed while watched is dropped by the kernel, and its
// number, reused by a new socket, may be watched afresh).
func (l *Lane) Watch(fd int, ready func()) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return errWakerClosed
	}
	sh := l.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if l.fd >= 0 {
		return fmt.Errorf("pace: lane already watches descriptor %d", l.fd)
	}
	if err := sh.w.watch(fd); err != nil {
		return err
	}
	if sh.watched == nil {
		sh.watched = map[int32]*Lane{}
	}
	if old := sh.watched[int32(fd)]; old != nil {
		// The number was closed under a lane still watching it, and the
		// kernel has handed it to a new socket: the old watch is void.
		old.fd, old.onReady = -1, nil
	}
	l.fd, l.onReady = int32(fd), ready
	sh.watched[l.fd] = l
	return nil
}

// Unwatch stops watching the lane's descriptor: once it returns, ready is
// not called again. It may be called from ready itself, from any
// goroutine, and more than once.
func (l *Lane) Unwatch() {
	l.sh.mu.Lock()
	defer l.sh.mu.Unlock()
	l.sh.unwatchLocked(l)
}

// Arrived runs the lane's events due by the instant input reached the
// process, so that what Watch's ready does next happens at that instant on
// the lane's clock: at is a wall-clock time (the kernel's receive stamp of
// a socket read, wsconn.SocketReader.Arrived), and the zero Time means
// now. The instant is never later than now nor earlier than the clock's
// own time: input cannot be placed before what the lane has already done.
// Only from ready.
func (l *Lane) Arrived(at time.Time) {
	t := l.Now()
	if !at.IsZero() {
		t -= max(time.Since(at), 0)
	}
	if t > l.vc.Now() {
		l.vc.RunUntil(t)
	}
}

// requeueLocked tells the shard when the lane next needs firing. The
// lane's lock is held.
func (l *Lane) requeueLocked() {
	if next, ok := l.vc.Next(); ok {
		l.sh.queue(l, l.zero+next)
	}
}

// fire runs the lane's events due by now, on the shard's goroutine; with
// input, it first calls the lane's ready for its watched descriptor, which
// runs the events due before each read's arrival (Arrived).
func (l *Lane) fire(input bool) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	var ready func()
	if input {
		l.sh.mu.Lock()
		ready = l.onReady
		l.sh.mu.Unlock()
		if ready == nil {
			l.mu.Unlock()
			return // unwatched since the shard looked
		}
	}
	panicked := false
	func() {
		defer func() {
			if r := recover(); r != nil {
				panicked = true
				l.stopped = true
				if l.onPanic != nil {
					l.onPanic(r)
				}
			}
		}()
		now := l.Now()
		if next, ok := l.vc.Next(); ok && !input {
			l.sh.s.late.add(now - next)
		}
		if ready != nil {
			ready()
		}
		l.vc.RunUntil(now)
		l.requeueLocked()
	}()
	l.mu.Unlock()
	if panicked {
		l.sh.remove(l)
		l.sh.release()
	}
}

// shard fires its lanes from one goroutine, sleeping until the earliest is
// due.
type shard struct {
	s     *Scheduler
	lanes int // under s.mu

	mu      sync.Mutex
	heap    laneHeap
	armed   time.Duration // the instant the shard next needs waking (never: not at all)
	set     time.Duration // the instant the waker's alarm is set for (never: unset)
	w       waker
	watched map[int32]*Lane // by descriptor
}

// startLocked starts the shard's goroutine with a new waker; the
// scheduler's lock is held. A goroutine still winding down from the last
// lane's departure may overlap it for a moment: it holds the old, closed
// waker, so it exits at its next wait, and whatever it fires meanwhile is
// fired correctly (under the lanes' locks) and queued on the new waker.
func (sh *shard) startLocked() {
	w, err := sh.s.newWaker()
	if err != nil {
		// timerfd unavailable (e.g. a seccomp profile): sleep on Go timers.
		w = newTimerWaker()
	}
	sh.mu.Lock()
	sh.w, sh.armed, sh.set = w, never, never
	if len(sh.heap) > 0 {
		sh.armed = sh.heap[0].key
		sh.setAlarm(sh.armed, sh.s.since())
	}
	sh.mu.Unlock()
	go sh.loop(w)
}

// release drops one lane; the last one out stops the goroutine.
func (sh *shard) release() {
	sh.s.mu.Lock()
	defer sh.s.mu.Unlock()
	sh.lanes--
	if sh.lanes < 0 {
		panic(fmt.Sprintf("pace: shard released more lanes than it had (%d)", sh.lanes))
	}
	if sh.lanes == 0 {
		sh.mu.Lock()
		sh.w.close()
		sh.mu.Unlock()
	}
}

// queue makes sure the shard fires l by at (since epoch), waking the shard
// earlier if that is sooner than it planned to wake.
func (sh *shard) queue(l *Lane, at time.Duration) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch {
	case l.index < 0:
		l.key = at
		sh.heap.push(entry{at, l})
	case at < l.key:
		l.key = at
		sh.heap[l.index].key = at
		sh.heap.up(l.index) // the key only ever moves earlier
	default:
		return
	}
	if at < sh.armed {
		sh.armed = at
		sh.setAlarm(at, sh.s.since())
	}
}

// setAlarm sets the waker's alarm for the instant at, unless it is already
// set for it and has not rung: a shard woken by input, with the same lane
// still first in its queue, keeps its alarm instead of paying for a
// timerfd_settime and a runtime deadline on every wakeup. sh.mu is held.
func (sh *shard) setAlarm(at, now time.Duration) {
	if at == sh.set && (at == never || at > now) {
		return
	}
	sh.set = at
	if at == never {
		sh.w.arm(never)
		return
	}
	sh.w.arm(at - now)
}

// remove takes l out of the shard's queue and stops watching its
// descriptor.
func (sh *shard) remove(l *Lane) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if l.index >= 0 {
		sh.heap.remove(l.index)
	}
	sh.unwatchLocked(l)
}

func (sh *shard) unwatchLocked(l *Lane) {
	if l.fd < 0 {
		return
	}
	if sh.watched[l.fd] == l {
		sh.w.unwatch(int(l.fd))
		delete(sh.watched, l.fd)
	}
	l.fd, l.onReady = -1, nil
}

// loop fires due lanes, and reads for lanes whose descriptors are ready,
// until its waker is closed.
func (sh *shard) loop(w waker) {
	var due []*Lane
	var ready []int32 // descriptors the waker found ready
	for {
		// Input first: what arrived is older than the timers now due.
		if len(ready) > 0 {
			sh.mu.Lock()
			for _, fd := range ready {
				if l := sh.watched[fd]; l != nil {
					due = append(due, l)
				}
			}
			sh.mu.Unlock()
			sh.fireAll(due, true)
			due = due[:0]
		}
		now := sh.s.since()
		sh.mu.Lock()
		for len(sh.heap) > 0 && sh.heap[0].key <= now {
			due = append(due, sh.heap.remove(0))
		}
		sh.mu.Unlock()
		sh.fireAll(due, false)
		due = due[:0]

		sh.mu.Lock()
		if w != sh.w {
			sh.mu.Unlock()
			return // closed, and a new goroutine has taken over
		}
		var ok bool
		if len(sh.heap) == 0 {
			sh.armed = never
			sh.setAlarm(never, 0)
			sh.mu.Unlock()
			if ready, ok = w.wait(); !ok {
				return
			}
			continue
		}
		sh.armed = sh.heap[0].key
		now = sh.s.since()
		if sh.armed <= now {
			// More lanes came due while these fired: no sleep, but let
			// the goroutines they readied run first, or a busy shard
			// would keep its thread until the scheduler preempts it,
			// 10 ms on; then take the sockets that became ready.
			sh.mu.Unlock()
			runtime.Gosched()
			if ready, ok = w.poll(); !ok {
				return
			}
			continue
		}
		// Timer slack: lanes due within it of the first fire in the same
		// wakeup, so a busy shard wakes once for several lanes.
		sh.armed += sh.s.slack
		sh.setAlarm(sh.armed, now)
		sh.mu.Unlock()
		if ready, ok = w.wait(); !ok {
			return
		}
	}
}

// fireAll fires each lane, and clears the list as it goes.
func (sh *shard) fireAll(lanes []*Lane, input bool) {
	for i, l := range lanes {
		l.fire(input)
		lanes[i] = nil
	}
}

// laneHeap orders lanes by when they are due. The key is kept beside the
// pointer so sifting compares without touching the lanes.
type laneHeap []entry

type entry struct {
	key time.Duration
	l   *Lane
}

func (h *laneHeap) push(e entry) {
	*h = append(*h, e)
	h.up(len(*h) - 1)
}

// remove takes out the lane at i and returns it.
func (h *laneHeap) remove(i int) *Lane {
	q := *h
	n := len(q) - 1
	l := q[i].l
	if i != n {
		q[i] = q[n]
		q[i].l.index = i
		if !q[:n].down(i) {
			q[:n].up(i)
		}
	}
	q[n] = entry{}
	*h = q[:n]
	l.index = -1
	return l
}

func (h laneHeap) up(j int) {
	e := h[j]
	for j > 0 {
		p := (j - 1) / 2
		if e.key >= h[p].key {
			break
		}
		h[j] = h[p]
		h[j].l.index = j
		j = p
	}
	h[j] = e
	e.l.index = j
}

// down sifts the entry at i0 down and reports whether it moved.
func (h laneHeap) down(i0 int) bool {
	e, i, n := h[i0], i0, len(h)
	for {
		c := 2*i + 1
		if c >= n || c < 0 {
			break
		}
		if r := c + 1; r < n && h[r].key < h[c].key {
			c = r
		}
		if h[c].key >= e.key {
			break
		}
		h[i] = h[c]
		h[i].l.index = i
		i = c
	}
	h[i] = e
	e.l.index = i
	return i > i0
}

// waker is a shard's alarm clock, and where it watches its lanes'
// descriptors. arm, watch, unwatch and close are called with the shard's
// lock held; poll and wait only by the shard's goroutine.
type waker interface {
	// arm sets the alarm d from now: d ≤ 0 rings at once, a d near never
	// (nothing queued) not at all. It is a no-op once closed.
	arm(d time.Duration)
	// poll returns the watched descriptors ready now, without waiting
	// (valid until the next poll or wait); false once closed.
	poll() ([]int32, bool)
	// wait is poll, first blocking until the alarm rings, arm moves it, or
	// a descriptor is ready.
	wait() ([]int32, bool)
	// watch adds a descriptor (ErrWatchUnsupported where it cannot);
	// unwatch takes one out.
	watch(fd int) error
	unwatch(fd int)
	close()
}
