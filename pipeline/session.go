package pipeline

import (
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
)

// Session runs one conversation through a chain of stages on one clock. It
// is a single-threaded discrete-event loop: frames pushed by a stage are
// queued and delivered in order at the current instant (system frames first),
// and everything that takes time is an event on the clock.
//
// A Session is not safe for concurrent use. Paced in real time (package
// pace), call its methods only under its lane's lock (Lane.Do).
type Session struct {
	clock    Clock
	rng      *rand.Rand
	log      *zap.Logger
	nodes    []*node
	timeline Timeline
	counters map[string]int64

	system   ring
	data     ring
	draining bool
	cur      cursor

	lastResponse ResponseID
	output       func(Frame, Direction)
	observe      func(stage string, f Frame, dir Direction)
	replies      func(string) (string, bool)
	errs         []error
}

type cursor struct {
	node  int
	scope ResponseID
}

type node struct {
	name      string
	stage     Stage
	ctx       Context
	transport bool
	// cancelled is the highest response cancelled at this stage: frames of
	// responses up to it are stale here.
	cancelled ResponseID
	timers    []Timer
}

// Named pairs a stage with the name it was registered under.
type Named struct {
	Name  string
	Stage Stage
}

// Options configure a session.
type Options struct {
	// Clock defaults to a new VirtualClock.
	Clock Clock
	// Seed seeds the session's random source (PCG).
	Seed uint64
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// Output receives frames that leave the chain: downstream past the last
	// stage, upstream past the first.
	Output func(f Frame, dir Direction)
	// Observe, if set, sees every frame a stage pushes, before delivery.
	Observe func(stage string, f Frame, dir Direction)
	// Replies, if set, gives the scripted answer to a user transcript.
	Replies func(transcript string) (string, bool)
}

