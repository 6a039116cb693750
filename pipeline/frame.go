package pipeline

import (
	"fmt"
	"time"
)

// Kind is a frame's type: the frame's kind is the message. Frames are small
// values passed by value, so moving audio through the pipeline allocates
// nothing.
type Kind uint8

// Data frames are queued and are dropped by an interruption of the response
// they belong to.
const (
	// UserAudio is PCM16 mono 24 kHz audio from the user's microphone.
	UserAudio Kind = iota + 1
	// AssistantAudio is PCM16 mono 24 kHz audio the assistant speaks.
	AssistantAudio
	// TranscriptPartial is an interim speech-to-text hypothesis.
	TranscriptPartial
	// TranscriptFinal is the final transcript of a user turn.
	TranscriptFinal
	// LLMToken is one token of the assistant's text response.
	LLMToken
	// AssistantText is text handed to speech synthesis (a sentence or clause).
	AssistantText
	// AudioTokens counts codec tokens produced by a native model's encoder.
	AudioTokens
)

// Control frames are ordered with data but mark boundaries.
const (
	// ResponseStarted marks the start of a response's generation.
	ResponseStarted Kind = iota + 32
	// ResponseDone marks that a stage has emitted all of a response.
	ResponseDone
	// PlaybackStarted and PlaybackStopped travel upstream from the client
	// playout so the server knows when the assistant is audible.
	PlaybackStarted
	PlaybackStopped
)

// System frames overtake queued data: the session delivers them before any
// data frame queued at the same instant.
const (
	// SpeechStarted and SpeechStopped are a voice activity detector's beliefs.
	SpeechStarted Kind = iota + 64
	SpeechStopped
	// TurnEnded says the user's turn is over and a response may begin; it
	// carries the new response's ID.
	TurnEnded
	// Interruption cancels a response: every stage drops its queued output
	// and pending work for it.
	Interruption
	// Cancel cancels a response without a user barge-in (e.g. a client
	// request).
	Cancel
	// Backchannel marks a short user sound that did not interrupt.
	Backchannel
	// Error carries a stage error upstream.
	Error
	// Metric carries a named measurement upstream.
	Metric
)

// IsSystem reports whether frames of this kind overtake queued data.
func (k Kind) IsSystem() bool { return k >= SpeechStarted }

// IsData reports whether frames of this kind are data.
func (k Kind) IsData() bool { return k < ResponseStarted }

var kindNames = map[Kind]string{
	UserAudio: "user_audio", AssistantAudio: "assistant_audio",
	TranscriptPartial: "transcript_partial", TranscriptFinal: "transcript_final",
	LLMToken: "llm_token", AssistantText: "assistant_text", AudioTokens: "audio_tokens",
	ResponseStarted: "response_started", ResponseDone: "response_done",
	PlaybackStarted: "playback_started", PlaybackStopped: "playback_stopped",
	SpeechStarted: "speech_started", SpeechStopped: "speech_stopped",
	TurnEnded: "turn_ended", Interruption: "interruption", Cancel: "cancel",
	Backchannel: "backchannel", Error: "error", Metric: "metric",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Direction is the way a frame travels: results flow downstream (towards the
// listener), errors, metrics and playback reports flow upstream.
type Direction uint8

const (
	Downstream Direction = iota
	Upstream
)

func (d Direction) String() string {
	if d == Upstream {
		return "up"
	}
	return "down"
}

// ResponseID identifies one assistant response. Zero means the frame belongs
// to no response (user audio, VAD events), so no interruption can drop it.
type ResponseID uint32

// Flags annotate frames with ground truth known to the input script. Stages
// under test must not base decisions on them; they exist so transport stages
// can stamp when the truth crossed them.
type Flags uint8

const (
	// FlagSpeechStart: the frame contains the true start of a user utterance.
	FlagSpeechStart Flags = 1 << iota
	// FlagSpeechEnd: the frame contains the true end of a user utterance.
	FlagSpeechEnd
	// FlagLast: the last frame of a response's audio.
	FlagLast
	// FlagConcealed: a frame synthesised by the client to hide a lost one.
	FlagConcealed
	// FlagVoiced: a voice activity detector judged this user audio frame to
	// hold speech. Unlike the truth flags, it is a detector's belief, set on
	// the frames it forwards, so later stages can count how long the user
	// has really been speaking (a VAD's stop hangover is not speech).
	FlagVoiced
)

// Frame is one message in the pipeline. Which fields matter depends on Kind:
// audio frames use Audio, text frames use Text, TurnEnded and Interruption
// use Response, Metric uses Text (name) and Value.
type Frame struct {
	Kind     Kind
	Flags    Flags
	Response ResponseID
	// Seq numbers frames of one stream (user audio, or one response's audio).
	Seq uint64
	// At is the session time the frame was captured (user audio) or produced.
	At time.Duration
	// Audio holds PCM16 mono 24 kHz samples. Stages never modify a frame's
	// samples in place: the slice may be shared with the clip it came from.
	// Nor do they keep them past Handle other than in the frame itself
	// (Push, AfterFrame) or as a Holder that reports them, and Output and
	// Observe callbacks not past their call: a source may reuse the storage
	// once the session holds no frame over it (FramePool). What must
	// outlive that is copied.
	Audio []int16
	// Text is a transcript, a token or a sentence, or an error message.
	Text string
	// Value carries a number: a token count, a metric, a playback offset.
	Value float64
}

// Duration returns the length of an audio frame's samples.
func (f Frame) Duration() time.Duration {
	return time.Duration(len(f.Audio)) * time.Second / SampleRate
}

func (f Frame) String() string {
	switch {
	case f.Audio != nil:
		return fmt.Sprintf("%s#%d r%d @%v (%d samples)", f.Kind, f.Seq, f.Response, f.At, len(f.Audio))
	case f.Text != "":
		return fmt.Sprintf("%s r%d @%v %q", f.Kind, f.Response, f.At, f.Text)
	}
	return fmt.Sprintf("%s r%d @%v", f.Kind, f.Response, f.At)
}

// Audio format of the pipeline and the wire: PCM16 mono 24 kHz in 20 ms
// frames, the OpenAI Realtime API's format.
const (
	SampleRate    = 24000
	FrameSamples  = 480
	FrameDuration = 20 * time.Millisecond
)
