package web

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/voicesim/voicesim/pipeline"
)

// The wire protocol (PROTOCOL.md is its reference): JSON text messages for
// setup, reports, events and metrics; binary messages for audio. Client
// audio is bare PCM16 LE mono 24 kHz; server audio carries a 12-byte header
// (response, seq, flags) so a client can run a real playout buffer.

// Client → server message types.
const (
	TypeStart    = "start"
	TypeTruth    = "truth"
	TypePlayback = "playback"
	TypeStop     = "stop"
)

// Server → client message types.
const (
	TypeSessionStarted      = "session.started"
	TypeMark                = "mark"
	TypeSpeechStarted       = "speech.started"
	TypeSpeechStopped       = "speech.stopped"
	TypeResponseDone        = "response.done"
	TypeResponseInterrupted = "response.interrupted"
	TypeTurnMetrics         = "turn.metrics"
	TypeSessionSummary      = "session.summary"
	TypeError               = "error"
)

// Playback report events.
const (
	PlaybackFirstAudio = "first_audio" // the response's first audio frame reached the client
	PlaybackStarted    = "started"     // its first sample reached the ear
	PlaybackStopped    = "stopped"     // playback ended or was cut; played_ms says how much
)

// Network choices of a start message.
const (
	NetworkNone   = "none"   // the real wire only (default)
	NetworkPreset = "preset" // simulate the preset's own network legs on top of the wire
)

// Error codes of error events. Stable: clients switch on them.
const (
	CodeMalformedJSON    = "malformed_json"
	CodeMissingType      = "missing_type"
	CodeUnknownType      = "unknown_type"
	CodeInvalidMessage   = "invalid_message"
	CodeInvalidStart     = "invalid_start"
	CodeAlreadyStarted   = "already_started"
	CodeNotStarted       = "not_started"
	CodeUnsupportedAudio = "unsupported_audio_format"
	CodeAudioOddLength   = "audio_odd_length"
	CodeAudioTooLarge    = "audio_too_large"
	CodeAudioEmpty       = "audio_empty"
	CodeAudioTooFast     = "audio_too_fast"
	CodeTooManyErrors    = "too_many_errors"
	CodeServerFull       = "server_full"
	CodeStartTimeout     = "start_timeout"
	CodeSlowClient       = "slow_client"
	CodeInternal         = "internal_error"
	CodeStageError       = "stage_error"
	CodeMessageTooLarge  = "message_too_large"
)

// StartMessage opens a session. Every field is optional.
type StartMessage struct {
	Type string `json:"type"`
	// Preset names the architecture (default: the server's --preset).
	Preset string `json:"preset,omitempty"`
	// Stages, instead of a preset, define the architecture inline, like a
	// preset's stage list (configs included); Label names it.
	Stages []StageConfig `json:"stages,omitempty"`
	Label  string        `json:"label,omitempty"`
	Kind   string        `json:"kind,omitempty"`
	// Overrides are per-stage config layers, keyed by stage name, as in a
	// scenario's overrides: {"turn.silence": {"silence": "300ms"}}.
	Overrides map[string]json.RawMessage `json:"overrides,omitempty"`
	// Network is "none" (default), "preset", or a network profile name.
	Network string `json:"network,omitempty"`
	// Seed seeds the session's random source (default: random).
	Seed *uint64 `json:"seed,omitempty"`
	// Audio declares the client's audio; only PCM16 mono 24 kHz is accepted.
	Audio *AudioFormat `json:"audio,omitempty"`
	// Replies script the assistant's answers by transcript; text "*"
	// matches any transcript (a live microphone has no true transcript).
	Replies []Reply `json:"replies,omitempty"`
	// Client names the client in logs and records.
	Client string `json:"client,omitempty"`
}

// AudioFormat describes an audio stream.
type AudioFormat struct {
	Format     string `json:"format"`
	SampleRate int    `json:"sample_rate"`
	Channels   int    `json:"channels"`
}

// Reply scripts one answer.
type Reply struct {
	Text  string `json:"text"`
	Reply string `json:"reply"`
}

// TruthMessage reports a ground-truth instant of the user's speech at a
// sample of the client's stream (sample 0 is the first sample sent).
type TruthMessage struct {
	Type   string  `json:"type"`
	Name   string  `json:"name"` // one of the user.* truth marks
	Sample int64   `json:"sample"`
	Turn   int     `json:"turn"`
	Value  float64 `json:"value,omitempty"`
	Text   string  `json:"text,omitempty"`
}

