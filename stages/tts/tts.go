// Package tts models speech synthesis: tts.streaming turns the assistant's
// text into real audio — a deterministic speech-like synthesiser
// (audio.Synth) at 24 kHz, sliced into 20 ms frames — emitted on a model of
// a TTS service's time to first byte and generation speed, paced the way
// the server sends it. It also works out what the user heard of an answer
// that was cut off, from the client's playback report.
//
// Frames: consumes AssistantText and ResponseDone (downstream) and
// PlaybackStopped (upstream, to fill in its Text); emits AssistantAudio (Seq
// from 0 across a response, FlagLast on the last) and then the response's
// ResponseDone, with Seq set to the response's frame count so a client can
// tell the end even if the last frame is lost. If ResponseDone arrives after
// the last frame was sent, the FlagLast frame is an empty marker (no
// samples) so the audio is not lengthened. Marks: tts.request, tts.first_audio,
// tts.done, response.heard. Counters: tts.chars, tts.audio_ms.
package tts

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
)

// Register adds tts.streaming.
func Register(r *pipeline.Registry) {
	pipeline.Register(r, "tts.streaming",
		"speech synthesis with time to first byte, generation speed and realtime/asap pacing; real synthesised audio",
		Defaults, New)
}

// TTS is one session's synthesiser.
type TTS struct {
	cfg   Config
	synth *audio.Synth
	ctx   *pipeline.Context

	emitFn func(pipeline.Frame)
	timer  pipeline.Timer

	// queue holds synthesised sentences waiting to be sent, in order;
	// queue[head] is being sent.
	queue []sentence
	head  int
	resps []*response
	// records keep each response's sentences after it is sent or cut off,
	// until the client reports what it played.
	records []*record

	frameGen time.Duration // generation time of one frame: 20 ms / speed
	genEnd   time.Duration // when the service finishes what it was given
	lastSend time.Duration
	sent     bool
}

// sentence is one synthesised piece of text and its send schedule.
type sentence struct {
	r       pipeline.ResponseID
	samples []int16
	tail    []int16 // zero-padded copy of a partial last frame, or nil
	n       int     // frames
	avail0  time.Duration
	step    time.Duration // generation time per frame; 0: all at avail0
	next    int           // next frame to send
}

func (s *sentence) frame(k int) []int16 {
	if k == s.n-1 && s.tail != nil {
		return s.tail
	}
	i := k * pipeline.FrameSamples
	j := i + pipeline.FrameSamples
	return s.samples[i:j:j]
}

// availableAt returns when frame k has been generated.
func (s *sentence) availableAt(k int) time.Duration {
	return s.avail0 + time.Duration(k)*s.step
}

// response is the state of one response being synthesised.
type response struct {
	id        pipeline.ResponseID
	seq       uint64 // next frame's Seq
	requested bool
	done      bool // ResponseDone arrived
	doneFrame pipeline.Frame
	queued    int        // sentences in the send queue
	held      []sentence // non-streaming: text waiting for the whole answer
}

// New builds a TTS from a validated config.
func New(c *Config) pipeline.Stage {
	t := &TTS{cfg: *c}
	t.synth = c.synth
	if t.synth == nil { // built without Prepare (tests): no shared cache
		t.synth, _ = audio.NewSynth(c.Voice.synthConfig()) // validated
	}
	t.frameGen = time.Duration(math.Round(float64(pipeline.FrameDuration) / c.Speed))
	return t
}

// Start binds the emission callback.
func (t *TTS) Start(ctx *pipeline.Context) {
	t.ctx = ctx
	t.emitFn = t.emit
	if t.synth == nil {
		ctx.Fail(&pipeline.FieldError{Field: "voice", Reason: "invalid synthesiser settings"})
	}
}

// Handle reacts to text, the end of a response, playback reports and
// cancellations; everything else passes through.
func (t *TTS) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	switch {
	case f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel:
		t.cancel(f.Response)
	case t.synth == nil:
		ctx.Forward(f, dir)
	case f.Kind == pipeline.AssistantText && dir == pipeline.Downstream:
		t.text(f)
	case f.Kind == pipeline.ResponseDone && dir == pipeline.Downstream:
		t.done(f)
	case f.Kind == pipeline.PlaybackStopped && dir == pipeline.Upstream:
		t.stopped(f)
	default:
		ctx.Forward(f, dir)
	}
}

func (t *TTS) text(f pipeline.Frame) {
	rs := t.response(f.Response)
	text := strings.TrimSpace(f.Text)
	if text == "" {
		return
	}
	clip := t.synth.Speak(text)
	sn := newSentence(f.Response, clip.Samples)
	t.record(f.Response).add(text, time.Duration(sn.n)*pipeline.FrameDuration, clip.Duration())
	t.ctx.Count("tts.chars", int64(utf8.RuneCountInString(text)))
	t.ctx.Count("tts.audio_ms", clip.Duration().Milliseconds())
	if !t.cfg.Streaming {
		rs.held = append(rs.held, sn)
		return
	}
	if !rs.requested {
		rs.requested = true
		t.ctx.MarkFor(pipeline.MarkTTSRequest, f.Response)
	}
	if sn.n == 0 {
		return
	}
	sn.avail0 = max(t.ctx.Now(), t.genEnd) + t.cfg.TTFB.Sample(t.ctx.Rand())
	sn.step = t.frameGen
	t.genEnd = sn.availableAt(sn.n - 1)
	t.enqueue(rs, sn)
}

