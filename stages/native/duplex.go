package native

import (
	"strings"
	"time"
	"unicode"

	"github.com/voicesim/voicesim/pipeline"
)

// Duplex is native.duplex: a full-duplex model on a fixed frame clock. It
// sits between the uplink and the downlink and is its own endpointer and
// barge-in detector:
//
//   - each 20 ms frame of user audio is classified voiced or not from its
//     samples as it arrives; the audio is consumed, not forwarded;
//   - every frame step (80 ms, on a grid of random phase) the model
//     checks for a barge-in, emits its next 80 ms of audio (4 frames), and
//     decides whether to take the turn;
//   - it takes the turn once it has heard a whole silent frame (plus the
//     sampled decision wait) after the user's last voiced audio, stamping
//     turn.end with a fresh response and pushing TurnEnded; its audio
//     starts acoustic_delay later (native.first_audio);
//   - it stops (ctx.Interrupt) when the user has talked over its answer
//     for interrupt_after, unless it recognised a backchannel.
//
// The clock ticks only while there is something to do — user audio arrived
// in the last second, a turn is pending, or the model is speaking — so a
// virtual-clock run ends when the script does.
type Duplex struct {
	cfg      DuplexConfig
	voice    *voice
	bcClip   []int16 // the model's own "mm-hm"
	bcWords  map[string]bool
	ctx      *pipeline.Context
	tickFn   func()
	ticking  bool
	phase    time.Duration // the frame clock ticks at phase + k·frame
	frame    time.Duration
	acoustic time.Duration
	perStep  int // pipeline frames per model frame
	vad      energyVAD

	// Hearing.
	lastArrival  time.Duration
	lastVoiced   time.Duration // arrival of the last voiced 20 ms frame
	hasVoiced    bool
	spurtStart   time.Duration // onset of the current talk spurt
	spurtVoiced  time.Duration // voiced audio in it
	spurtIgnored bool          // marked as an ignored backchannel
	spurtBC      bool          // the model backchannelled during it
	utterText    string        // transcript of the latest user utterance
	replyText    string        // of the latest one that was not a backchannel
	utterAt      time.Duration // when its first frame arrived
	utterIsBC    bool          // recognised as a backchannel
	endHeard     bool          // a frame holding a true speech end arrived this step
	early        bool          // anticipate that end (drawn per utterance)
	turnPending  bool          // user spoke; not yet answered
	wait         time.Duration // sampled decision wait for this silence
	waitDrawn    bool

	out duplexOut
	log answerLog // for response.heard when playback stops
}

// duplexOut is what the model is saying: an answer or its own backchannel.
type duplexOut struct {
	active  bool
	answer  bool
	id      pipeline.ResponseID
	clip    []int16
	frames  int
	next    int
	start   time.Duration // first step that emits audio
	started time.Duration // when the first audio left
	words   transcript
}

// idleKeep: the clock keeps ticking this long after the last user audio.
const idleKeep = time.Second

// minTurnSpeech: a talk spurt shorter than this (a click, a cough) does not
// make a turn to answer. Assumption: one model frame.
const minTurnSpeech = 80 * time.Millisecond

// NewDuplex builds a native.duplex stage for one session.
func NewDuplex(cfg *DuplexConfig) pipeline.Stage {
	v, err := cfg.sessionVoice()
	if err != nil {
		panic("native.duplex: " + err.Error()) // Validate has checked the pitch
	}
	words := make(map[string]bool, len(cfg.BackchannelWords))
	for _, w := range cfg.BackchannelWords {
		words[normWord(w)] = true
	}
	frame := cfg.Frame.D()
	return &Duplex{
		cfg:      *cfg,
		voice:    v,
		bcClip:   v.speak("mm-hm"),
		bcWords:  words,
		frame:    frame,
		acoustic: cfg.AcousticDelay.D(),
		perStep:  int(frame / pipeline.FrameDuration),
		vad:      newEnergyVAD(cfg.VADMarginDB, cfg.VADMinDBFS, float64(time.Second/pipeline.FrameDuration)),
	}
}

// Start keeps the context, binds the tick once and starts the clock. The
// clock's phase is drawn per session: where a user's speech ends relative
// to the model's frame boundaries is a matter of chance, and it is that
// chance that spreads end → first audio over 160–240 ms.
func (d *Duplex) Start(ctx *pipeline.Context) {
	d.ctx = ctx
	d.tickFn = d.tick
	d.phase = time.Duration(ctx.Rand().Int64N(int64(d.frame)))
	d.startClock()
}