// PlaybackMessage reports the client's playback of a response. TMs is the
// instant on the client's stream clock: ms since sample 0 of its audio.
type PlaybackMessage struct {
	Type     string  `json:"type"`
	Event    string  `json:"event"`
	Response uint32  `json:"response"`
	TMs      float64 `json:"t_ms"`
	PlayedMs float64 `json:"played_ms,omitempty"`
}

// ErrorEvent names a problem. Fatal errors are followed by a close.
type ErrorEvent struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Fatal   bool   `json:"fatal,omitempty"`
}

// SessionStarted answers a valid start.
type SessionStarted struct {
	Type        string `json:"type"`
	Session     string `json:"session"`
	Preset      string `json:"preset"`
	Kind        string `json:"kind"`
	Description string `json:"description"`
	// Stages run at the server, in chain order.
	Stages []string `json:"stages"`
	// ClientStages are the preset's client-side stages (the playout) with
	// their effective configs, for a client that models its end.
	ClientStages []StageConfig `json:"client_stages"`
	Network      string        `json:"network"`
	Seed         uint64        `json:"seed"`
	SampleRate   int           `json:"sample_rate"`
	FrameSamples int           `json:"frame_samples"`
}

// StageConfig is a stage name and its config.
type StageConfig struct {
	Stage  string          `json:"stage"`
	Config json.RawMessage `json:"config,omitempty"`
}

// MarkEvent is one timeline mark, stamped at AtMs of session time;
// StreamMs is the same instant on the client's stream clock.
type MarkEvent struct {
	Type     string  `json:"type"`
	Name     string  `json:"name"`
	AtMs     float64 `json:"at_ms"`
	StreamMs float64 `json:"stream_ms"`
	Response uint32  `json:"response,omitempty"`
	Turn     int     `json:"turn"`
	Stage    string  `json:"stage,omitempty"`
	Value    float64 `json:"value,omitempty"`
	Text     string  `json:"text,omitempty"`
}

// ResponseEvent reports the end or interruption of a response's audio.
type ResponseEvent struct {
	Type     string `json:"type"`
	Response uint32 `json:"response"`
	// Frames is the response's audio frame count (response.done).
	Frames uint64 `json:"frames,omitempty"`
	// Cancelled: stopped for a reason other than a barge-in.
	Cancelled bool `json:"cancelled,omitempty"`
}

// TurnEvent carries one turn's metrics; it is sent again when they change
// (the answer's first sample played, its playback ended, a barge-in).
type TurnEvent struct {
	Type string               `json:"type"`
	Arch string               `json:"arch"`
	Turn pipeline.TurnMetrics `json:"turn"`
}

// SummaryEvent closes a session: every turn, counter and mark.
type SummaryEvent struct {
	Type     string                 `json:"type"`
	Arch     string                 `json:"arch"`
	Turns    []pipeline.TurnMetrics `json:"turns"`
	Counters map[string]int64       `json:"counters"`
	Marks    []pipeline.Mark        `json:"marks"`
	Errors   []string               `json:"errors,omitempty"`
}

// AudioHeaderSize is the length of a server audio message's header:
// response (uint32 LE), seq (uint32 LE), flags (uint8), 3 bytes reserved.
const AudioHeaderSize = 12

// Server audio header flags.
const (
	AudioFlagLast      = 1 // the response's last frame
	AudioFlagConcealed = 2 // silence standing in for a lost frame
)

// appendAudio encodes an assistant audio frame for the wire.
func appendAudio(dst []byte, f pipeline.Frame) []byte {
	var h [AudioHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(f.Response))
	binary.LittleEndian.PutUint32(h[4:], uint32(f.Seq))
	if f.Flags&pipeline.FlagLast != 0 {
		h[8] |= AudioFlagLast
	}
	if f.Flags&pipeline.FlagConcealed != 0 {
		h[8] |= AudioFlagConcealed
	}
	dst = append(dst, h[:]...)
	n := len(dst)
	dst = slices.Grow(dst, 2*len(f.Audio))[:n+2*len(f.Audio)]
	for i, s := range f.Audio {
		binary.LittleEndian.PutUint16(dst[n+2*i:], uint16(s))
	}
	return dst
}

// protoError is a problem with a client message: its code and message go
// into an error event.
type protoError struct {
	code, msg string
	fatal     bool
}

func (e *protoError) Error() string { return e.code + ": " + e.msg }

func perr(code, format string, args ...any) *protoError {
	return &protoError{code: code, msg: fmt.Sprintf(format, args...)}
}

