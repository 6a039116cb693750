package turn

import (
	"strconv"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// BargeIn configures what user speech over an active response does; both
// turn detectors share it.
type BargeIn struct {
	// Interrupt lets user speech that lasts MinInterruption cancel the
	// active response. false models an uninterruptible assistant: the
	// speech is still a user turn (answered after the current response)
	// but never cuts the response off.
	Interrupt bool `yaml:"interrupt"`
	// MinInterruption is how long speech over an active response must last,
	// from its estimated onset, to be a barge-in rather than a backchannel
	// ("uh-huh") or a cough, which is ignored. 0 interrupts at once.
	MinInterruption pipeline.Duration `yaml:"min_interruption"`
}

// SilenceConfig configures turn.silence.
type SilenceConfig struct {
	// Silence after the VAD's estimated end of speech that ends the turn.
	// It is LiveKit's min_endpointing_delay when no turn model is used (the
	// same 0.5 s); max_endpointing_delay only matters with a model, see
	// turn.semantic.
	Silence pipeline.Duration `yaml:"silence"`
	BargeIn `yaml:",inline"`
}

// SemanticConfig configures turn.semantic, a model of an audio/semantic
// end-of-turn classifier (LiveKit's turn detector, Pipecat's Smart Turn).
// Its accuracy is a parameter: it knows from the input script's truth flags
// whether a silence is the real end or a pause, and errs with the given
// probabilities.
type SemanticConfig struct {
	// Delay is when the detector commits after the estimated end of speech
	// once it judges the turn complete: the endpointing wait plus model
	// inference. Any Latency form: 500ms, {p50: 250ms, p95: 400ms}, ….
	Delay pipeline.Latency `yaml:"delay"`
	// MaxDelay ends the turn anyway if the detector judged the silence a
	// pause and the user never resumed.
	MaxDelay pipeline.Duration `yaml:"max_delay"`
	// PrematureProbability is the chance that a mid-utterance pause is
	// judged the end of the turn: the assistant answers while the user was
	// only pausing.
	PrematureProbability float64 `yaml:"premature_probability"`
	// LateProbability is the chance that a real end of turn is judged a
	// pause, so the turn ends only at MaxDelay.
	LateProbability float64 `yaml:"late_probability"`
	BargeIn         `yaml:",inline"`
}

// Published defaults.
const (
	// DefaultSilence is OpenAI Realtime server VAD's silence_duration_ms
	// (500 ms), which is also LiveKit's min_endpointing_delay (0.5 s).
	DefaultSilence = 500 * time.Millisecond
	// DefaultMinInterruption is LiveKit Agents' min_interruption_duration.
	DefaultMinInterruption = 500 * time.Millisecond
	// DefaultInterrupt: OpenAI's interrupt_response and LiveKit's
	// allow_interruptions both default to true.
	DefaultInterrupt = true
	// DefaultDelay is LiveKit's min_endpointing_delay, how long its turn
	// detector waits after speech when it judges the turn complete.
	// (Pipecat with Smart Turn v3 commits after the VAD's stop_secs, 0.2 s,
	// plus ~12 ms of CPU inference — Daily, "Announcing Smart Turn v3, with
	// CPU inference in just 12ms" — so delay: 212ms models that stack.)
	DefaultDelay = 500 * time.Millisecond
	// DefaultMaxDelay is LiveKit's max_endpointing_delay (3 s); Pipecat's
	// Smart Turn falls back after the same 3 s (SmartTurnParams.stop_secs).
	DefaultMaxDelay = 3 * time.Second
	// DefaultPrematureProbability: Smart Turn v3.0's published benchmark
	// (pipecat-ai/smart-turn-v3, benchmarks/smart-turn-v3.0.md) has 4.68 %
	// of all test samples as incomplete turns judged complete; with
	// incomplete turns about half the set that is ~1 pause in 10.
	DefaultPrematureProbability = 0.1
	// DefaultLateProbability is 0 so that a true end is always answered
	// after Delay; the same benchmark's 3.72 % false negatives (~0.07 of
	// complete turns) is the figure to use for a realistic model.
	DefaultLateProbability = 0.0
)

func defaultBargeIn() BargeIn {
	return BargeIn{Interrupt: DefaultInterrupt, MinInterruption: pipeline.Duration(DefaultMinInterruption)}
}

// SilenceDefaults returns turn.silence's default configuration.
func SilenceDefaults() *SilenceConfig {
	return &SilenceConfig{Silence: pipeline.Duration(DefaultSilence), BargeIn: defaultBargeIn()}
}

// SemanticDefaults returns turn.semantic's default configuration.
func SemanticDefaults() *SemanticConfig {
	return &SemanticConfig{
		Delay:                pipeline.Const(DefaultDelay),
		MaxDelay:             pipeline.Duration(DefaultMaxDelay),
		PrematureProbability: DefaultPrematureProbability,
		LateProbability:      DefaultLateProbability,
		BargeIn:              defaultBargeIn(),
	}
}

// Validate names the first bad field and its value.
func (b *BargeIn) Validate() error {
	if b.MinInterruption < 0 {
		return &pipeline.FieldError{Field: "min_interruption", Value: b.MinInterruption.String(), Reason: "must not be negative"}
	}
	return nil
}

// Validate names the first bad field and its value.
func (c *SilenceConfig) Validate() error {
	if c.Silence < 0 {
		return &pipeline.FieldError{Field: "silence", Value: c.Silence.String(), Reason: "must not be negative"}
	}
	return c.BargeIn.Validate()
}

// Validate names the first bad field and its value.
func (c *SemanticConfig) Validate() error {
	if c.MaxDelay <= 0 {
		return &pipeline.FieldError{Field: "max_delay", Value: c.MaxDelay.String(), Reason: "must be positive"}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"premature_probability", c.PrematureProbability}, {"late_probability", c.LateProbability}} {
		if !(p.v >= 0 && p.v <= 1) { // also rejects NaN
			return &pipeline.FieldError{Field: p.name, Value: strconv.FormatFloat(p.v, 'g', -1, 64),
				Reason: "must be a probability between 0 and 1"}
		}
	}
	return c.BargeIn.Validate()
}