// startClock schedules the next step on the frame grid.
func (d *Duplex) startClock() {
	if d.ticking {
		return
	}
	d.ticking = true
	now := d.ctx.Now()
	next := d.phase
	if now >= d.phase {
		next += ((now-d.phase)/d.frame + 1) * d.frame
	}
	d.ctx.SetScope(0) // the clock belongs to no response: no interruption stops it
	d.ctx.After(next-now, d.tickFn)
}

// Handle implements pipeline.Stage.
func (d *Duplex) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	switch {
	case f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel:
		if d.out.active && d.out.id <= f.Response {
			d.out = duplexOut{}
		}
	case dir == pipeline.Downstream && f.Kind == pipeline.UserAudio:
		d.hear(f)
	case dir == pipeline.Upstream && f.Kind == pipeline.PlaybackStopped:
		if !(d.out.active && d.out.id == f.Response) {
			// Moshi has no truncation API: its context keeps what it said.
			// The words the user heard are still the measure.
			f, _, _, _ = d.log.heard(ctx, f)
		}
		ctx.Forward(f, dir)
	default:
		ctx.Forward(f, dir)
	}
}

// hear takes in one frame of user audio. It allocates nothing except when
// a new utterance's transcript is parsed.
func (d *Duplex) hear(f pipeline.Frame) {
	now := d.ctx.Now()
	d.lastArrival = now
	if d.vad.voiced(f.Audio) {
		begin := now - f.Duration()
		if !d.hasVoiced || begin-d.lastVoiced >= d.frame {
			d.spurtStart, d.spurtVoiced = begin, 0
			d.spurtIgnored, d.spurtBC = false, false
		}
		d.spurtVoiced += f.Duration()
		d.lastVoiced, d.hasVoiced = now, true
		d.waitDrawn = false
		if d.spurtVoiced >= minTurnSpeech && !d.spurtIgnored && !(d.out.active && d.out.answer) {
			d.turnPending = true
		}
	}
	// An utterance's transcript rides on its onset frame: flagged
	// FlagSpeechStart for a turn, unflagged for a backchannel.
	if f.Text != "" && (f.Flags&pipeline.FlagSpeechStart != 0 || f.Flags&pipeline.FlagSpeechEnd == 0) {
		d.utterText, d.utterAt = f.Text, now
		d.utterIsBC = d.isBackchannel(f.Text) && d.ctx.Rand().Float64() < d.cfg.BackchannelRecognition
		if !d.utterIsBC {
			d.replyText = f.Text
		}
	}
	if f.Flags&pipeline.FlagSpeechEnd != 0 {
		if f.Text != "" && !d.utterIsBC {
			d.replyText = f.Text
		}
		d.endHeard = true
		d.early = d.cfg.EarlyStartProbability > 0 && d.ctx.Rand().Float64() < d.cfg.EarlyStartProbability
	}
	d.startClock()
}

// tick is one model step. It allocates nothing unless it starts an answer.
func (d *Duplex) tick() {
	ctx := d.ctx
	now := ctx.Now()
	d.ticking = false
	ctx.Count(CountAudioTokensIn, int64(d.cfg.Codebooks))
	ctx.Count(CountAudioTokensOut, int64(d.cfg.Codebooks))
	voicedNow := d.hasVoiced && now-d.lastVoiced < d.frame

	if d.out.active && d.out.answer && d.out.next > 0 && voicedNow {
		d.checkBargeIn(now)
	}
	if d.out.active && now >= d.out.start {
		d.speak(now)
	}
	if d.turnPending && !(d.out.active && d.out.answer) {
		switch {
		case d.endHeard && d.early && voicedNow:
			ctx.Count(CountEarlyStarts, 1)
			d.takeTurn(now)
		case !voicedNow:
			if !d.waitDrawn {
				d.wait, d.waitDrawn = d.cfg.Decision.Sample(ctx.Rand()), true
			}
			if now-d.lastVoiced >= d.frame+d.wait {
				d.takeTurn(now)
			}
		}
	}
	if !d.out.active && voicedNow && !d.spurtBC && d.cfg.BackchannelProbability > 0 &&
		now-d.spurtStart >= d.cfg.BackchannelAfter.D() {
		d.spurtBC = true
		if ctx.Rand().Float64() < d.cfg.BackchannelProbability {
			d.backchannel(now)
		}
	}
	d.endHeard = false
	if d.out.active || d.turnPending || now-d.lastArrival < idleKeep {
		d.startClock()
	}
}

