package pipeline

import (
	"fmt"
	"math"
	"time"
)

// Trigger says when an utterance of a Mic script begins.
type Trigger uint8

const (
	// AtTime: Offset after the session starts.
	AtTime Trigger = iota
	// AfterUser: Offset after the previous utterance's audio ends.
	AfterUser
	// AfterAssistant: Offset after the assistant's answer stops playing
	// at the client (or after Wait, if no answer comes).
	AfterAssistant
	// IntoAssistant: Offset after the assistant's answer starts playing —
	// a barge-in or a backchannel (or after Wait, if none starts).
	IntoAssistant
)

// Utterance is one thing the scripted user says.
type Utterance struct {
	// Audio is the clean utterance, PCM16 mono 24 kHz.
	Audio []int16
	// Speech lists the true speech spans within Audio (measured once on the
	// clean clip by an offline reference, not by the VAD under test). Gaps
	// between spans are mid-utterance pauses. Empty means all of Audio.
	Speech [][2]time.Duration
	// Text is the true transcript; Reply the scripted answer to it.
	Text  string
	Reply string
	// Trigger and Offset place the utterance; Wait bounds how long a
	// trigger on the assistant waits (default 15 s).
	Trigger Trigger
	Offset  time.Duration
	Wait    time.Duration
	// Backchannel marks a short acknowledgement ("uh-huh") that is not a
	// turn and should not stop the assistant.
	Backchannel bool
	// BargeIn marks a turn meant to interrupt the assistant.
	BargeIn bool
}

// Mic is the scripted user at the client. It streams a continuous
// microphone into a session — 20 ms frames of background noise (or digital
// silence) with utterances mixed in where their triggers place them — and
// stamps the ground truth of every utterance on the timeline. Triggers can
// react to the assistant (speak after its answer, or over it), so a script
// behaves like a user, not like a tape.
//
// Wire Mic.Output as the session's Options.Output and Mic.Replies as its
// Options.Replies, then call Start.
type Mic struct {
	Utterances []Utterance
	// Noise is looped under everything; nil means digital silence.
	Noise []int16
	// Tail is how long the mic keeps streaming after the script is done and
	// the assistant has gone quiet (default 1 s).
	Tail time.Duration
	// MaxLength stops the mic regardless (default: 10 min).
	MaxLength time.Duration

	s       *Session
	pool    *FramePool // storage for frames holding sound
	silence []int16    // the one frame of digital silence, shared, never written
	noise   []int16    // Noise looped to a whole number of frames
	pos     int        // samples captured = start of the next frame
	next    int        // index of the next utterance to place
	active  []placed
	turns   int
	tick    func()
	playing bool
	stopped time.Duration // time the assistant last stopped playing
	started time.Duration // time the assistant last started playing
	waiting bool          // next utterance waits on the assistant
	waitT   Timer
	lastEnd int // sample index where the last placed utterance ends
	seq     uint64
}

type placed struct {
	u          *Utterance
	start      int // sample index in the track
	end        int
	speechFrom int // true speech start sample
	speechTo   int // true speech end sample
	turn       int
}

// Replies returns the scripted answer to a transcript, for Options.Replies.
func (m *Mic) Replies(transcript string) (string, bool) {
	for i := range m.Utterances {
		u := &m.Utterances[i]
		if u.Reply != "" && u.Text == transcript {
			return u.Reply, true
		}
	}
	return "", false
}

// Output watches frames leaving the chain for the assistant's playback at
// the client, for Options.Output.
func (m *Mic) Output(f Frame, dir Direction) {
	if m.s == nil || dir != Downstream {
		return
	}
	switch f.Kind {
	case PlaybackStarted:
		m.playing = true
		m.started = m.s.Now()
		if m.waiting && m.next < len(m.Utterances) && m.Utterances[m.next].Trigger == IntoAssistant {
			m.placeNext(m.s.Now() + m.Utterances[m.next].Offset)
		}
	case PlaybackStopped:
		m.playing = false
		m.stopped = m.s.Now()
		if m.waiting && m.next < len(m.Utterances) && m.Utterances[m.next].Trigger == AfterAssistant {
			m.placeNext(m.s.Now() + m.Utterances[m.next].Offset)
		}
	}
}

