package pipeline

import "unsafe"

// FramePool recycles the sample storage of the audio frames a source feeds
// into one session (a microphone script, a socket), so a live session
// streaming 50 frames a second allocates nothing for them once warm: a
// server with hundreds of sessions otherwise turns over tens of megabytes a
// second, and the garbage collector's mark phases that turnover sets off
// take a quarter of the CPU while they run.
//
// A buffer is handed out again only when the session no longer holds it:
// no queued delivery and no scheduled event (AfterFrame) carries a frame
// over it. That covers every way the engine keeps a frame; the rest is the
// rule of Frame.Audio: a stage that keeps samples past Handle, or an
// Output or Observe callback past its call, copies them.
//
// A FramePool belongs to its session: use it where the session runs (its
// events, or a lane's Do).
type FramePool struct {
	s *Session
	// out lists the buffers handed out, oldest first, from head on; up to
	// cap(out) are remembered for reuse, older ones are left to the garbage
	// collector.
	out  [][]int16
	head int
}

// framePoolKeep is how many buffers a pool remembers, 640 ms of frames:
// more than a session holds at once in most chains (a network stage's
// delay is tens of milliseconds to a few hundred), so the oldest is
// normally free again; when it is not, the pool allocates. A session's
// pool costs 30 KB.
const framePoolKeep = 32

// NewFramePool returns a pool for frames fed into s.
func NewFramePool(s *Session) *FramePool {
	return &FramePool{s: s, out: make([][]int16, 0, framePoolKeep)}
}

// Get returns FrameSamples samples of storage for a new frame. Its
// contents are whatever they were: the caller overwrites every sample.
func (p *FramePool) Get() []int16 {
	if len(p.out) == cap(p.out) {
		oldest := p.out[p.head]
		if !p.s.holds(oldest) {
			p.head = (p.head + 1) % len(p.out)
			return oldest
		}
		// Still in use (a long delay upstream): let it go, and remember a
		// new one in its place.
		b := make([]int16, FrameSamples)
		p.out[p.head] = b
		p.head = (p.head + 1) % len(p.out)
		return b
	}
	b := make([]int16, FrameSamples)
	p.out = append(p.out, b)
	return b
}

// holds reports whether a queued delivery or a scheduled event carries a
// frame whose samples overlap b. On a clock other than a VirtualClock the
// events cannot be seen, so everything counts as held.
func (s *Session) holds(b []int16) bool {
	vc, ok := s.clock.(*VirtualClock)
	if !ok {
		return true
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	hi := lo + uintptr(len(b))*2
	over := func(a []int16) bool {
		if len(a) == 0 {
			return false
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(a)))
		return p < hi && p+uintptr(len(a))*2 > lo
	}
	for _, r := range [...]*ring{&s.data, &s.system} {
		for i := range r.size {
			if over(r.buf[(r.head+i)%len(r.buf)].f.Audio) {
				return true
			}
		}
	}
	for _, e := range vc.q {
		if over(e.e.fr.Audio) {
			return true
		}
	}
	return false
}
