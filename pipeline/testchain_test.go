package pipeline_test

import (
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// The stages below are minimal models of a cascade, enough to exercise the
// engine: each waits a sampled latency, stamps its mark and pushes on.

// wire delays every frame by lat, like a network leg.
type wire struct {
	lat  pipeline.Latency
	mark string // stamped when the frame carrying the true speech end arrives
	ctx  *pipeline.Context
	fwd  func(pipeline.Frame)
	up   func(pipeline.Frame)
}

func (w *wire) IsTransport() bool { return true }
func (w *wire) Start(ctx *pipeline.Context) {
	w.ctx = ctx
	w.fwd = w.deliver
	w.up = w.deliverUp
}
func (w *wire) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	d := w.lat.Sample(ctx.Rand())
	if dir == pipeline.Upstream {
		ctx.AfterFrame(d, f, w.up)
		return
	}
	ctx.AfterFrame(d, f, w.fwd)
}
func (w *wire) deliver(f pipeline.Frame) {
	if w.mark != "" && f.Flags&pipeline.FlagSpeechEnd != 0 {
		w.ctx.MarkFor(w.mark, 0)
	}
	if f.Kind == pipeline.AssistantAudio && f.Seq == 0 {
		w.ctx.MarkFor(pipeline.MarkClientFirstAudio, f.Response)
	}
	w.ctx.Push(f)
}
func (w *wire) deliverUp(f pipeline.Frame) { w.ctx.PushUp(f) }

// endpointer ends the turn a fixed silence after the frame holding the true
// end of speech (a stand-in for VAD + endpointing).
type endpointer struct {
	lat pipeline.Latency
	ctx *pipeline.Context
}

func (e *endpointer) Start(ctx *pipeline.Context) { e.ctx = ctx }
func (e *endpointer) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if f.Kind == pipeline.UserAudio && f.Flags&pipeline.FlagSpeechEnd != 0 {
		ctx.After(e.lat.Sample(ctx.Rand()), e.endTurn)
	}
	if f.Kind == pipeline.UserAudio && f.Flags&pipeline.FlagSpeechStart != 0 && f.Value > 0 {
		// A scripted barge-in: interrupt whatever response is live.
		ctx.Interrupt(pipeline.ResponseID(f.Value))
	}
}
func (e *endpointer) endTurn() {
	r := e.ctx.NewResponse()
	e.ctx.Mark(pipeline.MarkTurnEnd)
	e.ctx.Push(pipeline.Frame{Kind: pipeline.TurnEnded, Response: r, At: e.ctx.Now()})
}

// step reacts to one kind by waiting lat, stamping mark and pushing out.
type step struct {
	on, out  pipeline.Kind
	lat      pipeline.Latency
	startMrk string
	mark     string
	ctx      *pipeline.Context
	pending  pipeline.Frame
}

func (s *step) Start(ctx *pipeline.Context) { s.ctx = ctx }
func (s *step) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if f.Kind != s.on || dir != pipeline.Downstream {
		if f.Kind != pipeline.Interruption && f.Kind != pipeline.Cancel {
			ctx.Forward(f, dir)
		}
		if f.Kind == s.on {
			return
		}
		return
	}
	if s.startMrk != "" {
		ctx.Mark(s.startMrk)
	}
	s.pending = pipeline.Frame{Kind: s.out, Response: f.Response}
	ctx.After(s.lat.Sample(ctx.Rand()), s.fire)
}
func (s *step) fire() {
	s.ctx.Mark(s.mark)
	f := s.pending
	f.At = s.ctx.Now()
	s.ctx.Push(f)
}

// speaker turns a text frame into n audio frames, one every 20 ms after a
// first-byte latency. It deliberately does not cancel anything on an
// interruption: the engine must.
type speaker struct {
	ttfb pipeline.Latency
	n    int
	ctx  *pipeline.Context
	resp pipeline.ResponseID
	seq  uint64
	emit func()
	buf  []int16
}

func (s *speaker) Start(ctx *pipeline.Context) {
	s.ctx = ctx
	s.emit = s.next
	s.buf = make([]int16, pipeline.FrameSamples)
}
func (s *speaker) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if f.Kind != pipeline.AssistantText {
		if f.Kind != pipeline.Interruption && f.Kind != pipeline.Cancel {
			ctx.Forward(f, dir)
		}
		return
	}
	s.resp, s.seq = f.Response, 0
	ctx.Mark(pipeline.MarkTTSRequest)
	ctx.After(s.ttfb.Sample(ctx.Rand()), s.emit)
}
func (s *speaker) next() {
	if s.seq == 0 {
		s.ctx.Mark(pipeline.MarkTTSFirstAudio)
	}
	f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: s.resp, Seq: s.seq, At: s.ctx.Now(), Audio: s.buf}
	s.seq++
	if int(s.seq) == s.n {
		f.Flags |= pipeline.FlagLast
	}
	s.ctx.Push(f)
	if int(s.seq) < s.n {
		s.ctx.After(pipeline.FrameDuration, s.emit)
	}
}

