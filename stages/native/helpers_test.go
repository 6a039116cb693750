package native

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
)

// user speaks the simulated user's lines (the synthesiser's default 120 Hz
// voice), synthesising each line once per test.
type user struct {
	synth *audio.Synth
	lines map[string][]int16
}

func newUser(t testing.TB) *user {
	t.Helper()
	s, err := audio.NewSynth(audio.SynthConfig{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return &user{synth: s, lines: map[string][]int16{}}
}

// say returns the clip for text; clips are never modified, so runs share
// them.
func (u *user) say(text string) []int16 {
	c, ok := u.lines[text]
	if !ok {
		c = u.synth.Speak(text).Samples
		u.lines[text] = c
	}
	return c
}

// utterance is one user sound placed on the microphone tape.
type utterance struct {
	at   time.Duration // where the clip starts on the tape
	clip []int16
	text string
	// backchannel marks it with user.backchannel_* truth instead of a turn.
	backchannel bool
	bargeIn     bool
}

// truth is where an utterance's speech really is on the tape.
type truth struct{ start, end time.Duration }

// mic streams a tape — silence with utterances on it — as a continuous
// microphone: one 20 ms frame every 20 ms, sent when its last sample is
// captured, flagged where the true speech boundaries fall, carrying the
// utterance's transcript on those frames (backchannels: see below). Truth comes from the offline
// reference (audio.SpeechSpan) on each clean clip.
type mic struct {
	s      *pipeline.Session
	tape   []int16
	truths []truth
	feed   func(pipeline.Frame)
}

func newMic(t testing.TB, s *pipeline.Session, length time.Duration, utts ...utterance) *mic {
	t.Helper()
	m := &mic{s: s, tape: make([]int16, audio.Frames(audio.DurationToSamples(length, pipeline.SampleRate))*pipeline.FrameSamples)}
	m.feed = s.Input
	turn := 0
	for _, u := range utts {
		off := audio.DurationToSamples(u.at, pipeline.SampleRate)
		if off+len(u.clip) > len(m.tape) {
			t.Fatalf("utterance %q at %v runs past the tape (%v)", u.text, u.at, length)
		}
		copy(m.tape[off:], u.clip)
		span, ok := audio.SpeechSpan(audio.Clip{Samples: u.clip, Rate: pipeline.SampleRate})
		if !ok {
			t.Fatalf("utterance %q has no speech", u.text)
		}
		tr := truth{start: u.at + span.Start, end: u.at + span.End}
		m.truths = append(m.truths, tr)
		startName, endName, k := pipeline.MarkUserSpeechStart, pipeline.MarkUserSpeechEnd, turn
		if u.backchannel {
			startName, endName, k = pipeline.MarkUserBackchannel, pipeline.MarkUserBackchannelDone, -1
		} else {
			turn++
		}
		v := 0.0
		if u.bargeIn {
			v = 1
		}
		s.Timeline().Add(pipeline.Mark{Name: startName, At: tr.start, Turn: k, Value: v})
		s.Timeline().Add(pipeline.Mark{Name: endName, At: tr.end, Turn: k})
	}
	for i := 0; i+pipeline.FrameSamples <= len(m.tape); i += pipeline.FrameSamples {
		t0 := audio.SamplesToDuration(i, pipeline.SampleRate)
		t1 := t0 + pipeline.FrameDuration
		f := pipeline.Frame{Kind: pipeline.UserAudio, Seq: uint64(i / pipeline.FrameSamples), At: t0,
			Audio: m.tape[i : i+pipeline.FrameSamples : i+pipeline.FrameSamples]}
		for j, tr := range m.truths {
			if utts[j].backchannel {
				// Like pipeline.Mic, no speech flags for a backchannel; its
				// transcript rides on its onset frame (the convention
				// native.duplex asks of the Mic).
				if tr.start >= t0 && tr.start < t1 {
					f.Text = utts[j].text
				}
				continue
			}
			if tr.start >= t0 && tr.start < t1 {
				f.Flags |= pipeline.FlagSpeechStart
				f.Text = utts[j].text
			}
			if tr.end > t0 && tr.end <= t1 {
				f.Flags |= pipeline.FlagSpeechEnd
				f.Text = utts[j].text
			}
		}
		s.AfterFrame(t1-s.Now(), f, m.feed)
	}
	return m
}

// markServerSpeechStart is the test's own mark: the frame holding a true
// speech onset reached the server.
const markServerSpeechStart = "test.server_speech_start"

// wire is a constant-delay network leg (a transport): it stamps
// server.speech_end when it delivers a frame holding a true speech end.
type wire struct {
	delay time.Duration
	ctx   *pipeline.Context
	down  func(pipeline.Frame)
	up    func(pipeline.Frame)
}

func (w *wire) IsTransport() bool { return true }
func (w *wire) Start(ctx *pipeline.Context) {
	w.ctx, w.down, w.up = ctx, w.deliver, w.deliverUp
}
func (w *wire) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if dir == pipeline.Upstream {
		ctx.AfterFrame(w.delay, f, w.up)
		return
	}
	ctx.AfterFrame(w.delay, f, w.down)
}
func (w *wire) deliver(f pipeline.Frame) {
	if f.Kind == pipeline.UserAudio && f.Flags&pipeline.FlagSpeechEnd != 0 {
		w.ctx.MarkFor(pipeline.MarkServerSpeechEnd, 0)
	}
	if f.Kind == pipeline.UserAudio && f.Flags&pipeline.FlagSpeechStart != 0 {
		w.ctx.MarkFor(markServerSpeechStart, 0)
	}
	w.ctx.Push(f)
}
func (w *wire) deliverUp(f pipeline.Frame) { w.ctx.PushUp(f) }

// silenceTurn is a stand-in for VAD + turn.silence: it ends the turn a
// fixed silence after the frame holding the true speech end, and barges in
// on the live answer when the next utterance starts.
type silenceTurn struct {
	silence time.Duration
	ctx     *pipeline.Context
	live    pipeline.ResponseID
	endFn   func()
}

func (st *silenceTurn) Start(ctx *pipeline.Context) { st.ctx, st.endFn = ctx, st.endTurn }
func (st *silenceTurn) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel {
		return
	}
	if dir == pipeline.Downstream && f.Kind == pipeline.UserAudio {
		if f.Flags&pipeline.FlagSpeechStart != 0 && st.live != 0 {
			ctx.Interrupt(st.live)
			st.live = 0
		}
		if f.Flags&pipeline.FlagSpeechEnd != 0 {
			ctx.After(st.silence, st.endFn)
		}
	}
	ctx.Forward(f, dir)
}
func (st *silenceTurn) endTurn() {
	r := st.ctx.NewResponse()
	st.ctx.Mark(pipeline.MarkTurnEnd)
	st.live = r
	st.ctx.Push(pipeline.Frame{Kind: pipeline.TurnEnded, Response: r, At: st.ctx.Now()})
}

