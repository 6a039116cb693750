package network_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// BenchmarkLinkFrame measures one 20 ms audio frame across a leg: the input
// event, the wire's delivery event and the hand-over to the far end.
func BenchmarkLinkFrame(b *testing.B) {
	for _, src := range []string{"{profile: daily-tuned}", "{profile: poor-mobile}", "{profile: 4g, transport: tcp}"} {
		b.Run(src, func(b *testing.B) {
			sink := pipeline.StageFunc(func(*pipeline.Context, pipeline.Frame, pipeline.Direction) {})
			s := pipeline.NewSession(pipeline.Options{Seed: 1},
				pipeline.Named{Name: "network.downlink", Stage: link(b, "network.downlink", src)},
				pipeline.Named{Name: "sink", Stage: sink})
			s.Start()
			vc := s.Clock().(*pipeline.VirtualClock)
			buf := make([]int16, pipeline.FrameSamples)
			feed := s.Input
			f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1, Audio: buf}
			for i := range 1000 { // warm the event pool and counters
				f.Seq = uint64(i)
				s.AfterFrame(pipeline.FrameDuration, f, feed)
				vc.RunUntil(vc.Now() + pipeline.FrameDuration)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.Seq = uint64(1000 + i)
				s.AfterFrame(pipeline.FrameDuration, f, feed)
				vc.RunUntil(vc.Now() + pipeline.FrameDuration)
			}
			b.StopTimer()
			vc.RunUntil(vc.Now() + time.Minute)
		})
	}
}
