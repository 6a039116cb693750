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

type out struct {
	at  time.Duration
	f   pipeline.Frame
	dir pipeline.Direction
}

// rig is a "server" pass-through stage (that can interrupt) and the
// playout. Frames are input at their arrival time at the client, so the
// network in front of the playout is whatever the test says.
type rig struct {
	s   *pipeline.Session
	out []out
	buf []int16
}

func newRig(t testing.TB, src string) *rig {
	t.Helper()
	p, err := prepare(t, src)
	if err != nil {
		t.Fatalf("prepare %q: %v", src, err)
	}
	g := &rig{buf: make([]int16, pipeline.FrameSamples)}
	g.s = pipeline.NewSession(pipeline.Options{Seed: 1, Output: func(f pipeline.Frame, dir pipeline.Direction) {
		g.out = append(g.out, out{g.s.Now(), f, dir})
	}},
		pipeline.Named{Name: "server", Stage: pipeline.PassThrough{}},
		pipeline.Named{Name: "playout", Stage: p.New()})
	g.s.Start()
	return g
}

// arrive inputs frame seq of response r at time at.
func (g *rig) arrive(at time.Duration, r pipeline.ResponseID, seq int, last bool) {
	f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: r, Seq: uint64(seq), Audio: g.buf}
	if last {
		f.Flags |= pipeline.FlagLast
	}
	g.s.AfterFrame(at-g.s.Now(), f, g.s.Input)
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

func (g *rig) interrupt(at time.Duration, r pipeline.ResponseID) {
	g.s.AfterFunc(at-g.s.Now(), func() { g.s.Stage("server").Interrupt(r) })
}

func (g *rig) run() { g.s.Clock().(*pipeline.VirtualClock).Run() }

func (g *rig) mark(name string, r pipeline.ResponseID) (pipeline.Mark, bool) {
	return g.s.Timeline().First(name, r)
}

// played returns the audio frames of r that reached the ear.
func (g *rig) played(r pipeline.ResponseID) []out {
	var a []out
	for _, o := range g.out {
		if o.dir == pipeline.Downstream && o.f.Kind == pipeline.AssistantAudio && o.f.Response == r {
			a = append(a, o)
		}
	}
	return a
}

// reports returns the playback reports of kind k that left in direction dir.
func (g *rig) reports(k pipeline.Kind, dir pipeline.Direction) []out {
	var a []out
	for _, o := range g.out {
		if o.dir == dir && o.f.Kind == k {
			a = append(a, o)
		}
	}
	return a
}

func (g *rig) count(name string) int64 { return g.s.Counters()[name] }
