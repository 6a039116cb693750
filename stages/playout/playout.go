// Package playout models the client's end: the jitter buffer that holds
// arriving assistant audio, the 20 ms playback clock, and the output device.
//
// playout.jitter plays each response's frames in Seq order at a 20 ms
// cadence, starting Depth after the first frame arrives. All times it
// reports are at the ear, DeviceLatency after a frame leaves the buffer. At
// each slot:
//   - the frame is there (and arrived before its slot left the buffer):
//     it plays, and leaves the chain downstream at that instant, so a
//     real client attached to the output hears what the simulated user
//     hears;
//   - it is missing but a later frame is buffered, or the response's end is
//     known: the slot is concealed (silence flagged FlagConcealed;
//     playout.concealed), and the frame, if it comes, is late
//     (playout.late) and dropped;
//   - the buffer is empty before the end: playback stalls (playout.underruns)
//     and resumes, without skipping, when the next frame arrives — what a
//     streaming client does when the server falls behind or TCP holds the
//     stream, rather than concealing audio that is merely slow.
//
// A response's position therefore always advances 20 ms per slot, played or
// concealed, so the ms played it reports index the response's own audio —
// which is how tts.streaming works out the words heard.
//
// Responses play one after another in ID order. On an Interruption or
// Cancel the buffer is flushed and playback stops at that instant, unless
// flush_on_interrupt is false.
package playout

import (
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Register adds playout.jitter.
func Register(r *pipeline.Registry) {
	pipeline.Register(r, "playout.jitter",
		"client jitter buffer and speaker: buffered playback, concealment, underruns, flush on interruption",
		Defaults, New)
}

// Playout is one session's client playback.
type Playout struct {
	depth, device time.Duration
	flush         bool

	ctx     *pipeline.Context
	tickFn  func()
	timer   pipeline.Timer // the head stream's next slot
	silence []int16

	streams  []*stream // by response ID; streams[0] is the one playing
	free     []*stream
	finished pipeline.ResponseID // newest response played to its end
}

// New builds a playout from a validated config.
func New(c *Config) pipeline.Stage {
	return &Playout{depth: c.Depth.D(), device: c.DeviceLatency.D(), flush: c.FlushOnInterrupt}
}

// Start binds the slot callback and the concealment buffer.
func (p *Playout) Start(ctx *pipeline.Context) {
	p.ctx = ctx
	p.tickFn = p.tick
	p.silence = make([]int16, pipeline.FrameSamples)
}

// Handle buffers assistant audio, learns a response's length from its
// ResponseDone, and stops playback on an interruption.
func (p *Playout) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	switch {
	case f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel:
		p.interrupt(f.Response)
		return
	case f.Kind == pipeline.AssistantAudio && dir == pipeline.Downstream:
		p.arrive(f)
		return
	case f.Kind == pipeline.ResponseDone && dir == pipeline.Downstream && f.Seq > 0:
		// tts.streaming's ResponseDone carries the frame count: the end is
		// known even if the last frame is lost.
		if s := p.find(f.Response); s != nil {
			s.setEnd(f.Seq)
			p.resume(s)
		}
	}
	ctx.Forward(f, dir)
}

func (p *Playout) arrive(f pipeline.Frame) {
	now := p.ctx.Now()
	s := p.find(f.Response)
	if s == nil {
		if (f.Response != 0 && f.Response <= p.finished) || (len(p.streams) > 0 && f.Response < p.streams[0].id) {
			p.ctx.Count("playout.late", 1) // its response has played out
			return
		}
		s = p.open(f.Response)
	}
	if f.Seq < s.cursor || (f.Seq == s.cursor && s.playing) || (s.hasEnd && f.Seq >= s.end) {
		p.ctx.Count("playout.late", 1)
		return
	}
	if s.has(f.Seq) {
		return // a duplicate
	}
	s.put(f, now)
	if f.Flags&pipeline.FlagLast != 0 {
		s.setEnd(f.Seq + 1)
	}
	head := s == p.streams[0]
	switch {
	case !s.anchored:
		s.anchored, s.anchor = true, now
		if head {
			p.schedule(s, p.depth+p.device)
		}
	case head:
		p.resume(s)
	}
	if !s.started && !s.complete && s.whole() {
		// The whole response is in: no jitter left to wait for.
		s.complete, s.completeAt = true, now
		if head && p.timer.Active() && p.timer.When() > now+p.device {
			p.timer.Stop()
			p.schedule(s, p.device)
		}
	}
}

// resume restarts a stalled head stream: the frame that ended the stall
// leaves the buffer now and reaches the ear a device latency later.
func (p *Playout) resume(s *stream) {
	if s.stalled && s == p.streams[0] {
		s.stalled = false
		p.schedule(s, p.device)
	}
}

