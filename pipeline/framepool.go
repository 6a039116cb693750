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
// no queued delivery, no scheduled event (AfterFrame) and no stage that
// keeps frames (a Holder, such as a jitter buffer) has a frame over it.
// That covers every way the engine keeps a frame; the rest is the rule of
// Frame.Audio: any other stage that keeps samples past Handle, or an
// Output or Observe callback past its call, copies them.
//
// A FramePool belongs to its session: use it where the session runs (its
// events, or a lane's Do).
type FramePool struct {
	s *Session
	// slab holds framePoolKeep frames' storage, handed out in turn; free
	// lists the slots found unheld at the last look, in the order they are
	// to be handed out. A slot found free stays free until handed out
	// (only Get puts storage into frames), so one look at the session
	// serves many Gets.
	slab []int16
	free []int
	head int // free[head:] are still to hand out
	next int // the slot after the last one handed out
}

// framePoolKeep is how many frames' storage a pool holds, 640 ms of audio:
// more than a session holds at once in most chains (a network stage's
// delay is tens of milliseconds to a few hundred), so most slots are free
// again by the time they come round; when none is, the pool allocates. A
// session's pool costs 30 KB.
const framePoolKeep = 32

// NewFramePool returns a pool for frames fed into s.
func NewFramePool(s *Session) *FramePool {
	return &FramePool{s: s, free: make([]int, 0, framePoolKeep)}
}

// Get returns FrameSamples samples of storage for a new frame. Its
// contents are whatever they were: the caller overwrites every sample.
func (p *FramePool) Get() []int16 {
	if p.head == len(p.free) {
		p.look()
		if len(p.free) == 0 {
			// Every slot is still in use (long delays upstream).
			return make([]int16, FrameSamples)
		}
	}
	i := p.free[p.head]
	p.head++
	p.next = (i + 1) % framePoolKeep
	return p.slab[i*FrameSamples : (i+1)*FrameSamples : (i+1)*FrameSamples]
}

// look lists the slots no frame the session holds lies over, oldest
// handed out first.
func (p *FramePool) look() {
	p.free, p.head = p.free[:0], 0
	if p.slab == nil {
		p.slab = make([]int16, framePoolKeep*FrameSamples)
	}
	var held [framePoolKeep]bool
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(p.slab)))
	hi := lo + uintptr(len(p.slab))*2
	seen := p.s.eachHeld(func(a []int16) {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(a)))
		end := start + uintptr(len(a))*2
		if start >= hi || end <= lo {
			return
		}
		first := (max(start, lo) - lo) / (2 * FrameSamples)
		last := (min(end, hi) - 1 - lo) / (2 * FrameSamples)
		for k := first; k <= last; k++ {
			held[k] = true
		}
	})
	if !seen {
		return
	}
	for k := range framePoolKeep {
		i := (p.next + k) % framePoolKeep
		if !held[i] {
			p.free = append(p.free, i)
		}
	}
}

// Holder is implemented by stages that keep frames past Handle (a jitter
// buffer): they report the samples they hold, so that a FramePool does not
// hand that storage out again while they do.
type Holder interface {
	EachHeld(fn func(samples []int16))
}

// eachHeld calls fn with the samples of every frame a queued delivery, a
// scheduled event or a Holder stage holds, and reports true; on a clock
// other than a VirtualClock the events cannot be seen, and it reports
// false.
func (s *Session) eachHeld(fn func([]int16)) bool {
	vc, ok := s.clock.(*VirtualClock)
	if !ok {
		return false
	}
	for _, r := range [...]*ring{&s.data, &s.system} {
		for i := range r.size {
			if a := r.buf[(r.head+i)%len(r.buf)].f.Audio; len(a) > 0 {
				fn(a)
			}
		}
	}
	for _, it := range vc.q {
		if a := it.e.fr.Audio; len(a) > 0 {
			fn(a)
		}
	}
	for _, n := range s.nodes {
		if h, ok := n.stage.(Holder); ok {
			h.EachHeld(fn)
		}
	}
	return true
}
