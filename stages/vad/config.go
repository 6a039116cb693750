package vad

import (
	"strconv"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Config configures vad.energy. The names follow OpenAI's server VAD
// (threshold, prefix padding) and Pipecat's VADParams (start_secs,
// stop_secs, min_volume), so a setting copied from either means roughly the
// same thing here.
type Config struct {
	// Threshold is the speech probability (0..1) a 10 ms sub-frame needs to
	// count as speech. The probability is a logistic function of the
	// sub-frame's level above the adaptive noise floor: 0.5 is 9 dB above
	// it, 0.9 about 15.6 dB, 0.1 about 2.4 dB (see probability). Higher
	// means louder speech is needed, as with OpenAI's threshold.
	Threshold float64 `yaml:"threshold"`
	// StartSecs is how much speech must accumulate (gaps shorter than
	// StopSecs do not reset it) before speech is confirmed.
	StartSecs pipeline.Duration `yaml:"start_secs"`
	// StopSecs is the VAD's own hangover: this much non-speech after the
	// last speech sub-frame confirms that speech stopped. It is kept short on
	// purpose: deciding that the *turn* is over is the turn stage's job.
	StopSecs pipeline.Duration `yaml:"stop_secs"`
	// PrefixPadding is how far before the first confirmed speech sub-frame
	// the onset estimate may reach back, over quieter audio that is still
	// clearly above the noise floor (a soft word start). It is the audio a
	// server keeps ahead of detected speech.
	PrefixPadding pipeline.Duration `yaml:"prefix_padding"`
	// MinVolumeDBFS is an absolute floor: a sub-frame quieter than this is
	// never speech, however far it is above the noise floor (so dither in
	// digital silence cannot trigger the VAD).
	MinVolumeDBFS float64 `yaml:"min_volume_dbfs"`
}

// Published defaults.
const (
	// DefaultThreshold is OpenAI Realtime server VAD's threshold default.
	DefaultThreshold = 0.5
	// DefaultStartSecs is Pipecat's VAD_START_SECS (VADParams.start_secs).
	DefaultStartSecs = 200 * time.Millisecond
	// DefaultStopSecs is the stop_secs Pipecat recommends with its Smart
	// Turn analyser (VADParams(stop_secs=0.2)); VADParams' own default
	// (0.8 s) folds endpointing into the VAD, which here is the turn
	// stage's job.
	DefaultStopSecs = 200 * time.Millisecond
	// DefaultPrefixPadding is OpenAI Realtime server VAD's prefix_padding_ms.
	DefaultPrefixPadding = 300 * time.Millisecond
	// DefaultMinVolumeDBFS corresponds to Pipecat's VAD_MIN_VOLUME (0.6):
	// Pipecat's calculate_audio_volume maps the BS.1770 loudness of
	// int16-valued samples (≈ dBFS + 90.3) from [-20, 80] onto [0, 1], so
	// 0.6 is a loudness of 40, about -50 dBFS. It is also the -50 dBFS floor
	// of the ground-truth reference (audio.SpeechSpans).
	DefaultMinVolumeDBFS = -50.0
)

// maxPrefixPadding bounds the onset history the stage keeps per session.
const maxPrefixPadding = 5 * time.Second

// Defaults returns the default configuration.
func Defaults() *Config {
	return &Config{
		Threshold:     DefaultThreshold,
		StartSecs:     pipeline.Duration(DefaultStartSecs),
		StopSecs:      pipeline.Duration(DefaultStopSecs),
		PrefixPadding: pipeline.Duration(DefaultPrefixPadding),
		MinVolumeDBFS: DefaultMinVolumeDBFS,
	}
}

// Validate checks every field and names the first bad one with its value.
func (c *Config) Validate() error {
	if !(c.Threshold > 0 && c.Threshold < 1) { // also rejects NaN
		return &pipeline.FieldError{Field: "threshold", Value: formatFloat(c.Threshold),
			Reason: "must be between 0 and 1, exclusive"}
	}
	for _, d := range []struct {
		name string
		v    pipeline.Duration
	}{{"start_secs", c.StartSecs}, {"stop_secs", c.StopSecs}, {"prefix_padding", c.PrefixPadding}} {
		if d.v < 0 {
			return &pipeline.FieldError{Field: d.name, Value: d.v.String(), Reason: "must not be negative"}
		}
	}
	if c.PrefixPadding.D() > maxPrefixPadding {
		return &pipeline.FieldError{Field: "prefix_padding", Value: c.PrefixPadding.String(),
			Reason: "must be at most " + maxPrefixPadding.String()}
	}
	if !(c.MinVolumeDBFS <= 0 && c.MinVolumeDBFS >= silenceDB) {
		return &pipeline.FieldError{Field: "min_volume_dbfs", Value: formatFloat(c.MinVolumeDBFS),
			Reason: "must be between " + formatFloat(silenceDB) + " and 0 dBFS"}
	}
	return nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