// Validate checks the script.
func (m *Mic) Validate() error {
	for i, u := range m.Utterances {
		if len(u.Audio) == 0 {
			return fmt.Errorf("utterance %d: no audio", i)
		}
		clip := SamplesDuration(len(u.Audio))
		for j, sp := range u.Speech {
			if sp[0] < 0 || sp[1] <= sp[0] || sp[1] > clip {
				return fmt.Errorf("utterance %d: speech span %d [%v, %v] is not inside the %v clip", i, j, sp[0], sp[1], clip)
			}
			if j > 0 && sp[0] < u.Speech[j-1][1] {
				return fmt.Errorf("utterance %d: speech spans overlap or are out of order at %d", i, j)
			}
		}
		if u.Offset < 0 {
			return fmt.Errorf("utterance %d: negative offset %v", i, u.Offset)
		}
	}
	return nil
}

// Start attaches the mic to s and begins streaming.
func (m *Mic) Start(s *Session) error {
	if err := m.Validate(); err != nil {
		return err
	}
	m.s = s
	if m.Tail == 0 {
		m.Tail = time.Second
	}
	if m.MaxLength == 0 {
		m.MaxLength = 10 * time.Minute
	}
	m.tick = m.capture
	m.pool = NewFramePool(s)
	m.silence = make([]int16, FrameSamples)[:FrameSamples:FrameSamples]
	if n := len(m.Noise); n > 0 {
		// Loop a whole number of frames, so every frame of noise is one
		// contiguous slice: drop the last partial frame, or repeat a clip
		// shorter than a frame until it fills one.
		if n >= FrameSamples {
			m.noise = m.Noise[: n-n%FrameSamples : n-n%FrameSamples]
		} else {
			for len(m.noise) < FrameSamples {
				m.noise = append(m.noise, m.Noise...)
			}
			m.noise = m.noise[:FrameSamples:FrameSamples]
		}
	}
	m.arm()
	s.AfterFunc(FrameDuration, m.tick)
	return nil
}

// overlaps reports whether any placed utterance sounds in [from, to).
func (m *Mic) overlaps(from, to int) bool {
	for _, p := range m.active {
		if p.start < to && p.end > from {
			return true
		}
	}
	return false
}

// SamplesDuration converts a sample count at 24 kHz to a duration.
func SamplesDuration(n int) time.Duration {
	return time.Duration(n) * time.Second / SampleRate
}

func samplesAt(d time.Duration) int {
	return int(math.Round(d.Seconds() * SampleRate))
}

// arm schedules the next utterance once its trigger is known.
func (m *Mic) arm() {
	if m.next >= len(m.Utterances) {
		return
	}
	u := &m.Utterances[m.next]
	now := m.s.Now()
	prevEnd := time.Duration(0)
	if n := len(m.active); n > 0 {
		prevEnd = SamplesDuration(m.active[n-1].end)
	}
	switch u.Trigger {
	case AtTime:
		m.placeNext(u.Offset)
	case AfterUser:
		m.placeNext(prevEnd + u.Offset)
	case AfterAssistant, IntoAssistant:
		m.waiting = true
		wait := u.Wait
		if wait == 0 {
			wait = 15 * time.Second
		}
		// Wait counts from when the previous utterance ends.
		m.waitT = m.s.AfterFunc(max(prevEnd, now)+wait-now, m.giveUp)
	}
}

func (m *Mic) giveUp() {
	if m.waiting {
		m.placeNext(m.s.Now())
	}
}

