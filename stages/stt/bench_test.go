package stt_test

import (
	"testing"

	"github.com/voicesim/voicesim/pipeline"
)

// speaking sets up a streaming STT hearing a long utterance, partials
// ticking, and returns a function that feeds it the next 20 ms frame and
// runs the clock over it.
func speaking(tb testing.TB, name string) (h *harness, next func()) {
	h = newHarness(tb, build(tb, name, ""))
	h.S.Input(pipeline.Frame{Kind: pipeline.SpeechStarted})
	h.S.Input(pipeline.Frame{Kind: pipeline.UserAudio, Flags: pipeline.FlagSpeechStart, Audio: h.buf,
		Text: "so I was wondering whether you could help me plan a trip to the mountains next month with my family"})
	var seq uint64
	in := h.S.Input // bound once: a method value allocates each time it is made
	next = func() {
		seq++
		now := h.S.Now()
		h.S.AfterFrame(pipeline.FrameDuration, pipeline.Frame{Kind: pipeline.UserAudio, Seq: seq, At: now, Audio: h.buf}, in)
		h.VC.RunUntil(now + pipeline.FrameDuration)
	}
	for range 200 { // warm up the event pool and the sink's slice
		next()
	}
	h.Down = h.Down[:0]
	return h, next
}

// BenchmarkStreamingFrame measures one user audio frame through a session
// holding stt.streaming mid-utterance (partials every 200 ms included).
func BenchmarkStreamingFrame(b *testing.B) {
	h, next := speaking(b, "stt.streaming")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next()
		if len(h.Down) > 1<<16 {
			h.Down = h.Down[:0]
		}
	}
}

// BenchmarkWhisperFrame is the same for stt.whisper.
func BenchmarkWhisperFrame(b *testing.B) {
	h, next := speaking(b, "stt.whisper")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next()
		if len(h.Down) > 1<<16 {
			h.Down = h.Down[:0]
		}
	}
}

// TestPerFrameAllocations: an audio frame costs no allocation in either
// recogniser, partial ticks included.
func TestPerFrameAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, name := range []string{"stt.streaming", "stt.whisper"} {
		t.Run(name, func(t *testing.T) {
			h, next := speaking(t, name)
			h.Down = make([]rec, 0, 4096)
			// 250 frames = 5 s: 25 partial ticks, with new words.
			if got := testing.AllocsPerRun(250, next); got != 0 {
				t.Errorf("%v allocations per frame; want 0", got)
			}
			if name == "stt.streaming" && len(h.Of(pipeline.TranscriptPartial)) == 0 {
				t.Error("no partials while measuring: the tick path was not exercised")
			}
		})
	}
}
