package stt_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

const weather = "what is the weather like tomorrow"

// TestWhisperFinalTiming: the final comes overhead + rtf × speech after the
// turn end, to the nanosecond, with the turn's words.
func TestWhisperFinalTiming(t *testing.T) {
	cases := []struct {
		name     string
		cfg      string
		utts     []utt
		segments [][2]time.Duration // VAD onset/offset
		turnEnd  time.Duration
		want     time.Duration
		wantText string
	}{
		{
			name: "hosted API", cfg: "overhead: 1500ms\nrtf: 0.15\n",
			utts:     []utt{{200 * ms, 1400 * ms, weather}},
			segments: [][2]time.Duration{{200 * ms, 1400 * ms}},
			// 1.9 s + 1.5 s + 0.15 × 1.2 s
			turnEnd: 1900 * ms, want: 3580 * ms, wantText: weather,
		},
		{
			name: "local profile, rtf overridden", cfg: "profile: local-gpu\noverhead: 150ms\nrtf: 0.05\n",
			utts:     []utt{{200 * ms, 1400 * ms, weather}},
			segments: [][2]time.Duration{{180 * ms, 1420 * ms}},
			// 1.9 s + 0.15 s + 0.05 × 1.24 s
			turnEnd: 1900 * ms, want: 2112 * ms, wantText: weather,
		},
		{
			name: "two segments, one turn", cfg: "overhead: 0s\nrtf: 0.5\n",
			utts:     []utt{{200 * ms, 1000 * ms, "turn on"}, {1600 * ms, 2400 * ms, "the kitchen lights"}},
			segments: [][2]time.Duration{{200 * ms, 1000 * ms}, {1600 * ms, 2400 * ms}},
			// 2.9 s + 0.5 × 1.6 s
			turnEnd: 2900 * ms, want: 3700 * ms, wantText: "turn on the kitchen lights",
		},
		{
			name: "no script text: placeholder", cfg: "overhead: 100ms\nrtf: 0\n",
			segments: [][2]time.Duration{{500 * ms, 2340 * ms}},
			turnEnd:  2840 * ms, want: 2940 * ms, wantText: "[untranscribed speech 1.84 s]",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, build(t, "stt.whisper", tc.cfg))
			h.mic(tc.turnEnd, 0, tc.utts...)
			for _, sg := range tc.segments {
				h.vad(sg[0], sg[1], 100*ms, 200*ms)
			}
			h.turnEnd(tc.turnEnd, 1)
			h.VC.Run()

			finals := h.Of(pipeline.TranscriptFinal)
			if len(finals) != 1 {
				t.Fatalf("got %d finals; want 1: %v", len(finals), finals)
			}
			if got := finals[0]; got.At != tc.want || got.F.Response != 1 || got.F.Text != tc.wantText {
				t.Errorf("final r%d %q at %v; want r1 %q at %v", got.F.Response, got.F.Text, got.At, tc.wantText, tc.want)
			}
			m, ok := h.S.Timeline().First(pipeline.MarkSTTFinal, 1)
			if !ok || m.At != tc.want || m.Text != tc.wantText {
				t.Errorf("stt.final mark %+v (found %v); want at %v with the transcript", m, ok, tc.want)
			}
			if got, want := len(h.Of(pipeline.UserAudio)), int(tc.turnEnd/pipeline.FrameDuration); got != want {
				t.Errorf("forwarded %d audio frames; want all %d", got, want)
			}
			if got := len(h.Of(pipeline.TurnEnded)); got != 1 {
				t.Errorf("forwarded %d TurnEnded; want 1", got)
			}
			if got, want := len(h.Of(pipeline.SpeechStarted))+len(h.Of(pipeline.SpeechStopped)), 2*len(tc.segments); got != want {
				t.Errorf("forwarded %d VAD frames; want %d", got, want)
			}
		})
	}
}

