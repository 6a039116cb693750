package network_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
	"github.com/voicesim/voicesim/stages/network"
)

// prepare decodes src over the stage's defaults.
func prepare(t testing.TB, name, src string) (pipeline.Prepared, error) {
	t.Helper()
	return pipetest.Prepare(t, network.Register, name, src)
}

func link(t testing.TB, name, src string) pipeline.Stage {
	t.Helper()
	p, err := prepare(t, name, src)
	if err != nil {
		t.Fatalf("prepare %s %q: %v", name, src, err)
	}
	return p.New()
}

// arrival is a frame seen by the recorder, with the session time.
type arrival struct {
	at  time.Duration
	f   pipeline.Frame
	dir pipeline.Direction
}

// recorder is the far end of a leg: it records what arrives and sends
// upstream input on.
type recorder struct{ got []arrival }

func (r *recorder) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if dir == pipeline.Upstream {
		ctx.Forward(f, dir)
		return
	}
	r.got = append(r.got, arrival{ctx.Now(), f, dir})
}

// rig is a session of one leg and a recorder, on a virtual clock.
type rig struct {
	s   *pipeline.Session
	rec *recorder
	out []arrival // frames that left the chain upstream
}

func newRig(t testing.TB, name, src string, seed uint64) *rig {
	g := &rig{rec: &recorder{}}
	g.s = pipeline.NewSession(pipeline.Options{Seed: seed, Output: func(f pipeline.Frame, dir pipeline.Direction) {
		g.out = append(g.out, arrival{g.s.Now(), f, dir})
	}},
		pipeline.Named{Name: name, Stage: link(t, name, src)},
		pipeline.Named{Name: "far", Stage: g.rec})
	g.s.Start()
	return g
}

// send inputs f at session time at.
func (g *rig) send(at time.Duration, f pipeline.Frame) {
	g.s.AfterFrame(at-g.s.Now(), f, g.s.Input)
}

func (g *rig) run() { g.s.Clock().(*pipeline.VirtualClock).Run() }

// audioAt sends n audio frames of kind k, one every 20 ms from start,
// stamping At with the send time and Seq from 0.
func (g *rig) audio(k pipeline.Kind, r pipeline.ResponseID, start time.Duration, n int) {
	buf := make([]int16, pipeline.FrameSamples)
	for i := range n {
		at := start + time.Duration(i)*pipeline.FrameDuration
		g.send(at, pipeline.Frame{Kind: k, Response: r, Seq: uint64(i), At: at, Audio: buf})
	}
}

func (g *rig) count(name string) int64 { return g.s.Counters()[name] }

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
