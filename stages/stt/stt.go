// Package stt holds the speech-to-text stages:
//
//   - stt.whisper: a batch recogniser that transcribes each turn after it
//     ends (overhead + real-time factor × speech);
//   - stt.streaming: a streaming recogniser with partial transcripts and a
//     final a vendor-measured delay after the end of speech.
//
// Both consume the VAD's SpeechStarted/SpeechStopped and the turn stage's
// TurnEnded (all forwarded on), read the words of each utterance from the
// script's ground truth, and emit TranscriptFinal{Response: r} stamped
// stt.final. See transcript.go for how words are revealed and carried over.
package stt

import "github.com/voicesim/voicesim/pipeline"

// Register adds stt.whisper and stt.streaming to r.
func Register(r *pipeline.Registry) {
	pipeline.Register(r, "stt.whisper", "batch speech-to-text: transcribes each turn after it ends (overhead + rtf × speech)", DefaultWhisper, NewWhisper)
	pipeline.Register(r, "stt.streaming", "streaming speech-to-text: partials while the user speaks, final a vendor-measured delay after speech ends", DefaultStreaming, NewStreaming)
}
