package pipeline_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pace"
)

// TestPacedRunMatchesVirtualRun runs the same stages, seed and script on a
// VirtualClock as fast as it goes and on a pace.Lane in real time — the
// clock live sessions use. A lane fires each event at its own virtual time
// however late the wall clock gets to it, so with no outside input the two
// timelines, reports and counters must be byte-identical, random latencies
// included.
func TestPacedRunMatchesVirtualRun(t *testing.T) {
	l := chainLatencies{
		up: pipeline.LogNormal(3*time.Millisecond, 8*time.Millisecond), endpoint: pipeline.Const(50 * time.Millisecond),
		stt: pipeline.Normal(30*time.Millisecond, 6*time.Millisecond), llm: pipeline.LogNormal(35*time.Millisecond, 90*time.Millisecond),
		agg: pipeline.Const(10 * time.Millisecond), ttfb: pipeline.Uniform(6*time.Millisecond, 12*time.Millisecond),
		down: pipeline.Empirical(3*time.Millisecond, 4500*time.Microsecond, 9*time.Millisecond), buffer: 6 * time.Millisecond, frames: 10,
	}
	const seed = 5
	virt := pipeline.NewSession(pipeline.Options{Seed: seed}, buildChain(l)...)
	virt.Start()
	(&script{s: virt, turn: 0, start: 0, end: 200 * time.Millisecond}).schedule()
	virt.Clock().(*pipeline.VirtualClock).Run()

	lane := pace.New(1).NewLane(func(r any) { t.Errorf("event panicked: %v", r) })
	defer lane.Stop()
	// Before the lane's first Do its clock, at zero, is ours to set up.
	paced := pipeline.NewSession(pipeline.Options{Seed: seed, Clock: lane.Clock()}, buildChain(l)...)
	paced.Start()
	(&script{s: paced, turn: 0, start: 0, end: 200 * time.Millisecond}).schedule()
	lane.Do(func() {})
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	var end, wall time.Duration
	for done := false; !done; {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the paced session did not finish within 20 s")
		}
		lane.Do(func() { done, end, wall = paced.Pending() == 0, paced.Now(), lane.Now() })
	}
	want, got := reportJSON(t, virt), reportJSON(t, paced)
	if !bytes.Equal(want, got) {
		t.Fatalf("paced run differs from the virtual run:\nvirtual %s\npaced   %s", want, got)
	}
	// That it is not run early is pace's own tests' to show; here, that it
	// ran in real time at all.
	if first, ok := paced.Timeline().First(pipeline.MarkClientFirstPlayed, 1); !ok || wall < first.At || end < first.At {
		t.Fatalf("the run ended at wall %v (session %v), before its first played audio at %v", wall, end, first.At)
	}
}
