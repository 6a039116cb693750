package pipeline

import (
	"sort"
	"time"
)

// Mark names. Truth marks come from the input script (what really happened
// at the user's mouth); the rest are stamped by stages as they act. Reports
// and metrics refer to these names, so they are stable.
const (
	// Ground truth, stamped by the input script with the user turn index.
	MarkUserSpeechStart     = "user.speech_start" // Value 1: scripted as a barge-in
	MarkUserSpeechEnd       = "user.speech_end"
	MarkUserPauseStart      = "user.pause_start" // a mid-utterance pause
	MarkUserPauseEnd        = "user.pause_end"
	MarkUserBackchannel     = "user.backchannel_start"
	MarkUserBackchannelDone = "user.backchannel_end"

	// Server side.
	MarkServerSpeechEnd    = "server.speech_end" // the frame holding the true end arrived
	MarkVADSpeechStart     = "vad.speech_start"
	MarkVADSpeechStop      = "vad.speech_stop"
	MarkTurnEnd            = "turn.end" // turn end detected; a response begins
	MarkSTTFinal           = "stt.final"
	MarkLLMRequest         = "llm.request"
	MarkLLMFirstToken      = "llm.first_token"
	MarkLLMDone            = "llm.done"
	MarkTTSRequest         = "tts.request" // first text handed to TTS
	MarkTTSFirstAudio      = "tts.first_audio"
	MarkTTSDone            = "tts.done"
	MarkNativeFirstAudio   = "native.first_audio"
	MarkInterrupted        = "response.interrupted" // a barge-in cancelled the response
	MarkCancelled          = "response.cancelled"   // cancelled for another reason
	MarkBackchannelIgnored = "turn.backchannel_ignored"
	// MarkHeard is stamped when an answer's heard part is known (after
	// playback ends or is cut): Text is what the user heard, Value the
	// fraction of the answer's text.
	MarkHeard = "response.heard"
	// MarkResponseText records an answer's full text (Text).
	MarkResponseText = "response.text"

	// Client side.
	MarkClientFirstAudio  = "client.first_audio"  // first assistant audio arrived
	MarkClientFirstPlayed = "client.first_played" // its first sample played
	MarkClientPlayedEnd   = "client.played_end"   // playback of the response ended; Value: ms played
)

// Mark is one named instant on a session's timeline.
type Mark struct {
	Name     string        `json:"name"`
	At       time.Duration `json:"at_ns"`
	Response ResponseID    `json:"response,omitempty"`
	// Turn is the user turn index for truth marks, -1 otherwise.
	Turn  int     `json:"turn"`
	Stage string  `json:"stage,omitempty"`
	Value float64 `json:"value,omitempty"`
	// Text carries words where a mark is about them: the transcript a
	// stage produced, the part of an answer the user actually heard.
	Text string `json:"text,omitempty"`
}

// Timeline is the ordered list of marks of one session.
type Timeline struct {
	Marks []Mark `json:"marks"`
}

func (t *Timeline) add(m Mark) { t.Marks = append(t.Marks, m) }

// Add appends a mark (for input scripts and tests).
func (t *Timeline) Add(m Mark) { t.add(m) }

// Sorted returns the marks ordered by time, ties in stamping order.
func (t *Timeline) Sorted() []Mark {
	out := append([]Mark(nil), t.Marks...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// First returns the earliest mark called name for response r.
func (t *Timeline) First(name string, r ResponseID) (Mark, bool) {
	var best Mark
	found := false
	for _, m := range t.Marks {
		if m.Name == name && m.Response == r && (!found || m.At < best.At) {
			best, found = m, true
		}
	}
	return best, found
}

// Count returns how many marks are called name.
func (t *Timeline) Count(name string) int {
	n := 0
	for _, m := range t.Marks {
		if m.Name == name {
			n++
		}
	}
	return n
}
