package native

import (
	"math"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
)

// Realtime is native.realtime: a turn-based speech-to-speech model. It sits
// after the turn detector (server VAD) and before the downlink:
//
//   - UserAudio is consumed by the audio encoder in codec frames and
//     counted as input tokens; it is not forwarded (the model swallows it).
//   - TurnEnded{r} starts answer r: after ttfa the model generates output
//     audio tokens at tokens_per_second; each 20 ms frame leaves the codec
//     decoder decoder_delay after its last token, and is pushed downstream
//     as soon as it exists (faster than real time when generation is), with
//     the transcript streamed alongside as AssistantText.
//   - PlaybackStopped{r, Value: ms played} travelling upstream after a cut
//     answer is reconciled the way a Realtime client does it with
//     conversation.item.truncate: audio_end_ms is the audio actually played,
//     and the stored transcript is cut to match (response.heard).
type Realtime struct {
	cfg    RealtimeConfig
	voice  *voice
	ctx    *pipeline.Context
	emitFn func()

	// Encoder.
	codecSamples   int           // samples per codec frame
	buffered       int           // samples towards the next codec frame
	tokensPerCodec float64       // input tokens per codec frame
	tokenFrac      float64       // input tokens not yet counted (fractional)
	encodedUntil   time.Duration // when the encoder will have caught up
	sawVAD         bool          // a VAD upstream reports speech
	listening      bool          // between SpeechStarted and TurnEnded
	userText       string        // the latest user utterance's transcript

	// The answer being generated.
	cur    rtAnswer
	active bool

	// Recent answers, for truncation after generation has ended.
	log answerLog
}

type rtAnswer struct {
	id         pipeline.ResponseID
	clip       []int16
	frames     int
	firstToken time.Duration // when the first audio token exists
	decoder    time.Duration
	tokenSec   float64 // seconds to generate one token
	tokPerFrm  float64 // output tokens per 20 ms frame
	tokensAll  int64   // tokens for the whole answer
	tokensOut  int64   // tokens counted so far
	next       int     // next frame to emit
	playhead   time.Duration
	words      transcript
}

// avail returns when frame k has left the decoder: its last token is token
// ceil((k+1)·tokens per frame), generated (n-1)/tokens_per_second after the
// first.
func (a *rtAnswer) avail(k int) time.Duration {
	n := a.tokensFor(k)
	gen := time.Duration(math.Round(float64(n-1) * a.tokenSec * 1e9))
	return a.firstToken + gen + a.decoder
}

func (a *rtAnswer) tokensFor(k int) int64 {
	return max(ceilTokens(float64(k+1)*a.tokPerFrm), 1)
}

// NewRealtime builds a native.realtime stage for one session.
func NewRealtime(cfg *RealtimeConfig) pipeline.Stage {
	v, err := cfg.sessionVoice()
	if err != nil {
		// Validate has checked the pitch; the synthesiser's other fields
		// take defaults.
		panic("native.realtime: " + err.Error())
	}
	codec := cfg.CodecFrame.D()
	return &Realtime{
		cfg:            *cfg,
		voice:          v,
		codecSamples:   max(audio.DurationToSamples(codec, pipeline.SampleRate), 1),
		tokensPerCodec: codec.Seconds() / cfg.AudioPerInputToken.D().Seconds(),
	}
}

// Start keeps the context and binds the emit callback once.
func (s *Realtime) Start(ctx *pipeline.Context) {
	s.ctx = ctx
	s.emitFn = s.emit
}

// Handle implements pipeline.Stage.
func (s *Realtime) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	switch f.Kind {
	case pipeline.Interruption, pipeline.Cancel:
		// The session has stopped this answer's timers and forwards the
		// frame; only our own state is left to clear.
		if s.active && s.cur.id <= f.Response {
			s.active = false
		}
		return
	}
	if dir == pipeline.Upstream {
		if f.Kind == pipeline.PlaybackStopped {
			f = s.truncate(f)
		}
		ctx.Forward(f, dir)
		return
	}
	switch f.Kind {
	case pipeline.UserAudio:
		s.encode(f)
		return // consumed: nothing downstream needs the user's audio
	case pipeline.SpeechStarted:
		s.sawVAD = true
		if !s.listening {
			s.listening = true
			// The VAD reports speech after its onset; the audio since then
			// is part of the committed input.
			if back := ctx.Now() - f.At; back > 0 {
				s.countIn(back.Seconds() / s.cfg.AudioPerInputToken.D().Seconds())
			}
		}
	case pipeline.TurnEnded:
		s.listening = false
		s.respond(f.Response)
	}
	ctx.Forward(f, dir)
}

