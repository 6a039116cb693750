package tts

import (
	"strconv"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
)

// Config configures tts.streaming.
//
// The synthesis model has two parameters. TTFB is the time from a request
// to its first audio; Speed is how many seconds of audio the service
// generates per second once it is going. In streaming mode, frame k of a
// sentence whose synthesis starts at t is available at t + TTFB + k·20ms /
// Speed. Sentences are synthesised one after another, like a single
// streaming context (ElevenLabs' and Cartesia's WebSocket APIs take text
// in order on one connection): a sentence starts when it arrives or when
// the previous one has finished generating, whichever is later, and pays its
// own TTFB. In non-streaming mode the text of the whole response is sent in
// one request when the response is complete (tts.request is stamped then,
// so the wait for the LLM shows as sentence_aggregation), and the first
// byte comes after TTFB + (audio length) / Speed: a fixed overhead plus a
// real-time factor of 1/Speed.
type Config struct {
	// synth is built once by Provision and shared by every session.
	synth *audio.Synth

	// TTFB is the time to first byte of a request. Default 80 ms, the TTS
	// figure of Daily's 759 ms budget; vendors publish ~75 ms (ElevenLabs
	// Flash) and ~90 ms (Cartesia Sonic) model latency.
	TTFB pipeline.Latency `yaml:"ttfb"`
	// Speed is the generation speed in multiples of real time. Default 5:
	// an assumption (streaming TTS services generate several times faster
	// than real time but do not publish a rate); below 1 the client runs
	// dry mid-sentence.
	Speed float64 `yaml:"speed"`
	// Streaming false models a 2023-style TTS call: the whole answer in one
	// request once the LLM has finished. Default true.
	Streaming bool `yaml:"streaming"`
	// Pace is how the server sends audio: realtime (default) sends no
	// faster than real time, like Pipecat's output transport, so the
	// client's buffer stays shallow; asap sends each frame as soon as it is
	// generated, filling the client's buffer — what plays on after an
	// interruption if the client does not flush it.
	Pace string `yaml:"pace"`
	// Voice configures the built-in speech-like synthesiser.
	Voice Voice `yaml:"voice"`
}

// Voice configures audio.Synth (see audio.SynthConfig).
type Voice struct {
	PitchHz            float64 `yaml:"pitch_hz"`
	SyllablesPerSecond float64 `yaml:"syllables_per_second"`
	LevelDBFS          float64 `yaml:"level_dbfs"`
	Seed               uint64  `yaml:"seed"`
}

// Pacing modes.
const (
	PaceRealtime = "realtime"
	PaceASAP     = "asap"
)

// Defaults.
const (
	// DefaultTTFB is the TTS time to first byte in Daily's voice-to-voice
	// budget (Daily, "The world's fastest voice bot", 2024).
	DefaultTTFB = 80 * time.Millisecond
	// DefaultSpeed is an assumption: 5× real time.
	DefaultSpeed = 5.0
)

// Defaults returns tts.streaming's default config.
func Defaults() *Config {
	return &Config{
		TTFB:      pipeline.Const(DefaultTTFB),
		Speed:     DefaultSpeed,
		Streaming: true,
		Pace:      PaceRealtime,
		Voice: Voice{
			PitchHz:            audio.DefaultSynthPitchHz,
			SyllablesPerSecond: audio.DefaultSynthSyllablesPerSecond,
			LevelDBFS:          audio.DefaultSynthLevelDBFS,
		},
	}
}

// maxSpeed bounds Speed to keep frame times meaningful.
const maxSpeed = 1000

// Validate checks every field and names the first bad one with its value.
func (c *Config) Validate() error {
	if !(c.Speed > 0 && c.Speed <= maxSpeed) {
		return &pipeline.FieldError{Field: "speed", Value: formatFloat(c.Speed),
			Reason: "must be above 0 and at most 1000 (times real time)"}
	}
	if c.Pace != PaceRealtime && c.Pace != PaceASAP {
		return &pipeline.FieldError{Field: "pace", Value: c.Pace, Reason: "want realtime or asap"}
	}
	// Each voice field alone, so the error names the one at fault.
	for _, v := range []struct {
		field string
		value float64
		cfg   audio.SynthConfig
	}{
		{"voice.pitch_hz", c.Voice.PitchHz, audio.SynthConfig{PitchHz: c.Voice.PitchHz}},
		{"voice.syllables_per_second", c.Voice.SyllablesPerSecond, audio.SynthConfig{SyllablesPerSecond: c.Voice.SyllablesPerSecond}},
		{"voice.level_dbfs", c.Voice.LevelDBFS, audio.SynthConfig{LevelDBFS: c.Voice.LevelDBFS}},
	} {
		if _, err := audio.NewSynth(v.cfg); err != nil {
			return &pipeline.FieldError{Field: v.field, Value: formatFloat(v.value), Reason: err.Error()}
		}
	}
	return nil
}

func (v Voice) synthConfig() audio.SynthConfig {
	return audio.SynthConfig{PitchHz: v.PitchHz, SyllablesPerSecond: v.SyllablesPerSecond, LevelDBFS: v.LevelDBFS, Seed: v.Seed}
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Provision builds the voice once for every session of the architecture,
// with a cache: runs of a scenario repeat the same sentences.
func (c *Config) Provision() error {
	s, err := audio.NewSynth(c.Voice.synthConfig())
	if err != nil {
		return &pipeline.FieldError{Field: "voice", Reason: err.Error()}
	}
	c.synth = s.WithCache(512)
	return nil
}
