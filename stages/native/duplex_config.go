package native

import (
	"fmt"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// DuplexConfig configures native.duplex, a full-duplex speech-to-speech
// model in the style of Kyutai's Moshi.
//
// Calibration. Moshi's README gives "a theoretical latency of 160ms (80ms
// for the frame size of Mimi + 80ms of acoustic delay), with a practical
// overall latency as low as 200ms". Here the model must hear one whole
// silent 80 ms frame after the user's last voiced audio before it takes the
// turn, and its first audio leaves acoustic_delay after that decision. With
// the speech end falling anywhere within the frame clock's period, the wait
// for the silent frame is 80–160 ms (mean 120), so end of speech at the
// server → first audio out is 160–240 ms, mean 200 ms: 160 ms is the floor
// (a speech end right on a frame boundary), 200 ms the average. The default
// decision latency is therefore 0; raise it to model a slower model or
// compute overhead.
type DuplexConfig struct {
	// Frame is the model's step: Mimi encodes 24 kHz audio at 12.5 Hz, so
	// 80 ms (Moshi README). Each step consumes one frame of user audio and
	// emits one of its own (4 pipeline frames). A multiple of 20 ms.
	Frame pipeline.Duration `yaml:"frame"`
	// AcousticDelay is the delay between the model's decision at a step
	// and its audio for that step leaving the decoder: Moshi delays its
	// acoustic tokens by one frame, 80 ms (README). A multiple of frame.
	AcousticDelay pipeline.Duration `yaml:"acoustic_delay"`
	// Decision is extra user silence the model waits for, beyond one whole
	// silent frame, before taking the turn; sampled per silence. Default 0
	// (see Calibration).
	Decision pipeline.Latency `yaml:"decision"`
	// EarlyStartProbability is the chance the model anticipates the end of
	// a user utterance and takes the turn one frame early, at the step that
	// hears the last of the speech: then end → first audio is 80–160 ms.
	// The model's anticipation is the parameter, so it consults the truth
	// (FlagSpeechEnd) to know where the end is. Default 0 (assumption: off,
	// so the calibrated floor holds).
	EarlyStartProbability float64 `yaml:"early_start_probability"`
	// InterruptAfter is how long the user must talk over the model's
	// answer before it stops, counted from the later of the user's speech
	// onset and the answer's first audio; the model notices at its next
	// step. Default 220 ms, so a barge-in stops it 220–300 ms after onset,
	// 260 ms on average, and every sustained barge-in stops it:
	// Full-Duplex-Bench v1 reports Moshi's user-interruption takeover rate
	// 1.000 and latency 0.257 s. That latency is a *response* latency (the
	// README's legend), not a stop delay; no published stop delay for
	// Moshi was found, so it stands in for one (the preset's choice).
	InterruptAfter pipeline.Duration `yaml:"interrupt_after"`
	// BackchannelRecognition is the chance the model recognises a user
	// backchannel ("uh-huh", any utterance made only of backchannel_words)
	// as one and keeps talking however long it lasts; an unrecognised one
	// is treated like any speech. The model's understanding is the
	// parameter, so it reads the utterance's true transcript: the Text on
	// its onset frame (flagged FlagSpeechStart for a turn; unflagged for a
	// backchannel). Without a transcript (a live microphone) only
	// interrupt_after protects against backchannels. Default 1
	// (assumption: Moshi is a language model and hears the words).
	BackchannelRecognition float64 `yaml:"backchannel_recognition"`
	// BackchannelWords are the words that make up a backchannel.
	BackchannelWords []string `yaml:"backchannel_words"`
	// BackchannelProbability is the chance the model says its own short
	// "mm-hm" once the user has talked for backchannel_after without a
	// pause. Default 0 (off).
	BackchannelProbability float64 `yaml:"backchannel_probability"`
	// BackchannelAfter: how long the user must have been talking before
	// the model may backchannel. Default 1.5 s (assumption: listeners'
	// backchannels mostly follow phrases of a second or more).
	BackchannelAfter pipeline.Duration `yaml:"backchannel_after"`
	// VADMarginDB: a 20 ms frame of user audio is voiced when its level is
	// this far above the adaptive noise floor. Default 10 dB (assumption:
	// a common energy-VAD margin).
	VADMarginDB float64 `yaml:"vad_margin_db"`
	// VADMinDBFS: frames quieter than this are never voiced. Default -80
	// dBFS, the truth reference's own absolute floor, so clean speech tails
	// count as speech.
	VADMinDBFS float64 `yaml:"vad_min_dbfs"`
	// Codebooks is how many audio tokens each stream carries per frame,
	// for the token counters: Moshi models 8 Mimi codebooks per stream
	// (12.5 Hz × 8 × 11 bits ≈ 1.1 kbps). A duplex model runs all the time,
	// so each step counts its tokens in and out, silence included.
	Codebooks int `yaml:"codebooks"`
	// VoiceConfig: voice_pitch_hz and answers, shared with native.realtime.
	VoiceConfig `yaml:",inline"`
}

// Duplex defaults. Sources are on the fields above.
const (
	DefaultDuplexFrame            = 80 * time.Millisecond
	DefaultDuplexAcousticDelay    = 80 * time.Millisecond
	DefaultDuplexDecision         = "0s"
	DefaultDuplexInterruptAfter   = 220 * time.Millisecond
	DefaultDuplexBackchannelAfter = 1500 * time.Millisecond
	DefaultDuplexVADMarginDB      = 10
	DefaultDuplexVADMinDBFS       = -80
	DefaultDuplexCodebooks        = 8
)

func defaultBackchannelWords() []string {
	return []string{"uh-huh", "uh", "huh", "mm-hm", "mhm", "mm", "hm", "yeah", "yep", "yes", "right", "okay", "ok", "sure", "i", "see"}
}

// DuplexDefaults returns native.duplex's default config.
func DuplexDefaults() *DuplexConfig {
	return &DuplexConfig{
		Frame:                  pipeline.Duration(DefaultDuplexFrame),
		AcousticDelay:          pipeline.Duration(DefaultDuplexAcousticDelay),
		Decision:               mustLatency(DefaultDuplexDecision),
		InterruptAfter:         pipeline.Duration(DefaultDuplexInterruptAfter),
		BackchannelRecognition: 1,
		BackchannelWords:       defaultBackchannelWords(),
		BackchannelAfter:       pipeline.Duration(DefaultDuplexBackchannelAfter),
		VADMarginDB:            DefaultDuplexVADMarginDB,
		VADMinDBFS:             DefaultDuplexVADMinDBFS,
		Codebooks:              DefaultDuplexCodebooks,
		VoiceConfig:            voiceDefaults(),
	}
}

// Validate checks every field, naming the first bad one and its value.
func (c *DuplexConfig) Validate() error {
	frame := c.Frame.D()
	switch {
	case frame <= 0 || frame > time.Second || frame%pipeline.FrameDuration != 0:
		return fieldErr("frame", c.Frame, "must be a positive multiple of 20 ms, at most 1s")
	case c.AcousticDelay < 0 || c.AcousticDelay.D()%frame != 0:
		return fieldErr("acoustic_delay", c.AcousticDelay, "must be a non-negative multiple of frame ("+frame.String()+")")
	case !probability(c.EarlyStartProbability):
		return fieldErr("early_start_probability", c.EarlyStartProbability, "must be in [0, 1]")
	case c.InterruptAfter <= 0:
		return fieldErr("interrupt_after", c.InterruptAfter, "must be positive")
	case !probability(c.BackchannelRecognition):
		return fieldErr("backchannel_recognition", c.BackchannelRecognition, "must be in [0, 1]")
	case !probability(c.BackchannelProbability):
		return fieldErr("backchannel_probability", c.BackchannelProbability, "must be in [0, 1]")
	case c.BackchannelAfter <= 0:
		return fieldErr("backchannel_after", c.BackchannelAfter, "must be positive")
	case !(c.VADMarginDB > 0 && c.VADMarginDB <= 60):
		return fieldErr("vad_margin_db", c.VADMarginDB, "must be in (0, 60] dB")
	case !(c.VADMinDBFS >= silenceDBFS && c.VADMinDBFS < 0):
		return fieldErr("vad_min_dbfs", c.VADMinDBFS, "must be in [-120, 0) dBFS")
	case c.Codebooks < 1 || c.Codebooks > 64:
		return fieldErr("codebooks", c.Codebooks, "must be in [1, 64]")
	}
	for i, w := range c.BackchannelWords {
		if normWord(w) == "" {
			return fieldErr(fmt.Sprintf("backchannel_words[%d]", i), w, "has no letters")
		}
	}
	return c.VoiceConfig.validate()
}

func probability(p float64) bool { return p >= 0 && p <= 1 }

var _ pipeline.Validator = (*DuplexConfig)(nil)