func newSentence(r pipeline.ResponseID, samples []int16) sentence {
	n := audio.Frames(len(samples))
	sn := sentence{r: r, samples: samples, n: n}
	if rem := len(samples) % pipeline.FrameSamples; rem != 0 {
		sn.tail = make([]int16, pipeline.FrameSamples)
		copy(sn.tail, samples[len(samples)-rem:])
	}
	return sn
}

func (t *TTS) done(f pipeline.Frame) {
	rs := t.find(f.Response)
	if rs == nil {
		t.ctx.Forward(f, pipeline.Downstream) // nothing was synthesised
		return
	}
	rs.done, rs.doneFrame = true, f
	if len(rs.held) > 0 {
		// Non-streaming: one request for the whole answer, first byte after
		// the overhead plus the time to generate all of it.
		rs.requested = true
		t.ctx.MarkFor(pipeline.MarkTTSRequest, f.Response)
		frames := 0
		for _, h := range rs.held {
			frames += h.n
		}
		avail := max(t.ctx.Now(), t.genEnd) + t.cfg.TTFB.Sample(t.ctx.Rand()) + time.Duration(frames)*t.frameGen
		t.genEnd = avail
		held := rs.held
		rs.held = nil
		for _, h := range held {
			if h.n > 0 {
				h.avail0 = avail
				t.enqueue(rs, h)
			}
		}
	}
	if rs.queued == 0 {
		t.finish(rs, true)
	}
}

func (t *TTS) enqueue(rs *response, sn sentence) {
	if t.head == len(t.queue) {
		t.queue, t.head = t.queue[:0], 0
	}
	t.queue = append(t.queue, sn)
	rs.queued++
	t.kick()
}

// kick schedules the next frame's send, if none is scheduled.
func (t *TTS) kick() {
	if t.timer.Active() || t.head == len(t.queue) {
		return
	}
	sn := &t.queue[t.head]
	at := sn.availableAt(sn.next)
	if t.cfg.Pace == PaceRealtime && t.sent {
		at = max(at, t.lastSend+pipeline.FrameDuration)
	}
	t.timer = t.ctx.AfterFrame(at-t.ctx.Now(), pipeline.Frame{Kind: pipeline.AssistantAudio, Response: sn.r}, t.emitFn)
}

// emit sends the next frame of the head sentence.
func (t *TTS) emit(pipeline.Frame) {
	t.timer = pipeline.Timer{}
	if t.head == len(t.queue) {
		return
	}
	sn := &t.queue[t.head]
	rs := t.find(sn.r)
	if rs == nil { // cancelled; the queue entry is stale
		t.pop()
		t.kick()
		return
	}
	now := t.ctx.Now()
	f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: sn.r, Seq: rs.seq, At: now, Audio: sn.frame(sn.next)}
	sn.next++
	rs.seq++
	if sn.next == sn.n {
		t.pop()
		rs.queued--
	}
	last := rs.done && rs.queued == 0
	if last {
		f.Flags |= pipeline.FlagLast
	}
	if f.Seq == 0 {
		t.ctx.MarkFor(pipeline.MarkTTSFirstAudio, f.Response)
	}
	t.ctx.Push(f)
	t.lastSend, t.sent = now, true
	if last {
		t.finish(rs, false)
	}
	t.kick()
}

func (t *TTS) pop() {
	t.queue[t.head] = sentence{}
	t.head++
}

// finish ends a response: an empty FlagLast marker if its last frame went
// out unflagged, then tts.done and the ResponseDone.
func (t *TTS) finish(rs *response, marker bool) {
	now := t.ctx.Now()
	if marker && rs.seq > 0 {
		t.ctx.Push(pipeline.Frame{Kind: pipeline.AssistantAudio, Flags: pipeline.FlagLast, Response: rs.id, Seq: rs.seq, At: now})
		rs.seq++
	}
	if rs.seq > 0 {
		t.ctx.MarkFor(pipeline.MarkTTSDone, rs.id)
	}
	f := rs.doneFrame
	f.Seq, f.At = rs.seq, now
	t.ctx.Push(f)
	t.forget(rs.id)
}

// cancel drops everything not yet sent for responses up to r; the engine
// has already stopped this stage's timers for them. What was synthesised is
// kept in the records, for the heard text.
func (t *TTS) cancel(r pipeline.ResponseID) {
	kept := t.queue[:0]
	for _, sn := range t.queue[t.head:] {
		if sn.r > r {
			kept = append(kept, sn)
		}
	}
	clear(t.queue[len(kept):])
	t.queue, t.head = kept, 0
	live := t.resps[:0]
	for _, rs := range t.resps {
		if rs.id > r {
			live = append(live, rs)
		}
	}
	clear(t.resps[len(live):])
	t.resps = live
	if len(t.queue) == 0 {
		// The service stops generating the cancelled text.
		t.genEnd = min(t.genEnd, t.ctx.Now())
	}
	t.kick()
}

func (t *TTS) response(id pipeline.ResponseID) *response {
	if rs := t.find(id); rs != nil {
		return rs
	}
	rs := &response{id: id}
	t.resps = append(t.resps, rs)
	return rs
}

func (t *TTS) find(id pipeline.ResponseID) *response {
	for _, rs := range t.resps {
		if rs.id == id {
			return rs
		}
	}
	return nil
}

func (t *TTS) forget(id pipeline.ResponseID) {
	for i, rs := range t.resps {
		if rs.id == id {
			t.resps = append(t.resps[:i], t.resps[i+1:]...)
			return
		}
	}
}

var (
	_ pipeline.Stage   = (*TTS)(nil)
	_ pipeline.Starter = (*TTS)(nil)
)