// NewSession builds a session over stages, in chain order (the first stage
// receives Input).
func NewSession(opts Options, stages ...Named) *Session {
	if opts.Clock == nil {
		opts.Clock = NewVirtualClock()
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	s := &Session{
		clock:    opts.Clock,
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		log:      opts.Logger,
		counters: map[string]int64{},
		output:   opts.Output,
		observe:  opts.Observe,
		replies:  opts.Replies,
		cur:      cursor{node: -1},
	}
	for i, st := range stages {
		n := &node{name: st.Name, stage: st.Stage}
		n.ctx = Context{s: s, n: i}
		if t, ok := st.Stage.(Transport); ok && t.IsTransport() {
			n.transport = true
		}
		s.nodes = append(s.nodes, n)
	}
	return s
}

// Start calls Start on every stage that has it, in chain order.
func (s *Session) Start() {
	for i, n := range s.nodes {
		if st, ok := n.stage.(Starter); ok {
			prev := s.cur
			s.cur = cursor{node: i}
			st.Start(&n.ctx)
			s.cur = prev
		}
	}
	s.drain()
}

// Clock returns the session's clock.
func (s *Session) Clock() Clock { return s.clock }

// Now returns the session time.
func (s *Session) Now() time.Duration { return s.clock.Now() }

// Rand returns the session's random source.
func (s *Session) Rand() *rand.Rand { return s.rng }

// Timeline returns the marks stamped so far.
func (s *Session) Timeline() *Timeline { return &s.timeline }

// Counters returns the session's named counters (lost frames, underruns…).
func (s *Session) Counters() map[string]int64 { return s.counters }

// Errors returns the errors stages reported.
func (s *Session) Errors() []error { return s.errs }

// Pending reports how many events are scheduled on the clock.
func (s *Session) Pending() int { return s.clock.pending() }

// Stage returns the Context of the stage called name, or nil.
func (s *Session) Stage(name string) *Context {
	for _, n := range s.nodes {
		if n.name == name {
			return &n.ctx
		}
	}
	return nil
}

// Input delivers f downstream to the first stage, as input from outside the
// chain (a scenario's microphone, a socket).
func (s *Session) Input(f Frame) {
	s.enqueue(delivery{to: 0, f: f, dir: Downstream})
	s.drain()
}

// InputUp delivers f upstream to the last stage, as input from the far end
// of the chain (a real client's playback report).
func (s *Session) InputUp(f Frame) {
	s.enqueue(delivery{to: len(s.nodes) - 1, f: f, dir: Upstream})
	s.drain()
}

// Mark stamps a mark from outside the chain, e.g. the ground truth of an
// input script.
func (s *Session) Mark(m Mark) {
	s.timeline.add(m)
}

// AfterFunc schedules f outside any stage: for input scripts.
func (s *Session) AfterFunc(d time.Duration, f func()) Timer {
	return s.schedule(-1, 0, d, f, nil, Frame{})
}

// AfterFrame schedules fn(f) outside any stage. Unlike a closure over f, it
// allocates nothing, so a script can feed audio frame by frame for free.
func (s *Session) AfterFrame(d time.Duration, f Frame, fn func(Frame)) Timer {
	return s.schedule(-1, 0, d, nil, fn, f)
}

type delivery struct {
	to  int
	f   Frame
	dir Direction
	// from is the pushing node, for attribution; -1 for outside input.
	from int
}

func (s *Session) enqueue(d delivery) {
	if d.to < 0 || d.to >= len(s.nodes) {
		if s.output != nil {
			s.output(d.f, d.dir)
		}
		return
	}
	if d.f.Kind.IsSystem() {
		s.system.push(d)
	} else {
		s.data.push(d)
	}
}

// drain delivers queued frames until none is left. It is re-entrant safe:
// a push during delivery just queues.
func (s *Session) drain() {
	if s.draining {
		return
	}
	s.draining = true
	defer func() { s.draining = false }()
	for {
		var d delivery
		if s.system.len() > 0 {
			d = s.system.pop()
		} else if s.data.len() > 0 {
			d = s.data.pop()
		} else {
			return
		}
		s.deliver(d)
	}
}

func (s *Session) deliver(d delivery) {
	n := s.nodes[d.to]
	f := d.f
	if s.stale(n, f, d.dir) {
		s.counters["frames_dropped_cancelled"]++
		return
	}
	if f.Kind == Interruption || f.Kind == Cancel {
		s.cancelAt(d.to, f.Response)
	}
	prev := s.cur
	s.cur = cursor{node: d.to, scope: f.Response}
	n.stage.Handle(&n.ctx, f, d.dir)
	s.cur = prev
	if (f.Kind == Interruption || f.Kind == Cancel) && !n.transport {
		next := d.to + 1
		if d.dir == Upstream {
			next = d.to - 1
		}
		s.enqueue(delivery{to: next, f: f, dir: d.dir, from: d.to})
	}
}

// stale reports whether a downstream data or control frame belongs to a
// response already cancelled at n. Playback reports are never stale: they
// say what the listener already heard, which matters most after a cut.
func (s *Session) stale(n *node, f Frame, dir Direction) bool {
	if f.Kind == PlaybackStarted || f.Kind == PlaybackStopped {
		return false
	}
	return dir == Downstream && !f.Kind.IsSystem() && f.Response != 0 && f.Response <= n.cancelled
}

// cancelAt applies the cancellation of responses up to r at node i: its
// pending work for them is stopped, unless it is a wire.
func (s *Session) cancelAt(i int, r ResponseID) {
	n := s.nodes[i]
	if r > n.cancelled {
		n.cancelled = r
	}
	if n.transport {
		return
	}
	kept := n.timers[:0]
	for _, t := range n.timers {
		if !t.Active() {
			continue
		}
		if sc := t.e.scope; sc != 0 && sc <= r {
			t.Stop()
			s.counters["timers_cancelled"]++
			continue
		}
		kept = append(kept, t)
	}
	clear(n.timers[len(kept):])
	n.timers = kept
}

// fire runs a stage's scheduled event in the stage's context.
func (s *Session) fire(e *event) {
	if e.node >= 0 {
		n := s.nodes[e.node]
		if e.scope != 0 && e.scope <= n.cancelled && !n.transport {
			// Unreachable while cancelAt stops timers; kept as the engine's
			// guarantee that cancelled work never runs.
			s.counters["events_suppressed"]++
			return
		}
	}
	prev := s.cur
	s.cur = cursor{node: e.node, scope: e.scope}
	if e.ffn != nil {
		e.ffn(e.fr)
	} else {
		e.fn()
	}
	s.cur = prev
	s.drain()
}

func (s *Session) push(from int, f Frame, dir Direction) {
	n := s.nodes[from]
	if dir == Downstream && !n.transport && s.stale(n, f, dir) {
		s.counters["frames_dropped_cancelled"]++
		return
	}
	if s.observe != nil {
		s.observe(n.name, f, dir)
	}
	to := from + 1
	if dir == Upstream {
		to = from - 1
	}
	s.enqueue(delivery{to: to, f: f, dir: dir, from: from})
}

func (s *Session) schedule(i int, scope ResponseID, d time.Duration, fn func(), ffn func(Frame), f Frame) Timer {
	var e *event
	if vc, ok := s.clock.(*VirtualClock); ok {
		e = vc.alloc()
	} else {
		e = &event{}
	}
	e.at = s.clock.Now() + max(d, 0)
	e.fn, e.ffn, e.fr = fn, ffn, f
	e.sess, e.node, e.scope = s, i, scope
	t := s.clock.schedule(e)
	if i < 0 {
		return t
	}
	n := s.nodes[i]
	if len(n.timers) == cap(n.timers) {
		// Compact before growing, so a long session keeps a small list.
		kept := n.timers[:0]
		for _, t := range n.timers {
			if t.Active() {
				kept = append(kept, t)
			}
		}
		clear(n.timers[len(kept):])
		n.timers = kept
	}
	n.timers = append(n.timers, t)
	return t
}

func (s *Session) newResponse() ResponseID {
	s.lastResponse++
	return s.lastResponse
}

func (s *Session) fail(i int, err error) {
	err = fmt.Errorf("stage %s: %w", s.nodes[i].name, err)
	s.errs = append(s.errs, err)
	s.log.Warn("stage error", zap.String("stage", s.nodes[i].name), zap.Error(err))
}

// ring is a growable FIFO of deliveries that reuses its storage.
type ring struct {
	buf        []delivery
	head, size int
}

func (r *ring) len() int { return r.size }

func (r *ring) push(d delivery) {
	if r.size == len(r.buf) {
		nb := make([]delivery, max(16, 2*len(r.buf)))
		for i := 0; i < r.size; i++ {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = d
	r.size++
}

func (r *ring) pop() delivery {
	d := r.buf[r.head]
	r.buf[r.head] = delivery{}
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	return d
}
