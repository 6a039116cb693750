package catalog_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
	"github.com/voicesim/voicesim/scenarios"
	"github.com/voicesim/voicesim/stages/vad"
)

// TestVADOnEveryShippedClip: the VAD's onset and offset estimates land
// within 60 ms of the ground truth on every clip of the scenario library —
// including a long question ending in a soft fricative ("works?"), whose
// ending an energy VAD loses if its noise floor creeps up during speech.
func TestVADOnEveryShippedClip(t *testing.T) {
	const tolerance = 60 * time.Millisecond
	for _, asset := range scenarios.Assets() {
		t.Run(asset, func(t *testing.T) {
			c, err := scenarios.LoadClip("", asset)
			if err != nil {
				t.Fatal(err)
			}
			p, err := pipetest.Prepare(t, vad.Register, "vad.energy", "")
			if err != nil {
				t.Fatal(err)
			}
			h := pipetest.New(t, "vad", p.New(), pipeline.Options{})
			lead := time.Second
			samples := append(make([]int16, pipeline.SampleRate), c.Samples...)
			samples = append(samples, make([]int16, pipeline.SampleRate)...)
			for i := 0; i+pipeline.FrameSamples <= len(samples); i += pipeline.FrameSamples {
				at := pipeline.SamplesDuration(i)
				h.Send(at+pipeline.FrameDuration, pipeline.Frame{Kind: pipeline.UserAudio, At: at, Audio: samples[i : i+pipeline.FrameSamples]})
			}
			h.Run()
			st, sp := h.Of(pipeline.SpeechStarted), h.Of(pipeline.SpeechStopped)
			if len(st) == 0 || len(sp) != len(st) {
				t.Fatalf("%d starts, %d stops; want matching, at least one", len(st), len(sp))
			}
			on := st[0].F.At - lead - c.Speech[0].Start
			off := sp[len(sp)-1].F.At - lead - c.Speech[len(c.Speech)-1].End
			if on < -tolerance || on > tolerance || off < -tolerance || off > tolerance {
				t.Errorf("onset error %v, offset error %v; want both within ±%v", on, off, tolerance)
			}
		})
	}
}
