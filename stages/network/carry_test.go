package network_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
	"github.com/voicesim/voicesim/stages/network"
)

// TestLostTruthIsCarried: under heavy loss, the ground truth of a lost
// frame (its speech-end flag and transcript) rides on the next frame that
// arrives, so a model that consults it is not fooled by one lost packet,
// and the server's speech-end arrival is marked exactly once per end.
func TestLostTruthIsCarried(t *testing.T) {
	carried := 0
	for seed := uint64(1); seed <= 40; seed++ {
		p, err := pipetest.Prepare(t, network.Register, "network.uplink", "profile: lan\nloss: 0.5\n")
		if err != nil {
			t.Fatal(err)
		}
		h := pipetest.New(t, "uplink", p.New(), pipeline.Options{Seed: seed})
		buf := make([]int16, pipeline.FrameSamples)
		const ends = 5
		for i := range 100 {
			f := pipeline.Frame{Kind: pipeline.UserAudio, Seq: uint64(i), At: time.Duration(i) * pipeline.FrameDuration, Audio: buf}
			if i%20 == 10 {
				f.Flags |= pipeline.FlagSpeechEnd
				f.Text = "the end"
			}
			h.Send(f.At+pipeline.FrameDuration, f)
		}
		h.Run()
		got := 0
		for _, r := range h.Of(pipeline.UserAudio) {
			if r.F.Flags&pipeline.FlagSpeechEnd != 0 {
				got++
				if r.F.Text != "the end" {
					t.Fatalf("seed %d: end frame arrived without its transcript: %+v", seed, r.F)
				}
				if r.F.Seq%20 != 10 {
					carried++
				}
			}
		}
		if got != ends {
			t.Errorf("seed %d: %d speech ends reached the server; want %d", seed, got, ends)
		}
		if n := h.S.Timeline().Count(pipeline.MarkServerSpeechEnd); n != ends {
			t.Errorf("seed %d: %d server.speech_end marks; want %d", seed, n, ends)
		}
	}
	if carried == 0 {
		t.Error("no end was ever carried at 50% loss: the test did not exercise a loss")
	}
}
