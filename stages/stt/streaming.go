package stt

import (
	"math"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// StreamingConfig configures stt.streaming, a streaming recogniser
// (Deepgram-, AssemblyAI-style): it transcribes while the user speaks,
// pushing partial transcripts, and finalises each speech segment a delay
// after the segment ends.
//
// The final's delay, final_delay, is measured from the VAD's estimated
// speech offset as it reached the recogniser (SpeechStopped.At plus the
// uplink delay of the audio): the published "speech end → final" figure.
// On TurnEnded the final is pushed at max(now, offset + final_delay). When
// endpointing waited longer than the recogniser needed — a 500 ms silence
// timeout against Deepgram's ~0.2 s — the final is already there and
// stt_final is 0: this is how streaming STT hides inside endpointing. If the
// turn ends while the VAD still hears speech (a premature end), the
// recogniser is asked to finalise now and the final comes now + final_delay.
// Without any SpeechStopped since the last turn (no VAD in the chain) there
// is nothing to wait for and the final is immediate.
//
// Profiles set final_delay; an explicit final_delay overrides them.
type StreamingConfig struct {
	// Profile picks final_delay: "deepgram" (default), "assemblyai" or
	// "openai".
	Profile string `yaml:"profile"`
	// FinalDelay is speech end → final transcript. Overrides the profile.
	FinalDelay *pipeline.Latency `yaml:"final_delay,omitempty"`
	// PartialInterval is how often a partial transcript is pushed while the
	// user speaks (only when it has new words). Default 200 ms — assumption:
	// streaming vendors send interim results a few times a second; not from
	// the published figures.
	PartialInterval pipeline.Duration `yaml:"partial_interval"`
	// WordsPerSecond reveals words while the user speaks. Default 2.5 (150
	// words/min; assumption, see transcript.go).
	WordsPerSecond float64 `yaml:"words_per_second"`
}

// z99 is the standard normal quantile at 0.99; z95 at 0.95.
const (
	z99 = 2.3263478740408408
	z95 = 1.6448536269514722
)

// fromP99 returns a lognormal latency whose 99th percentile is p99.
// Vendors and pipecat publish a single p99; the spread is an assumption:
// median = p99 / 2 (σ = ln 2 / z99 ≈ 0.30), hence p95 ≈ 0.82 × p99.
func fromP99(p99 time.Duration) pipeline.Latency {
	p50 := p99 / 2
	sigma := math.Ln2 / z99
	p95 := time.Duration(math.Round(float64(p50) * math.Exp(z95*sigma)))
	return pipeline.LogNormal(p50, p95)
}

// streamingProfile returns a vendor's speech end → final delay. The p99
// values are pipecat's measured TTFS ("time from when speech ends to when
// the final transcript is received"), src/pipecat/services/stt_latency.py:
// Deepgram 0.35 s, AssemblyAI 0.42 s, OpenAI 2.0 s (2.01 in the file).
func streamingProfile(name string) (pipeline.Latency, bool) {
	switch name {
	case "deepgram":
		return fromP99(350 * time.Millisecond), true
	case "assemblyai":
		return fromP99(420 * time.Millisecond), true
	case "openai":
		return fromP99(2 * time.Second), true
	}
	return pipeline.Latency{}, false
}

// StreamingProfiles lists the stt.streaming profile names.
func StreamingProfiles() []string { return []string{"deepgram", "assemblyai", "openai"} }

// DefaultStreaming returns stt.streaming's defaults: Deepgram.
func DefaultStreaming() *StreamingConfig {
	return &StreamingConfig{
		Profile:         "deepgram",
		PartialInterval: pipeline.Duration(200 * time.Millisecond),
		WordsPerSecond:  defaultWordsPerSecond,
	}
}

// Validate checks the config; errors name the field and value.
func (c *StreamingConfig) Validate() error {
	if _, ok := streamingProfile(c.Profile); !ok {
		return unknownProfile(c.Profile, StreamingProfiles())
	}
	if c.PartialInterval <= 0 {
		return &pipeline.FieldError{Field: "partial_interval", Value: c.PartialInterval.String(), Reason: "must be positive"}
	}
	return validWordsPerSecond(c.WordsPerSecond)
}

// Resolved returns the effective final delay: the profile's unless
// final_delay is set.
func (c *StreamingConfig) Resolved() pipeline.Latency {
	if c.FinalDelay != nil {
		return *c.FinalDelay
	}
	l, _ := streamingProfile(c.Profile)
	return l
}

// Streaming is the stt.streaming stage.
type Streaming struct {
	finalDelay pipeline.Latency
	interval   time.Duration

	ctx *pipeline.Context
	tr  tracker
	// ready is when the segments heard since the last turn are final.
	ready    time.Duration
	hasReady bool
	// partial state: the ticker, words in the last partial, its sequence.
	tick    pipeline.Timer
	partial int
	seq     uint64

	emitFn func(pipeline.Frame)
	tickFn func()
}

var (
	_ pipeline.Stage   = (*Streaming)(nil)
	_ pipeline.Starter = (*Streaming)(nil)
)

// NewStreaming builds one stt.streaming stage from a validated config.
func NewStreaming(c *StreamingConfig) pipeline.Stage {
	s := &Streaming{finalDelay: c.Resolved(), interval: c.PartialInterval.D()}
	s.tr.wordsPerSecond = c.WordsPerSecond
	return s
}

// Start binds the stage's callbacks.
func (s *Streaming) Start(ctx *pipeline.Context) {
	s.ctx = ctx
	s.emitFn = s.emit
	s.tickFn = s.onTick
}

// Handle tracks speech, pushes partials while the user speaks and the final
// transcript when the turn ends. Everything is forwarded except
// Interruption/Cancel (the session forwards those). Per audio frame it does
// constant work and allocates nothing.
func (s *Streaming) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if dir == pipeline.Upstream {
		if f.Kind == pipeline.PlaybackStarted {
			s.tr.heard(f.Response)
		}
		if f.Kind != pipeline.Interruption && f.Kind != pipeline.Cancel {
			ctx.Forward(f, dir)
		}
		return
	}
	switch f.Kind {
	case pipeline.UserAudio:
		s.tr.audio(f, ctx.Now())
	case pipeline.SpeechStarted:
		s.tr.speechStarted(f.At)
		if !s.tick.Active() {
			s.tick = ctx.After(s.interval, s.tickFn)
		}
	case pipeline.SpeechStopped:
		if s.tr.speechStopped(f.At) {
			ready := f.At + s.tr.lag + s.finalDelay.Sample(ctx.Rand())
			s.ready, s.hasReady = max(s.ready, ready), true
		}
	case pipeline.TurnEnded:
		ctx.Forward(f, dir)
		s.finalise(ctx, f.Response)
		return
	case pipeline.Interruption, pipeline.Cancel:
		s.tr.rollback(f.Response)
		return
	}
	ctx.Forward(f, dir)
}