// TestWhisperPrematureTurnEnd: a turn end in the middle of an utterance
// transcribes only the words said so far (2.5 words/s, never the word in
// progress), and the audio heard so far.
func TestWhisperPrematureTurnEnd(t *testing.T) {
	cases := []struct {
		turnEnd  time.Duration
		wantText string
	}{
		{300 * ms, "[untranscribed speech 0.30 s]"}, // first word still in progress
		{1000 * ms, words(2)},                       // 2.5 words heard
		{2000 * ms, words(5)},
		{2900 * ms, words(7)}, // 7.25 words' time, but the 8th is not over
		{3100 * ms, words(8)}, // utterance ended
	}
	for _, tc := range cases {
		t.Run(tc.turnEnd.String(), func(t *testing.T) {
			h := newHarness(t, build(t, "stt.whisper", "overhead: 200ms\nrtf: 0.1\n"))
			h.mic(tc.turnEnd, 0, utt{0, 3 * time.Second, words(8)})
			h.vad(0, 0, 100*ms, 0) // still speaking as far as the VAD knows
			h.turnEnd(tc.turnEnd, 1)
			h.VC.Run()
			finals := h.Of(pipeline.TranscriptFinal)
			if len(finals) != 1 {
				t.Fatalf("got %d finals; want 1", len(finals))
			}
			// The speech heard is the audio up to the turn end.
			want := tc.turnEnd + 200*ms + tc.turnEnd/10
			if got := finals[0]; got.F.Text != tc.wantText || got.At != want {
				t.Errorf("final %q at %v; want %q at %v", got.F.Text, got.At, tc.wantText, want)
			}
		})
	}
}

// TestWhisperCarryOver: after a premature turn end, the next turn's
// transcript holds the whole utterance if the first response was cancelled
// unheard, and only the rest if the user heard it.
func TestWhisperCarryOver(t *testing.T) {
	cases := []struct {
		name       string
		heard      bool
		wantText   string
		wantSpeech time.Duration
	}{
		{"cancelled unheard: words carried over", false, words(8), 3 * time.Second},
		{"heard, then interrupted: only new words", true, "three four five six seven eight", 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, build(t, "stt.whisper", "overhead: 100ms\nrtf: 0.5\n"))
			h.mic(4*time.Second, 0, utt{0, 3 * time.Second, words(8)})
			h.vad(0, 3*time.Second, 100*ms, 200*ms)
			h.turnEnd(time.Second, 1) // premature: "one two"
			if tc.heard {
				h.SendUp(1700*ms, pipeline.Frame{Kind: pipeline.PlaybackStarted, Response: 1})
			}
			h.Send(1800*ms, pipeline.Frame{Kind: pipeline.Interruption, Response: 1})
			h.turnEnd(3500*ms, 2)
			h.VC.Run()

			finals := h.Of(pipeline.TranscriptFinal)
			if len(finals) != 2 {
				t.Fatalf("got %d finals; want 2: %v", len(finals), finals)
			}
			if got := finals[0].F; got.Response != 1 || got.Text != words(2) {
				t.Errorf("first final r%d %q; want r1 %q", got.Response, got.Text, words(2))
			}
			want := 3500*ms + 100*ms + tc.wantSpeech/2
			if got := finals[1]; got.F.Response != 2 || got.F.Text != tc.wantText || got.At != want {
				t.Errorf("second final r%d %q at %v; want r2 %q at %v", got.F.Response, got.F.Text, got.At, tc.wantText, want)
			}
			if len(h.Up) != btoi(tc.heard) {
				t.Errorf("%d frames went upstream; want the PlaybackStarted forwarded", len(h.Up))
			}
		})
	}
}

// TestWhisperInterruptionCancelsFinal: an interruption of r while its
// transcription is in flight means nothing of r is ever pushed, and a later
// turn still works.
func TestWhisperInterruptionCancelsFinal(t *testing.T) {
	h := newHarness(t, build(t, "stt.whisper", "overhead: 1500ms\nrtf: 0.15\n"))
	h.mic(6*time.Second, 0, utt{200 * ms, 1400 * ms, weather}, utt{4 * time.Second, 5 * time.Second, "never mind"})
	h.vad(200*ms, 1400*ms, 100*ms, 200*ms)
	h.vad(4*time.Second, 5*time.Second, 100*ms, 200*ms)
	h.turnEnd(1900*ms, 1)
	h.Send(2500*ms, pipeline.Frame{Kind: pipeline.Cancel, Response: 1})
	h.turnEnd(5500*ms, 2)
	h.VC.Run()
	for _, r := range h.Down {
		if r.F.Response == 1 && r.F.Kind != pipeline.TurnEnded {
			t.Errorf("pushed %v of cancelled response 1 at %v", r.F, r.At)
		}
	}
	if _, ok := h.S.Timeline().First(pipeline.MarkSTTFinal, 1); ok {
		t.Error("stt.final stamped for the cancelled response")
	}
	finals := h.Of(pipeline.TranscriptFinal)
	// r1 was never heard, so its words carry into r2's transcript.
	if len(finals) != 1 || finals[0].F.Response != 2 || finals[0].F.Text != weather+" never mind" {
		t.Errorf("finals %v; want one for r2 holding both utterances", finals)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
