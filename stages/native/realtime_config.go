package native

import (
	"fmt"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// RealtimeConfig configures native.realtime, a turn-based speech-to-speech
// model in the style of GPT-4o behind the OpenAI Realtime API.
//
// Calibration. OpenAI's published GPT-4o figure — audio responses "in as
// little as 232 milliseconds, with an average of 320 milliseconds" (GPT-4o
// announcement, May 2024) — is the model's own response time: end of the
// user's audio given to the model → first audio out. It excludes the server
// VAD's silence timeout (500 ms alone would exceed it), the network and
// client buffering, which are other stages here. So the defaults make
// native_ttfa (turn.end → native.first_audio = ttfa + decoder_delay, the
// first audio token already being included in ttfa) average ≈ 320 ms with
// a minimum ≈ 232 ms over a few hundred turns: ttfa is lognormal through
// p50 300 ms / p95 380 ms (mean ≈ 303 ms), floored at 212 ms (about 0.8% of
// draws hit the floor, so 200 turns see it about once or twice), plus a
// 20 ms decoder delay.
type RealtimeConfig struct {
	// CodecFrame is how much user audio the audio encoder consumes per
	// step. Default 20 ms: the Realtime API's own audio chunking; GPT-4o's
	// internal tokenizer frame is unpublished (assumption).
	CodecFrame pipeline.Duration `yaml:"codec_frame"`
	// EncoderDelay is the time from a codec frame's last sample arriving to
	// its tokens being ready. The model cannot start answering before the
	// encoder has caught up. Default 20 ms, one codec frame (assumption;
	// with a 500 ms server-VAD silence it is never on the critical path).
	EncoderDelay pipeline.Latency `yaml:"encoder_delay"`
	// AudioPerInputToken is the user audio one input token carries.
	// Default 100 ms: "Audio tokens in user messages are 1 token per 100 ms
	// of audio" (OpenAI, Realtime API "Managing costs"). For a Mimi-style
	// codec with 8 codebooks at 12.5 Hz it would be 10 ms.
	AudioPerInputToken pipeline.Duration `yaml:"audio_per_input_token"`
	// AudioPerOutputToken is the assistant audio one output token carries.
	// Default 50 ms: "audio tokens in assistant messages are 1 token per
	// 50ms of audio" (same source), i.e. 20 tokens per second of speech.
	AudioPerOutputToken pipeline.Duration `yaml:"audio_per_output_token"`
	// TTFA is the time from the user's turn ending (and the encoder having
	// caught up) to the model's first audio token. Default
	// {p50: 300ms, p95: 380ms, floor: 212ms}; see Calibration above.
	TTFA pipeline.Latency `yaml:"ttfa"`
	// TokensPerSecond is the model's output audio token generation speed.
	// Real time needs at least 1/audio_per_output_token (20/s by default);
	// below that the client's playback underruns. Default 120/s: GPT-4o's
	// text decode speed (~120 tokens/s, per the design card this project
	// starts from), assuming audio tokens decode as fast (assumption).
	TokensPerSecond float64 `yaml:"tokens_per_second"`
	// DecoderDelay is the time from a token being generated to its audio
	// being out of the codec decoder. Default 20 ms, one output frame
	// (assumption: GPT-4o's decoder is unpublished).
	DecoderDelay pipeline.Latency `yaml:"decoder_delay"`
	// VoiceConfig: voice_pitch_hz and answers, shared with native.duplex.
	VoiceConfig `yaml:",inline"`
}

// Realtime defaults. Sources are on the fields above.
const (
	DefaultRealtimeCodecFrame          = 20 * time.Millisecond
	DefaultRealtimeAudioPerInputToken  = 100 * time.Millisecond
	DefaultRealtimeAudioPerOutputToken = 50 * time.Millisecond
	DefaultRealtimeTokensPerSecond     = 120
	DefaultRealtimeTTFA                = "{p50: 300ms, p95: 380ms, floor: 212ms}"
	DefaultRealtimeEncoderDelay        = "20ms"
	DefaultRealtimeDecoderDelay        = "20ms"
)

// RealtimeDefaults returns native.realtime's default config.
func RealtimeDefaults() *RealtimeConfig {
	return &RealtimeConfig{
		CodecFrame:          pipeline.Duration(DefaultRealtimeCodecFrame),
		EncoderDelay:        mustLatency(DefaultRealtimeEncoderDelay),
		AudioPerInputToken:  pipeline.Duration(DefaultRealtimeAudioPerInputToken),
		AudioPerOutputToken: pipeline.Duration(DefaultRealtimeAudioPerOutputToken),
		TTFA:                mustLatency(DefaultRealtimeTTFA),
		TokensPerSecond:     DefaultRealtimeTokensPerSecond,
		DecoderDelay:        mustLatency(DefaultRealtimeDecoderDelay),
		VoiceConfig:         voiceDefaults(),
	}
}

// Validate checks every field, naming the first bad one and its value.
func (c *RealtimeConfig) Validate() error {
	switch {
	case c.CodecFrame <= 0 || c.CodecFrame.D() > time.Second:
		return fieldErr("codec_frame", c.CodecFrame, "must be in (0, 1s]")
	case c.AudioPerInputToken <= 0:
		return fieldErr("audio_per_input_token", c.AudioPerInputToken, "must be positive")
	case c.AudioPerOutputToken <= 0:
		return fieldErr("audio_per_output_token", c.AudioPerOutputToken, "must be positive")
	case !(c.TokensPerSecond > 0 && c.TokensPerSecond <= 1e6):
		return fieldErr("tokens_per_second", c.TokensPerSecond, "must be in (0, 1e6] tokens per second")
	}
	return c.VoiceConfig.validate()
}

func fieldErr(field string, value any, reason string) error {
	return &pipeline.FieldError{Field: field, Value: fmt.Sprint(value), Reason: reason}
}

var _ pipeline.Validator = (*RealtimeConfig)(nil)

// speechCacheEntries bounds each voice's cache of synthesised answers.
const speechCacheEntries = 512
