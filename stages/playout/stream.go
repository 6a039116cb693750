package playout

import (
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// stream is one response's audio at the client: the frames buffered for it,
// indexed by Seq in a ring, and where its playback is.
type stream struct {
	id pipeline.ResponseID

	ring     []entry // len is a power of two; holds Seq in [cursor, cursor+len)
	buffered int     // frames in the ring
	top      uint64  // highest Seq stored + 1

	end    uint64 // frame count, once known
	hasEnd bool

	anchored   bool
	anchor     time.Duration // first frame's arrival
	complete   bool          // every frame up to end arrived before playback
	completeAt time.Duration

	// cursor is the Seq of the slot playing (when playing) or next to play.
	cursor    uint64
	started   bool // its first sample reached the ear
	playing   bool // a slot is in progress
	stalled   bool // the buffer ran dry before the end
	pos       time.Duration
	slotStart time.Duration
	slotLen   time.Duration
}

type entry struct {
	f  pipeline.Frame
	at time.Duration // arrival
	ok bool
}

const initialRing = 16 // 320 ms of audio; grows for clients that buffer more

func (s *stream) reset(id pipeline.ResponseID) {
	ring := s.ring
	clear(ring)
	*s = stream{id: id, ring: ring}
	if s.ring == nil {
		s.ring = make([]entry, initialRing)
	}
}

func (s *stream) slot(seq uint64) *entry { return &s.ring[seq&uint64(len(s.ring)-1)] }

func (s *stream) has(seq uint64) bool {
	e := s.slot(seq)
	return e.ok && e.f.Seq == seq
}

// put stores a frame with Seq ≥ cursor.
func (s *stream) put(f pipeline.Frame, at time.Duration) {
	if f.Seq-s.cursor >= uint64(len(s.ring)) {
		s.grow(f.Seq - s.cursor + 1)
	}
	*s.slot(f.Seq) = entry{f: f, at: at, ok: true}
	s.buffered++
	s.top = max(s.top, f.Seq+1)
}

// take removes and returns the frame with Seq seq, if buffered.
func (s *stream) take(seq uint64) (entry, bool) {
	e := s.slot(seq)
	if !e.ok || e.f.Seq != seq {
		return entry{}, false
	}
	out := *e
	*e = entry{}
	s.buffered--
	return out, true
}

func (s *stream) grow(need uint64) {
	n := uint64(len(s.ring))
	for n < 2*need {
		n *= 2
	}
	old := s.ring
	s.ring = make([]entry, n)
	for _, e := range old {
		if e.ok {
			*s.slot(e.f.Seq) = e
		}
	}
}

// setEnd records the response's frame count, if not known yet.
func (s *stream) setEnd(n uint64) {
	if !s.hasEnd {
		s.end, s.hasEnd = n, true
	}
}

// whole reports whether every remaining frame is buffered.
func (s *stream) whole() bool {
	return s.hasEnd && uint64(s.buffered) == s.end-s.cursor
}

// played returns how much of the response has reached the ear at now.
func (s *stream) played(now time.Duration) time.Duration {
	if !s.playing {
		return s.pos
	}
	return s.pos + min(now-s.slotStart, s.slotLen)
}

// bufferedAudio returns the length of the frames in the buffer.
func (s *stream) bufferedAudio() time.Duration {
	var d time.Duration
	for i := range s.ring {
		if s.ring[i].ok {
			d += s.ring[i].f.Duration()
		}
	}
	return d
}