// checkBargeIn stops the answer once the user has talked over it for
// interrupt_after, unless the user is only backchannelling.
func (d *Duplex) checkBargeIn(now time.Duration) {
	if now-max(d.spurtStart, d.out.started) < d.cfg.InterruptAfter.D() {
		return
	}
	// The utterance's transcript belongs to this spurt if it began at most
	// a frame before the model heard the spurt start.
	if d.utterIsBC && d.utterAt >= d.spurtStart-d.frame {
		if !d.spurtIgnored {
			d.spurtIgnored = true
			d.ctx.MarkFor(pipeline.MarkBackchannelIgnored, d.out.id)
			d.ctx.Push(pipeline.Frame{Kind: pipeline.Backchannel, Response: d.out.id, At: now, Text: d.utterText})
		}
		return
	}
	d.ctx.Interrupt(d.out.id)
	d.out = duplexOut{}
	d.turnPending = true // the interruption is a turn to answer
}

// speak emits the next model frame of audio: perStep pipeline frames.
func (d *Duplex) speak(now time.Duration) {
	ctx, o := d.ctx, &d.out
	if o.next == 0 {
		o.started = now
		if o.answer {
			ctx.MarkFor(pipeline.MarkNativeFirstAudio, o.id)
		}
	}
	for i := 0; i < d.perStep && o.next < o.frames; i++ {
		k := o.next
		lo, hi := k*pipeline.FrameSamples, (k+1)*pipeline.FrameSamples
		f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: o.id, Seq: uint64(k), At: now, Audio: o.clip[lo:hi:hi]}
		if k == o.frames-1 {
			f.Flags |= pipeline.FlagLast
		}
		pushTranscript(ctx, &o.words, o.id, float64(k+1)/float64(o.frames))
		ctx.Push(f)
		o.next++
	}
	if o.next >= o.frames {
		ctx.Push(pipeline.Frame{Kind: pipeline.ResponseDone, Response: o.id, At: now})
		d.out = duplexOut{}
	}
}

// takeTurn starts an answer to the user's turn.
func (d *Duplex) takeTurn(now time.Duration) {
	ctx := d.ctx
	if d.out.active {
		ctx.CancelResponse(d.out.id) // its own backchannel gives way
	}
	r := ctx.NewResponse()
	ctx.Mark(pipeline.MarkTurnEnd)
	ctx.Push(pipeline.Frame{Kind: pipeline.TurnEnded, Response: r, At: now})
	text := chooseAnswer(ctx, d.replyText, d.cfg.Answers)
	ctx.MarkText(pipeline.MarkResponseText, r, text, 0)
	clip := d.voice.speak(text)
	d.log.add(r, text, len(clip)/pipeline.FrameSamples)
	d.startOutput(r, true, clip, text, now)
	d.turnPending, d.waitDrawn = false, false
}

// backchannel starts the model's own short "mm-hm" as a response of its
// own (no turn.end: it answers nothing).
func (d *Duplex) backchannel(now time.Duration) {
	d.ctx.Count(CountBackchannels, 1)
	r := d.ctx.NewResponse()
	d.startOutput(r, false, d.bcClip, "", now)
}

func (d *Duplex) startOutput(r pipeline.ResponseID, answer bool, clip []int16, text string, now time.Duration) {
	d.out = duplexOut{
		active: true, answer: answer, id: r, clip: clip,
		frames: len(clip) / pipeline.FrameSamples,
		start:  now + d.acoustic, words: transcript{text: text},
	}
}

// isBackchannel reports whether text is made only of backchannel words.
func (d *Duplex) isBackchannel(text string) bool {
	n := 0
	for _, w := range strings.Fields(text) {
		w = normWord(w)
		if w == "" {
			continue
		}
		if !d.bcWords[w] {
			return false
		}
		n++
	}
	return n > 0
}

// normWord lower-cases w and trims punctuation around it ("Uh-huh." →
// "uh-huh").
func normWord(w string) string {
	return strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
}

var (
	_ pipeline.Stage   = (*Duplex)(nil)
	_ pipeline.Starter = (*Duplex)(nil)
)
