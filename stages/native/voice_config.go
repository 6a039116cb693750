package native

import (
	"fmt"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
)

// VoiceConfig is the part of the config both native models share: the
// voice they answer with and what they say when the input script has no
// reply. It is embedded inline, so its fields are top-level YAML keys.
type VoiceConfig struct {
	// voice is built once by Provision and shared by every session.
	voice *voice

	// VoicePitchHz is the synthesised model voice's pitch. Default
	// 210 Hz, a higher voice than the synthesiser's 120 Hz default user.
	VoicePitchHz float64 `yaml:"voice_pitch_hz"`
	// Answers are spoken when the input script has no scripted reply to
	// the user's transcript; one is drawn per turn from the session's
	// random source. Default: a small built-in bank.
	Answers []string `yaml:"answers"`
}

// DefaultVoicePitchHz is both models' default voice pitch.
const DefaultVoicePitchHz = 210

func voiceDefaults() VoiceConfig {
	return VoiceConfig{VoicePitchHz: DefaultVoicePitchHz, Answers: defaultAnswers()}
}

// validate checks the voice's fields, naming the first bad one.
func (c *VoiceConfig) validate() error {
	if !(c.VoicePitchHz >= 50 && c.VoicePitchHz <= 500) {
		return fieldErr("voice_pitch_hz", c.VoicePitchHz, "must be in [50, 500] Hz")
	}
	if len(c.Answers) == 0 {
		return fieldErr("answers", "[]", "needs at least one answer")
	}
	for i, a := range c.Answers {
		if a == "" {
			return fieldErr(fmt.Sprintf("answers[%d]", i), a, "must not be empty")
		}
	}
	return nil
}

// Provision builds the voice once for every session of the architecture,
// with a cache: runs of a scenario repeat the same answers.
func (c *VoiceConfig) Provision() error {
	v, err := c.buildVoice()
	if err != nil {
		return &pipeline.FieldError{Field: "voice_pitch_hz", Value: fmt.Sprint(c.VoicePitchHz), Reason: err.Error()}
	}
	c.voice = v
	return nil
}

var (
	_ pipeline.Provisioner = (*RealtimeConfig)(nil)
	_ pipeline.Provisioner = (*DuplexConfig)(nil)
)

// sessionVoice returns the provisioned voice, or for a config built
// without Prepare (tests) a voice of the session's own.
func (c *VoiceConfig) sessionVoice() (*voice, error) {
	if c.voice != nil {
		return c.voice, nil
	}
	return c.buildVoice()
}

func (c *VoiceConfig) buildVoice() (*voice, error) {
	s, err := audio.NewSynth(audio.SynthConfig{PitchHz: c.VoicePitchHz, Seed: 1})
	if err != nil {
		return nil, err
	}
	return newVoice(s), nil
}
