package tts_test

import (
	"testing"

	"github.com/voicesim/voicesim/pipeline"
)

// BenchmarkAnswer synthesises and frames a 3-sentence answer (about 7 s of
// audio, 350 frames) and sends it on the realtime schedule: one op is one
// whole answer.
func BenchmarkAnswer(b *testing.B) {
	p, err := prepare(b, "")
	if err != nil {
		b.Fatal(err)
	}
	frames := 0
	sink := pipeline.StageFunc(func(_ *pipeline.Context, f pipeline.Frame, _ pipeline.Direction) {
		if f.Kind == pipeline.AssistantAudio {
			frames++
		}
	})
	s := pipeline.NewSession(pipeline.Options{}, pipeline.Named{Name: "tts", Stage: p.New()}, pipeline.Named{Name: "sink", Stage: sink})
	s.Start()
	vc := s.Clock().(*pipeline.VirtualClock)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := pipeline.ResponseID(i + 1)
		for _, text := range answer {
			s.Input(pipeline.Frame{Kind: pipeline.AssistantText, Response: r, Text: text})
		}
		s.Input(pipeline.Frame{Kind: pipeline.ResponseDone, Response: r})
		vc.Run()
	}
	b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
}
