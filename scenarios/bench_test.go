package scenarios

import (
	"testing"
	"time"
)

// BenchmarkLibrary runs the whole shipped library (every scenario × its
// architectures × 100 runs) on one worker and reports simulated conversation
// seconds per CPU second.
func BenchmarkLibrary(b *testing.B) {
	scs := library(b)
	var simulated time.Duration
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rep, err := Run(scs, RunOptions{Runs: 100, Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range rep.Scenarios {
			for _, a := range s.Architectures {
				simulated += time.Duration(a.Counts[CounterSimulatedMs]) * time.Millisecond
			}
		}
	}
	b.ReportMetric(simulated.Seconds()/b.Elapsed().Seconds(), "x_realtime")
	b.ReportMetric(simulated.Seconds()/float64(b.N), "sim_s/op")
}