// finalise schedules r's final transcript at max(now, offset + final_delay).
func (s *Streaming) finalise(ctx *pipeline.Context, r pipeline.ResponseID) {
	now := ctx.Now()
	ready := now
	if s.hasReady {
		ready = s.ready
	}
	if s.tr.speaking {
		ready = max(ready, now+s.finalDelay.Sample(ctx.Rand()))
	}
	text, speech := s.tr.commit(r)
	s.ready, s.hasReady, s.partial = 0, false, 0
	ctx.AfterFrame(max(ready-now, 0), pipeline.Frame{Kind: pipeline.TranscriptFinal, Response: r, Text: text, Value: speech.Seconds()}, s.emitFn)
}

func (s *Streaming) emit(f pipeline.Frame) {
	f.At = s.ctx.Now()
	s.ctx.MarkText(pipeline.MarkSTTFinal, f.Response, f.Text, f.Value)
	s.ctx.Push(f)
}

// onTick pushes a partial transcript if the user said new words since the
// last one, and ticks again while the VAD hears speech.
func (s *Streaming) onTick() {
	if !s.tr.speaking {
		return
	}
	if n := s.tr.pendingWords(); n > 0 && n != s.partial {
		s.partial = n
		s.ctx.Push(pipeline.Frame{Kind: pipeline.TranscriptPartial, Text: s.tr.pendingText(), At: s.ctx.Now(), Seq: s.seq, Value: float64(n)})
		s.seq++
	}
	s.tick = s.ctx.After(s.interval, s.tickFn)
}