// placeNext places the next utterance at time at (or at the next sample not
// yet captured, if at has passed) and stamps its ground truth.
func (m *Mic) placeNext(at time.Duration) {
	m.waiting = false
	m.waitT.Stop()
	u := &m.Utterances[m.next]
	start := max(samplesAt(at), m.pos)
	if n := len(m.active); n > 0 {
		start = max(start, m.active[n-1].end) // one voice at a time
	}
	p := placed{u: u, start: start, end: start + len(u.Audio), turn: -1}
	spans := u.Speech
	if len(spans) == 0 {
		spans = [][2]time.Duration{{0, SamplesDuration(len(u.Audio))}}
	}
	p.speechFrom = start + samplesAt(spans[0][0])
	p.speechTo = start + samplesAt(spans[len(spans)-1][1])
	tl := &m.s.timeline
	at0 := SamplesDuration(p.speechFrom)
	at1 := SamplesDuration(p.speechTo)
	if u.Backchannel {
		tl.add(Mark{Name: MarkUserBackchannel, At: at0, Turn: -1, Text: u.Text})
		tl.add(Mark{Name: MarkUserBackchannelDone, At: at1, Turn: -1})
	} else {
		p.turn = m.turns
		m.turns++
		v := 0.0
		if u.BargeIn {
			v = 1
		}
		tl.add(Mark{Name: MarkUserSpeechStart, At: at0, Turn: p.turn, Value: v, Text: u.Text})
		for j := 1; j < len(spans); j++ {
			tl.add(Mark{Name: MarkUserPauseStart, At: SamplesDuration(start + samplesAt(spans[j-1][1])), Turn: p.turn})
			tl.add(Mark{Name: MarkUserPauseEnd, At: SamplesDuration(start + samplesAt(spans[j][0])), Turn: p.turn})
		}
		tl.add(Mark{Name: MarkUserSpeechEnd, At: at1, Turn: p.turn, Text: u.Text})
	}
	m.active = append(m.active, p)
	m.s.counters["user.audio_ms"] += int64(len(u.Audio) * 1000 / SampleRate)
	m.lastEnd = p.end
	m.next++
	m.arm()
}

// capture emits the frame whose capture just completed.
func (m *Mic) capture() {
	from := m.pos
	to := from + FrameSamples
	buf := m.silence
	if len(m.noise) > 0 {
		// The loop is frame-aligned, so a frame of noise is a slice of it.
		k := from % len(m.noise)
		buf = m.noise[k : k+FrameSamples : k+FrameSamples]
	}
	if m.overlaps(from, to) {
		quiet := buf
		buf = m.pool.Get()
		copy(buf, quiet)
	}
	f := Frame{Kind: UserAudio, At: SamplesDuration(from), Seq: m.seq, Audio: buf}
	m.seq++
	for i := range m.active {
		p := &m.active[i]
		if p.end <= from || p.start >= to {
			continue
		}
		lo, hi := max(p.start, from), min(p.end, to)
		if len(m.noise) == 0 {
			copy(buf[lo-from:hi-from], p.u.Audio[lo-p.start:hi-p.start])
		} else {
			for k := lo; k < hi; k++ {
				v := int32(buf[k-from]) + int32(p.u.Audio[k-p.start])
				buf[k-from] = int16(max(min(v, math.MaxInt16), math.MinInt16))
			}
		}
		if p.turn < 0 && p.speechFrom >= from && p.speechFrom < to {
			// A backchannel carries its words but no turn flags: a model that
			// hears words (a full-duplex speech model) may tell "uh-huh" from
			// a barge-in by them; no turn detector or STT acts on it.
			f.Text = p.u.Text
		}
		if p.turn >= 0 {
			if p.speechFrom >= from && p.speechFrom < to {
				f.Flags |= FlagSpeechStart
				f.Text = p.u.Text
			}
			if p.speechTo > from && p.speechTo <= to {
				f.Flags |= FlagSpeechEnd
				f.Text = p.u.Text
			}
		}
	}
	m.pos = to
	// Forget utterances that are fully captured.
	kept := m.active[:0]
	for _, p := range m.active {
		if p.end > to || len(m.active) == 1 {
			kept = append(kept, p)
		}
	}
	m.active = kept
	m.s.Input(f)
	if m.more() {
		m.s.AfterFunc(FrameDuration, m.tick)
	}
}

// more reports whether the mic should keep streaming: while the script has
// utterances left, while the assistant is answering (or an answer to the
// last utterance may still come, up to 15 s), and for Tail after that.
func (m *Mic) more() bool {
	now := m.s.Now()
	if now >= m.MaxLength {
		return false
	}
	if m.next < len(m.Utterances) || m.lastEnd > m.pos || m.playing {
		return true
	}
	lastEnd := SamplesDuration(m.lastEnd)
	if m.stopped <= lastEnd && now < lastEnd+15*time.Second {
		return true
	}
	return now < max(m.stopped, lastEnd)+m.Tail
}