// envelope is the part every JSON message shares.
type envelope struct {
	Type *string `json:"type"`
}

// decodeText parses a client JSON message into one of the message types.
func decodeText(data []byte) (any, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ):
			return nil, perr(CodeInvalidMessage, "field %q: want a %s, got %s", typ.Field, typ.Type, typ.Value)
		case errors.As(err, &syn):
			return nil, perr(CodeMalformedJSON, "malformed JSON at byte %d: %v", syn.Offset, err)
		}
		return nil, perr(CodeMalformedJSON, "malformed JSON: %v", err)
	}
	if env.Type == nil || *env.Type == "" {
		return nil, perr(CodeMissingType, `message has no "type" field`)
	}
	var msg any
	switch *env.Type {
	case TypeStart:
		msg = &StartMessage{}
	case TypeTruth:
		msg = &TruthMessage{}
	case TypePlayback:
		msg = &PlaybackMessage{}
	case TypeStop:
		return TypeStop, nil
	default:
		return nil, perr(CodeUnknownType, "unknown message type %q (want %s)", *env.Type,
			strings.Join([]string{TypeStart, TypeTruth, TypePlayback, TypeStop}, ", "))
	}
	if err := json.Unmarshal(data, msg); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, perr(CodeInvalidMessage, "%s message: field %q: want a %s, got %s", *env.Type, typ.Field, typ.Type, typ.Value)
		}
		return nil, perr(CodeInvalidMessage, "%s message: %v", *env.Type, err)
	}
	if v, ok := msg.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// truthNames are the marks a client may report as ground truth.
var truthNames = []string{
	pipeline.MarkUserSpeechStart, pipeline.MarkUserSpeechEnd,
	pipeline.MarkUserPauseStart, pipeline.MarkUserPauseEnd,
	pipeline.MarkUserBackchannel, pipeline.MarkUserBackchannelDone,
}

func (m *TruthMessage) validate() error {
	ok := false
	for _, n := range truthNames {
		ok = ok || m.Name == n
	}
	switch {
	case !ok:
		return perr(CodeInvalidMessage, "truth message: name %q is not a truth mark (want one of %s)", m.Name, strings.Join(truthNames, ", "))
	case m.Sample < 0:
		return perr(CodeInvalidMessage, "truth message: sample %d is negative", m.Sample)
	case m.Turn < -1:
		return perr(CodeInvalidMessage, "truth message: turn %d is negative", m.Turn)
	}
	return nil
}

func (m *PlaybackMessage) validate() error {
	switch m.Event {
	case PlaybackFirstAudio, PlaybackStarted, PlaybackStopped:
	default:
		return perr(CodeInvalidMessage, "playback message: event %q (want %s, %s or %s)", m.Event, PlaybackFirstAudio, PlaybackStarted, PlaybackStopped)
	}
	switch {
	case m.Response == 0:
		return perr(CodeInvalidMessage, "playback message: response must be a response ID (> 0)")
	case !(m.TMs >= 0) || m.TMs > 1e9:
		return perr(CodeInvalidMessage, "playback message: t_ms %v is not a stream time in ms", m.TMs)
	case !(m.PlayedMs >= 0) || m.PlayedMs > 1e9:
		return perr(CodeInvalidMessage, "playback message: played_ms %v is not a duration in ms", m.PlayedMs)
	}
	return nil
}

func (m *StartMessage) validate() error {
	switch {
	case len(m.Stages) > 0 && m.Preset != "":
		return perr(CodeInvalidStart, "give a preset or an inline stage list, not both")
	case len(m.Stages) > 0 && len(m.Overrides) > 0:
		return perr(CodeInvalidStart, "an inline architecture has its configs in its stages: overrides are for presets")
	case len(m.Stages) > 64:
		return perr(CodeInvalidStart, "%d stages: an architecture has at most 64", len(m.Stages))
	}
	if a := m.Audio; a != nil {
		if (a.Format != "" && a.Format != "pcm16") || (a.Channels != 0 && a.Channels != 1) {
			return &protoError{code: CodeUnsupportedAudio, fatal: true,
				msg: fmt.Sprintf("audio format %s with %d channels is not supported (want pcm16, 1 channel)", a.Format, a.Channels)}
		}
		if a.SampleRate != 0 && a.SampleRate != pipeline.SampleRate {
			return &protoError{code: CodeUnsupportedAudio, fatal: true,
				msg: fmt.Sprintf("sample rate %d Hz is not supported (want %d Hz; resample on the client)", a.SampleRate, pipeline.SampleRate)}
		}
	}
	return nil
}