// tick runs at each slot boundary of the head stream, at ear time.
func (p *Playout) tick() {
	if len(p.streams) == 0 {
		return
	}
	s := p.streams[0]
	now := p.ctx.Now()
	if s.playing {
		s.pos += s.slotLen
		s.cursor++
		s.playing = false
	}
	if !s.started {
		s.started = true
		p.ctx.MarkFor(pipeline.MarkClientFirstPlayed, s.id)
		p.report(pipeline.Frame{Kind: pipeline.PlaybackStarted, Response: s.id, At: now})
	}
	if s.hasEnd && s.cursor >= s.end {
		p.finish(s, now)
		return
	}
	e, ok := s.take(s.cursor)
	switch {
	case ok && e.at <= now-p.device:
		s.slotLen = e.f.Duration()
		e.f.At = now
		p.play(e.f)
	case ok || s.buffered > 0 || s.hasEnd:
		if ok { // arrived after its slot left the buffer
			p.ctx.Count("playout.late", 1)
		}
		p.ctx.Count("playout.concealed", 1)
		s.slotLen = pipeline.FrameDuration
		p.play(pipeline.Frame{Kind: pipeline.AssistantAudio, Flags: pipeline.FlagConcealed,
			Response: s.id, Seq: s.cursor, At: now, Audio: p.silence})
	default:
		p.ctx.Count("playout.underruns", 1)
		s.stalled = true
		return
	}
	s.playing, s.slotStart = true, now
	p.schedule(s, s.slotLen)
}

// play sends a frame reaching the ear out of the chain. A response the
// session cancelled (a client that does not flush) would be dropped anyway.
func (p *Playout) play(f pipeline.Frame) {
	if !p.ctx.Cancelled(f.Response) {
		p.ctx.Push(f)
	}
}

// finish ends a response played to its end.
func (p *Playout) finish(s *stream, now time.Duration) {
	p.stopped(s, now, s.pos)
	p.finished = max(p.finished, s.id)
	p.release(1)
	p.startHead(now)
}

// stopped stamps client.played_end and reports the ms played both ways:
// upstream so the server learns, downstream so the client script does.
func (p *Playout) stopped(s *stream, now, played time.Duration) {
	ms := float64(played) / float64(time.Millisecond)
	p.ctx.MarkAt(pipeline.MarkClientPlayedEnd, now, s.id, ms)
	p.report(pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: s.id, At: now, Value: ms})
}

func (p *Playout) report(f pipeline.Frame) {
	p.ctx.PushUp(f)
	p.ctx.Push(f)
}

// interrupt stops responses up to r.
func (p *Playout) interrupt(r pipeline.ResponseID) {
	now := p.ctx.Now()
	n := 0
	for n < len(p.streams) && p.streams[n].id <= r && r != 0 {
		n++
	}
	if n == 0 {
		return
	}
	if p.flush {
		for i, s := range p.streams[:n] {
			if i == 0 && s.started {
				p.stopped(s, now, s.played(now))
			}
			p.ctx.Count("playout.flushed_ms", s.bufferedAudio().Milliseconds())
		}
		p.timer.Stop() // already stopped by the session (scope ≤ r); kept explicit
		p.release(n)
		p.startHead(now)
		return
	}
	// The buggy client: it keeps playing what it has. Nothing more of these
	// responses will reach it, so each ends with its buffer.
	for _, s := range p.streams[:n] {
		last := s.top
		if s.playing {
			last = max(last, s.cursor+1)
		}
		s.setEnd(max(last, s.cursor))
	}
	s := p.streams[0]
	if p.timer.Active() {
		return
	}
	switch { // the session stopped the head's timer: carry on regardless
	case !s.started:
		p.startHead(now)
	case s.playing:
		p.schedule(s, s.slotStart+s.slotLen-now)
	default:
		s.stalled = false
		p.schedule(s, 0)
	}
}

// startHead schedules the first slot of the stream now at the head.
func (p *Playout) startHead(now time.Duration) {
	if len(p.streams) == 0 || !p.streams[0].anchored {
		return
	}
	s := p.streams[0]
	at := s.anchor + p.depth + p.device
	if s.complete {
		at = min(at, s.completeAt+p.device)
	}
	p.schedule(s, max(at, now)-now)
}

// schedule runs the next slot of s after d. A response the session has
// cancelled here (a client that does not flush) plays on unscoped, or the
// session would suppress its timers.
func (p *Playout) schedule(s *stream, d time.Duration) {
	scope := s.id
	if p.ctx.Cancelled(s.id) {
		scope = 0
	}
	p.ctx.SetScope(scope)
	p.timer = p.ctx.After(d, p.tickFn)
}

func (p *Playout) find(id pipeline.ResponseID) *stream {
	for _, s := range p.streams {
		if s.id == id {
			return s
		}
	}
	return nil
}

// open adds a stream for response id, in ID order.
func (p *Playout) open(id pipeline.ResponseID) *stream {
	var s *stream
	if n := len(p.free); n > 0 {
		s, p.free = p.free[n-1], p.free[:n-1]
	} else {
		s = &stream{}
	}
	s.reset(id)
	i := len(p.streams)
	for i > 0 && p.streams[i-1].id > id {
		i--
	}
	p.streams = append(p.streams, nil)
	copy(p.streams[i+1:], p.streams[i:])
	p.streams[i] = s
	return s
}

// release drops the first n streams.
func (p *Playout) release(n int) {
	for _, s := range p.streams[:n] {
		s.reset(0)
		p.free = append(p.free, s)
	}
	k := copy(p.streams, p.streams[n:])
	clear(p.streams[k:])
	p.streams = p.streams[:k]
}

// EachHeld reports the samples of the frames waiting in the buffer: the
// client's storage for them must not be reused until they have played.
func (p *Playout) EachHeld(fn func([]int16)) {
	for _, s := range p.streams {
		for i := range s.ring {
			if e := &s.ring[i]; e.ok && len(e.f.Audio) > 0 {
				fn(e.f.Audio)
			}
		}
	}
}

var (
	_ pipeline.Holder  = (*Playout)(nil)
	_ pipeline.Stage   = (*Playout)(nil)
	_ pipeline.Starter = (*Playout)(nil)
)