// player is the client: it plays assistant audio from arrival, in real
// time, and on an interruption reports what it played upstream.
type player struct {
	ctx     *pipeline.Context
	first   map[pipeline.ResponseID]time.Duration
	frames  map[pipeline.ResponseID]int
	stopped map[pipeline.ResponseID]float64
}

func (p *player) Start(ctx *pipeline.Context) {
	p.ctx = ctx
	p.first = map[pipeline.ResponseID]time.Duration{}
	p.frames = map[pipeline.ResponseID]int{}
	p.stopped = map[pipeline.ResponseID]float64{}
}
func (p *player) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if dir == pipeline.Upstream {
		ctx.Forward(f, dir) // a playback report injected at the client
		return
	}
	switch f.Kind {
	case pipeline.AssistantAudio:
		if _, ok := p.first[f.Response]; !ok {
			p.first[f.Response] = ctx.Now()
			ctx.MarkFor(pipeline.MarkClientFirstAudio, f.Response)
			ctx.MarkFor(pipeline.MarkClientFirstPlayed, f.Response)
		}
		p.frames[f.Response]++
	case pipeline.Interruption:
		first, ok := p.first[f.Response]
		if !ok {
			return
		}
		played := min(ctx.Now()-first, time.Duration(p.frames[f.Response])*pipeline.FrameDuration)
		ms := float64(played) / float64(time.Millisecond)
		p.stopped[f.Response] = ms
		ctx.MarkAt(pipeline.MarkClientPlayedEnd, ctx.Now(), f.Response, ms)
		ctx.PushUp(pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: f.Response, At: ctx.Now(), Value: ms})
	}
}

// emitted is one frame a stage pushed, with the time it did.
type emitted struct {
	at  time.Duration
	f   pipeline.Frame
	dir pipeline.Direction
}

// recorder collects what one stage pushes.
type recorder struct {
	stage string
	s     *pipeline.Session
	out   []emitted
}

func (r *recorder) observe(stage string, f pipeline.Frame, dir pipeline.Direction) {
	if stage == r.stage {
		r.out = append(r.out, emitted{at: r.s.Now(), f: f, dir: dir})
	}
}

// audioOf returns response id's audio frames in push order.
func (r *recorder) audioOf(id pipeline.ResponseID) []emitted {
	var out []emitted
	for _, e := range r.out {
		if e.f.Kind == pipeline.AssistantAudio && e.f.Response == id {
			out = append(out, e)
		}
	}
	return out
}

func firstMark(t testing.TB, tl *pipeline.Timeline, name string, r pipeline.ResponseID) time.Duration {
	t.Helper()
	m, ok := tl.First(name, r)
	if !ok {
		t.Fatalf("no %s mark for response %d", name, r)
	}
	return m.At
}

func runVirtual(s *pipeline.Session) {
	s.Clock().(*pipeline.VirtualClock).Run()
}
