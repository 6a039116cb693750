package stt

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// WhisperConfig configures stt.whisper, a batch recogniser (Whisper-style):
// it hears the whole turn and, once the turn has ended, transcribes it in one
// request. Its latency is
//
//	stt_final = overhead + rtf × speech
//
// where speech is the audio of the turn's speech segments by the VAD
// (SpeechStarted.At → SpeechStopped.At, up to the turn end for a segment
// still open). Overhead is a Latency, so it carries the jitter.
//
// Profiles (explicit fields override them):
//
//	openai-api  overhead {p50: 1.7s, p95: 2.4s}, rtf 0.15
//	local-gpu   overhead {p50: 150ms, p95: 250ms}, rtf 0.08
type WhisperConfig struct {
	// Profile picks the overhead and rtf defaults: "openai-api" (default) or
	// "local-gpu".
	Profile string `yaml:"profile"`
	// Overhead is the per-request cost: upload, queueing, one fixed-size
	// encoder pass. Overrides the profile.
	Overhead *pipeline.Latency `yaml:"overhead,omitempty"`
	// RTF is the real-time factor: seconds of processing per second of
	// speech. Overrides the profile.
	RTF *float64 `yaml:"rtf,omitempty"`
	// WordsPerSecond reveals an unfinished utterance's words (premature turn
	// ends). Default 2.5 (150 words/min; assumption, see transcript.go).
	WordsPerSecond float64 `yaml:"words_per_second"`
}

// whisperProfile returns a named profile's overhead and real-time factor.
//
// openai-api: the hosted Whisper API in OpenAI's pre-GPT-4o Voice Mode
// cascade took 2–3 s to transcribe a turn (the GPT-4o design card; the same
// announcement puts the whole cascade at 2.8 s on average with GPT-3.5, so
// the low end). How that splits between fixed overhead and per-second cost
// is not published: assumption — overhead {p50: 1.7s, p95: 2.4s} and rtf
// 0.15, which puts 2–6 s turns at 2.0–2.6 s median.
//
// local-gpu: faster-whisper large-v2 (fp16, beam 5) transcribes 13 min of
// audio in 1m03s on a GPU (SYSTRAN/faster-whisper README, v1.1.0): rtf ≈
// 0.08. Whisper encodes fixed 30 s windows, so a short clip still pays one
// full encoder pass: assumption — overhead {p50: 150ms, p95: 250ms}.
func whisperProfile(name string) (overhead pipeline.Latency, rtf float64, ok bool) {
	switch name {
	case "openai-api":
		return pipeline.LogNormal(1700*time.Millisecond, 2400*time.Millisecond), 0.15, true
	case "local-gpu":
		return pipeline.LogNormal(150*time.Millisecond, 250*time.Millisecond), 0.08, true
	}
	return pipeline.Latency{}, 0, false
}

// WhisperProfiles lists the stt.whisper profile names.
func WhisperProfiles() []string { return []string{"openai-api", "local-gpu"} }

// DefaultWhisper returns stt.whisper's defaults: the hosted API profile.
func DefaultWhisper() *WhisperConfig {
	return &WhisperConfig{Profile: "openai-api", WordsPerSecond: defaultWordsPerSecond}
}

// Validate checks the config; errors name the field and value.
func (c *WhisperConfig) Validate() error {
	if _, _, ok := whisperProfile(c.Profile); !ok {
		return unknownProfile(c.Profile, WhisperProfiles())
	}
	if c.RTF != nil && (*c.RTF < 0 || math.IsNaN(*c.RTF) || math.IsInf(*c.RTF, 0)) {
		return &pipeline.FieldError{Field: "rtf", Value: formatFloat(*c.RTF), Reason: "must be a finite number ≥ 0 (seconds of processing per second of speech)"}
	}
	return validWordsPerSecond(c.WordsPerSecond)
}

// Resolved returns the effective overhead and real-time factor: the
// profile's, overridden by explicit fields.
func (c *WhisperConfig) Resolved() (overhead pipeline.Latency, rtf float64) {
	overhead, rtf, _ = whisperProfile(c.Profile)
	if c.Overhead != nil {
		overhead = *c.Overhead
	}
	if c.RTF != nil {
		rtf = *c.RTF
	}
	return overhead, rtf
}

// Whisper is the stt.whisper stage.
type Whisper struct {
	overhead pipeline.Latency
	rtf      float64

	ctx    *pipeline.Context
	tr     tracker
	emitFn func(pipeline.Frame)
}

var (
	_ pipeline.Stage   = (*Whisper)(nil)
	_ pipeline.Starter = (*Whisper)(nil)
)

// NewWhisper builds one stt.whisper stage from a validated config.
func NewWhisper(c *WhisperConfig) pipeline.Stage {
	w := &Whisper{}
	w.overhead, w.rtf = c.Resolved()
	w.tr.wordsPerSecond = c.WordsPerSecond
	return w
}

// Start binds the stage's callbacks.
func (w *Whisper) Start(ctx *pipeline.Context) {
	w.ctx = ctx
	w.emitFn = w.emit
}

// Handle tracks speech and transcribes each turn when it ends. Everything is
// forwarded except Interruption/Cancel (the session forwards those).
func (w *Whisper) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if dir == pipeline.Upstream {
		if f.Kind == pipeline.PlaybackStarted {
			w.tr.heard(f.Response)
		}
		if f.Kind != pipeline.Interruption && f.Kind != pipeline.Cancel {
			ctx.Forward(f, dir)
		}
		return
	}
	switch f.Kind {
	case pipeline.UserAudio:
		w.tr.audio(f, ctx.Now())
	case pipeline.SpeechStarted:
		w.tr.speechStarted(f.At)
	case pipeline.SpeechStopped:
		w.tr.speechStopped(f.At)
	case pipeline.TurnEnded:
		ctx.Forward(f, dir)
		w.transcribe(ctx, f.Response)
		return
	case pipeline.Interruption, pipeline.Cancel:
		w.tr.rollback(f.Response)
		return
	}
	ctx.Forward(f, dir)
}

// transcribe sends the turn's audio off: the final arrives overhead + rtf ×
// speech later, in r's scope, so an interruption of r cancels it.
func (w *Whisper) transcribe(ctx *pipeline.Context, r pipeline.ResponseID) {
	text, speech := w.tr.commit(r)
	d := w.overhead.Sample(ctx.Rand()) + time.Duration(math.Round(w.rtf*float64(speech)))
	ctx.AfterFrame(d, pipeline.Frame{Kind: pipeline.TranscriptFinal, Response: r, Text: text, Value: speech.Seconds()}, w.emitFn)
}

func (w *Whisper) emit(f pipeline.Frame) {
	f.At = w.ctx.Now()
	w.ctx.MarkText(pipeline.MarkSTTFinal, f.Response, f.Text, f.Value)
	w.ctx.Push(f)
}

func unknownProfile(name string, known []string) error {
	return &pipeline.FieldError{Field: "profile", Value: name, Reason: "unknown profile (known: " + strings.Join(known, ", ") + ")"}
}

func validWordsPerSecond(v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return &pipeline.FieldError{Field: "words_per_second", Value: formatFloat(v), Reason: "must be a positive number (speaking rate)"}
	}
	return nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
