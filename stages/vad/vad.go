// Package vad holds voice activity detectors: stages that find speech in the
// user's audio samples and report it as SpeechStarted / SpeechStopped
// frames.
//
// vad.energy is an energy detector with an adaptive noise floor, the kind
// that runs in front of most voice agents when a neural VAD is not used:
// every 10 ms sub-frame's level (after a 150 Hz high-pass) is compared with
// a minimum-statistics noise floor, the level above the floor is mapped to a
// speech probability, and a start/stop state machine with hysteresis turns
// probabilities into speech segments (see detector.go).
//
// Timing. A UserAudio frame's At is the capture time of its first sample;
// the frame reaches the VAD later (after the uplink). The VAD's events carry
// its estimates in that capture timeline: SpeechStarted.At is the estimated
// onset (start of the first speech sub-frame, refined back over a soft word
// start) and SpeechStopped.At the estimated offset (end of the last speech
// sub-frame plus its decay). The marks vad.speech_start and vad.speech_stop
// are stamped at detection time — the session time the VAD processed the
// frame that confirmed the event — with the estimate, in seconds of session
// time, as the mark's Value. The mark time minus its Value is how late the
// event was known: the uplink plus the VAD's own confirmation delay.
package vad

import (
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Counters the stage maintains.
const (
	CounterSpeechStarts = "vad.speech_starts"
	CounterSpeechStops  = "vad.speech_stops"
)

// Register adds vad.energy to r.
func Register(r *pipeline.Registry) {
	pipeline.Register(r, "vad.energy",
		"energy VAD on the audio samples: adaptive noise floor, hysteresis, start/stop hangover",
		Defaults, New)
}

// Energy is the vad.energy stage. One instance serves one session.
type Energy struct {
	det detector
	ctx *pipeline.Context
}

var (
	_ pipeline.Stage   = (*Energy)(nil)
	_ pipeline.Starter = (*Energy)(nil)
)

// New builds a vad.energy stage from a validated config.
func New(cfg *Config) pipeline.Stage {
	return &Energy{det: newDetector(cfg)}
}

// Start binds the event callback once, so the per-frame path allocates
// nothing.
func (e *Energy) Start(ctx *pipeline.Context) {
	e.ctx = ctx
	e.det.emit = e.emit
}

// Handle forwards every frame in its direction and analyses user audio on
// its way down, flagging the frames it judged voiced (pipeline.FlagVoiced).
func (e *Energy) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel {
		return // the session forwards these
	}
	if f.Kind != pipeline.UserAudio || dir != pipeline.Downstream {
		ctx.Forward(f, dir)
		return
	}
	if e.ctx == nil {
		e.Start(ctx) // driven without Start: bind lazily
	}
	// Most of the frame sounding like speech marks it voiced, so the turn
	// stage can count real speech time rather than time since the onset
	// (which would include this VAD's stop hangover).
	if 2*e.det.process(f.Audio, f.At) >= subFramesPer(f) {
		f.Flags |= pipeline.FlagVoiced
	}
	ctx.Forward(f, dir)
}

func subFramesPer(f pipeline.Frame) int {
	return max(1, len(f.Audio)/subSamples)
}

// emit pushes a confirmed event and stamps its mark at detection time with
// the estimate as the Value. Speech frames are system frames, so they
// overtake the audio forwarded just before them.
func (e *Energy) emit(k pipeline.Kind, at time.Duration) {
	name, counter := pipeline.MarkVADSpeechStart, CounterSpeechStarts
	if k == pipeline.SpeechStopped {
		name, counter = pipeline.MarkVADSpeechStop, CounterSpeechStops
	}
	e.ctx.MarkAt(name, e.ctx.Now(), 0, at.Seconds())
	e.ctx.Count(counter, 1)
	e.ctx.Push(pipeline.Frame{Kind: k, At: at})
}
