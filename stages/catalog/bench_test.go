package catalog_test

import (
	"testing"

	"github.com/voicesim/voicesim/pipeline"
)

// BenchmarkTurn simulates one full question-and-answer turn (the user's
// question, the whole answer played out) through each preset under the
// virtual clock.
func BenchmarkTurn(b *testing.B) {
	for _, name := range []string{"cascaded-streaming", "cascaded-voice-mode-2023", "native-gpt4o", "full-duplex-moshi"} {
		b.Run(name, func(b *testing.B) {
			a := arch(b, name, nil)
			script := single(b)
			b.ReportAllocs()
			var simulated float64
			for i := 0; i < b.N; i++ {
				mic := &pipeline.Mic{Utterances: script.Utterances}
				s := a.NewSession(pipeline.Options{Seed: uint64(i), Output: mic.Output, Replies: mic.Replies})
				s.Start()
				if err := mic.Start(s); err != nil {
					b.Fatal(err)
				}
				s.Clock().(*pipeline.VirtualClock).Run()
				simulated += s.Now().Seconds()
			}
			b.ReportMetric(simulated/b.Elapsed().Seconds(), "x_realtime")
		})
	}
}