// encode runs the audio encoder over one frame of user audio. It allocates
// nothing.
func (s *Realtime) encode(f pipeline.Frame) {
	if f.Text != "" && f.Flags&(pipeline.FlagSpeechStart|pipeline.FlagSpeechEnd) != 0 {
		// The words the user said: what the model understands. Content
		// only; no decision here is based on the flags.
		s.userText = f.Text
	}
	s.buffered += len(f.Audio)
	now := s.ctx.Now()
	for s.buffered >= s.codecSamples {
		s.buffered -= s.codecSamples
		s.encodedUntil = max(s.encodedUntil, now+s.cfg.EncoderDelay.Sample(s.ctx.Rand()))
		// With server VAD, only committed speech is input (OpenAI: "VAD
		// will effectively filter out empty input audio"); without a VAD
		// upstream every frame is.
		if !s.sawVAD || s.listening {
			s.countIn(s.tokensPerCodec)
		}
	}
}

func (s *Realtime) countIn(tokens float64) {
	s.tokenFrac += tokens
	if n := int64(s.tokenFrac + 1e-9); n > 0 {
		s.ctx.Count(CountAudioTokensIn, n)
		s.tokenFrac -= float64(n)
	}
}

// respond starts answer r.
func (s *Realtime) respond(r pipeline.ResponseID) {
	ctx := s.ctx
	if r == 0 || ctx.Cancelled(r) {
		return // cancelled before it reached us: nothing to generate
	}
	if s.active && s.cur.id != r {
		// A new turn supersedes an answer still being generated (server
		// VAD's interrupt_response).
		ctx.CancelResponse(s.cur.id)
		s.active = false
	}
	now := ctx.Now()
	text := chooseAnswer(ctx, s.userText, s.cfg.Answers)
	clip := s.voice.speak(text)
	frames := len(clip) / pipeline.FrameSamples
	outTok := s.cfg.AudioPerOutputToken.D().Seconds()
	tokPerFrm := pipeline.FrameDuration.Seconds() / outTok
	rng := ctx.Rand()
	s.cur = rtAnswer{
		id:         r,
		clip:       clip,
		frames:     frames,
		firstToken: max(now, s.encodedUntil) + s.cfg.TTFA.Sample(rng),
		decoder:    s.cfg.DecoderDelay.Sample(rng),
		tokenSec:   1 / s.cfg.TokensPerSecond,
		tokPerFrm:  tokPerFrm,
		tokensAll:  max(ceilTokens(float64(frames)*tokPerFrm), 1),
		words:      transcript{text: text},
	}
	s.active = true
	s.log.add(r, text, frames)
	ctx.MarkText(pipeline.MarkResponseText, r, text, 0)
	if frames == 0 {
		ctx.Push(pipeline.Frame{Kind: pipeline.ResponseDone, Response: r, At: now})
		s.active = false
		return
	}
	ctx.After(s.cur.avail(0)-now, s.emitFn)
}

// emit pushes every frame of the current answer that has left the decoder,
// then waits for the next. It allocates nothing.
func (s *Realtime) emit() {
	ctx, a := s.ctx, &s.cur
	now := ctx.Now()
	for a.next < a.frames && a.avail(a.next) <= now {
		k := a.next
		lo, hi := k*pipeline.FrameSamples, (k+1)*pipeline.FrameSamples
		f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: a.id, Seq: uint64(k), At: now, Audio: a.clip[lo:hi:hi]}
		switch {
		case k == 0:
			ctx.MarkFor(pipeline.MarkNativeFirstAudio, a.id)
			a.playhead = now
		case now > a.playhead:
			// Later than real time allows: an audible gap. Playback
			// resumes from this frame, so the schedule restarts here.
			ctx.Count(CountUnderruns, 1)
			a.playhead = now
		}
		a.playhead += pipeline.FrameDuration
		if k == a.frames-1 {
			f.Flags |= pipeline.FlagLast
		}
		if n := min(a.tokensFor(k), a.tokensAll); n > a.tokensOut {
			ctx.Count(CountAudioTokensOut, n-a.tokensOut)
			a.tokensOut = n
		}
		pushTranscript(ctx, &a.words, a.id, float64(k+1)/float64(a.frames))
		ctx.Push(f)
		a.next++
	}
	if a.next < a.frames {
		ctx.After(a.avail(a.next)-now, s.emitFn)
		return
	}
	ctx.Push(pipeline.Frame{Kind: pipeline.ResponseDone, Response: a.id, At: now})
	s.active = false
}

// truncate reconciles an answer whose playback stopped, as a Realtime
// client does with conversation.item.truncate when it cut the answer. It
// returns the report with the words heard in Text.
func (s *Realtime) truncate(f pipeline.Frame) pipeline.Frame {
	if s.active && s.cur.id == f.Response {
		return f // still generating: a playback gap, not the end
	}
	out, endMs, cut, ok := s.log.heard(s.ctx, f)
	if ok && cut {
		// audio_end_ms: "Inclusive duration up to which audio is
		// truncated, in milliseconds" — the audio the client played.
		s.ctx.MarkAt(MarkAudioEndMs, s.ctx.Now(), f.Response, endMs)
	}
	return out
}

var (
	_ pipeline.Stage   = (*Realtime)(nil)
	_ pipeline.Starter = (*Realtime)(nil)
)