// player plays arriving audio after a fixed buffering delay and records
// what it played.
type player struct {
	buffer  time.Duration
	ctx     *pipeline.Context
	played  map[pipeline.ResponseID]int
	lastEnd map[pipeline.ResponseID]time.Duration
	playFn  func(pipeline.Frame)
}

func (p *player) Start(ctx *pipeline.Context) {
	p.ctx = ctx
	p.played = map[pipeline.ResponseID]int{}
	p.lastEnd = map[pipeline.ResponseID]time.Duration{}
	p.playFn = p.play
}
func (p *player) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	switch f.Kind {
	case pipeline.AssistantAudio:
		ctx.AfterFrame(p.buffer, f, p.playFn)
	case pipeline.Interruption:
		ctx.MarkAt(pipeline.MarkClientPlayedEnd, ctx.Now(), f.Response, float64(p.played[f.Response]*20))
	}
}
func (p *player) play(f pipeline.Frame) {
	if p.played[f.Response] == 0 {
		p.ctx.Mark(pipeline.MarkClientFirstPlayed)
	}
	p.played[f.Response]++
	p.lastEnd[f.Response] = p.ctx.Now() + f.Duration()
	if f.Flags&pipeline.FlagLast != 0 {
		p.ctx.MarkAt(pipeline.MarkClientPlayedEnd, p.ctx.Now()+f.Duration(), f.Response, float64(p.played[f.Response]*20))
	}
}

type chainLatencies struct {
	up, endpoint, stt, llm, agg, ttfb, down pipeline.Latency
	buffer                                  time.Duration
	frames                                  int
}

func constChain() chainLatencies {
	c := pipeline.Const
	return chainLatencies{
		up: c(37 * time.Millisecond), endpoint: c(500 * time.Millisecond), stt: c(213 * time.Millisecond),
		llm: c(351 * time.Millisecond), agg: c(97 * time.Millisecond), ttfb: c(83 * time.Millisecond),
		down: c(41 * time.Millisecond), buffer: 60 * time.Millisecond, frames: 50,
	}
}

func buildChain(l chainLatencies) []pipeline.Named {
	return []pipeline.Named{
		{Name: "uplink", Stage: &wire{lat: l.up, mark: pipeline.MarkServerSpeechEnd}},
		{Name: "endpoint", Stage: &endpointer{lat: l.endpoint}},
		{Name: "stt", Stage: &step{on: pipeline.TurnEnded, out: pipeline.TranscriptFinal, lat: l.stt, mark: pipeline.MarkSTTFinal}},
		{Name: "llm", Stage: &step{on: pipeline.TranscriptFinal, out: pipeline.LLMToken, lat: l.llm, startMrk: pipeline.MarkLLMRequest, mark: pipeline.MarkLLMFirstToken}},
		{Name: "agg", Stage: &step{on: pipeline.LLMToken, out: pipeline.AssistantText, lat: l.agg, mark: "agg.out"}},
		{Name: "tts", Stage: &speaker{ttfb: l.ttfb, n: l.frames}},
		{Name: "downlink", Stage: &wire{lat: l.down}},
		{Name: "player", Stage: &player{buffer: l.buffer}},
	}
}

// script feeds an utterance of speech frames: true speech from start to
// end, in 20 ms frames, flagging the frames that hold the truth.
type script struct {
	s     *pipeline.Session
	turn  int
	start time.Duration
	end   time.Duration
	buf   []int16
	feed  func(pipeline.Frame)
	// bargeIn, if set, marks the first frame as a scripted barge-in of that
	// response.
	bargeIn pipeline.ResponseID
}

func (sc *script) schedule() {
	sc.buf = make([]int16, pipeline.FrameSamples)
	sc.feed = sc.input
	sc.s.Timeline().Add(pipeline.Mark{Name: pipeline.MarkUserSpeechStart, At: sc.start, Turn: sc.turn})
	sc.s.Timeline().Add(pipeline.Mark{Name: pipeline.MarkUserSpeechEnd, At: sc.end, Turn: sc.turn})
	for t := sc.start; t < sc.end; t += pipeline.FrameDuration {
		f := pipeline.Frame{Kind: pipeline.UserAudio, At: t, Audio: sc.buf}
		if t == sc.start {
			f.Flags |= pipeline.FlagSpeechStart
			f.Value = float64(sc.bargeIn)
		}
		if t+pipeline.FrameDuration >= sc.end {
			f.Flags |= pipeline.FlagSpeechEnd
		}
		// A frame is sent when its last sample has been captured.
		sc.s.AfterFrame(t+pipeline.FrameDuration-sc.s.Now(), f, sc.feed)
	}
}

func (sc *script) input(f pipeline.Frame) { sc.s.Input(f) }
