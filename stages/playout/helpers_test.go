package playout_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
	"github.com/voicesim/voicesim/stages/playout"
)

const ms = time.Millisecond

func prepare(t testing.TB, src string) (pipeline.Prepared, error) {
	t.Helper()
	return pipetest.Prepare(t, playout.Register, "playout.jitter", src)
}

// rig is the shared end-of-chain rig around the playout: its "ctl" stage
// is the server, which can interrupt. Frames are input at their arrival
// time at the client, so the network in front of the playout is whatever
// the test says; what leaves downstream reached the ear.
type rig struct {
	*pipetest.Rig
	buf []int16
}

func newRig(t testing.TB, src string) *rig {
	t.Helper()
	p, err := prepare(t, src)
	if err != nil {
		t.Fatalf("prepare %q: %v", src, err)
	}
	return &rig{Rig: pipetest.NewRig(t, "playout", p.New(), pipeline.Options{Seed: 1}), buf: make([]int16, pipeline.FrameSamples)}
}

// arrive inputs frame seq of response r at time at.
func (g *rig) arrive(at time.Duration, r pipeline.ResponseID, seq int, last bool) {
	f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: r, Seq: uint64(seq), Audio: g.buf}
	if last {
		f.Flags |= pipeline.FlagLast
	}
	g.Send(at, f)
}

// stream inputs frames 0..n-1 of r, frame k at start + k·gap, except skip.
func (g *rig) stream(r pipeline.ResponseID, start, gap time.Duration, n int, skip ...int) {
	for k := range n {
		if containsInt(skip, k) {
			continue
		}
		g.arrive(start+time.Duration(k)*gap, r, k, k == n-1)
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (g *rig) count(name string) int64 { return g.S.Counters()[name] }
