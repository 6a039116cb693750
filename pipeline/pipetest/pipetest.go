// Package pipetest runs a stage under test in a real session on a virtual
// clock, the way net/http/httptest runs a handler: frames go in at chosen
// session times, and what the stage emits is recorded with the time it
// came out.
package pipetest

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"go.yaml.in/yaml/v3"
)

// Rec is a frame that came out of the stage under test, when, and which
// way it went.
type Rec struct {
	At  time.Duration
	F   pipeline.Frame
	Dir pipeline.Direction
}

// Harness is one stage between the test's input and a recording sink.
// Frames the stage pushes downstream are recorded in Down; frames it pushes
// upstream leave the chain and are recorded in Up. Frames sent upstream
// with SendUp enter at the sink and travel up through the stage.
type Harness struct {
	S    *pipeline.Session
	VC   *pipeline.VirtualClock
	Down []Rec
	Up   []Rec

	in, inUp func(pipeline.Frame)
}

// New builds a harness around st, registered under name. opts.Clock must
// be nil (a virtual clock is made); opts.Output is taken by the harness.
func New(t testing.TB, name string, st pipeline.Stage, opts pipeline.Options) *Harness {
	t.Helper()
	h := &Harness{}
	sink := pipeline.StageFunc(func(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
		if f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel {
			return // the session forwards these
		}
		if dir == pipeline.Upstream {
			ctx.Forward(f, dir)
			return
		}
		h.Down = append(h.Down, Rec{ctx.Now(), f, pipeline.Downstream})
	})
	opts.Output = func(f pipeline.Frame, dir pipeline.Direction) {
		if dir == pipeline.Upstream {
			h.Up = append(h.Up, Rec{h.S.Now(), f, pipeline.Upstream})
		}
	}
	h.S = pipeline.NewSession(opts, pipeline.Named{Name: name, Stage: st}, pipeline.Named{Name: "sink", Stage: sink})
	h.S.Start()
	h.VC = h.S.Clock().(*pipeline.VirtualClock)
	h.in, h.inUp = h.S.Input, h.S.InputUp
	return h
}

// Send delivers f downstream to the stage at session time t.
func (h *Harness) Send(t time.Duration, f pipeline.Frame) { h.S.AfterFrame(t-h.S.Now(), f, h.in) }

// SendUp delivers f upstream into the sink at session time t.
func (h *Harness) SendUp(t time.Duration, f pipeline.Frame) { h.S.AfterFrame(t-h.S.Now(), f, h.inUp) }

// Run fires every scheduled event.
func (h *Harness) Run() { h.VC.Run() }

// Of returns the recorded downstream frames of kind k.
func (h *Harness) Of(k pipeline.Kind) []Rec {
	return filter(h.Down, func(r Rec) bool { return r.F.Kind == k })
}

// filter returns the records keep accepts, in order.
func filter(recs []Rec, keep func(Rec) bool) []Rec {
	var out []Rec
	for _, r := range recs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// Rig is a stage under test at the end of a chain, behind a pass-through
// stage named "ctl" that interrupts when the test says: what the stage
// pushes downstream leaves the chain (to the listener), and so does what
// travels up past ctl. Everything that leaves, interruptions included, is
// recorded in Out in the order it left. Frames sent upstream with SendUp
// enter at the stage itself.
type Rig struct {
	S   *pipeline.Session
	VC  *pipeline.VirtualClock
	Out []Rec

	in, inUp func(pipeline.Frame)
}

// NewRig builds a rig around st, registered under name. opts.Clock must be
// nil (a virtual clock is made); opts.Output is taken by the rig.
func NewRig(t testing.TB, name string, st pipeline.Stage, opts pipeline.Options) *Rig {
	t.Helper()
	g := &Rig{}
	opts.Output = func(f pipeline.Frame, dir pipeline.Direction) {
		g.Out = append(g.Out, Rec{g.S.Now(), f, dir})
	}
	g.S = pipeline.NewSession(opts, pipeline.Named{Name: "ctl", Stage: pipeline.PassThrough{}}, pipeline.Named{Name: name, Stage: st})
	g.S.Start()
	g.VC = g.S.Clock().(*pipeline.VirtualClock)
	g.in, g.inUp = g.S.Input, g.S.InputUp
	return g
}

// Send delivers f downstream, through ctl, to the stage at session time t.
func (g *Rig) Send(t time.Duration, f pipeline.Frame) { g.S.AfterFrame(t-g.S.Now(), f, g.in) }

// SendUp delivers f upstream into the stage at session time t, as a
// client's report would arrive.
func (g *Rig) SendUp(t time.Duration, f pipeline.Frame) { g.S.AfterFrame(t-g.S.Now(), f, g.inUp) }

// Interrupt has ctl interrupt response r at session time t.
func (g *Rig) Interrupt(t time.Duration, r pipeline.ResponseID) {
	g.S.AfterFunc(t-g.S.Now(), func() { g.S.Stage("ctl").Interrupt(r) })
}

// Run fires every scheduled event.
func (g *Rig) Run() { g.VC.Run() }

// Mark returns the first mark called name stamped for response r.
func (g *Rig) Mark(name string, r pipeline.ResponseID) (pipeline.Mark, bool) {
	return g.S.Timeline().First(name, r)
}

// Of returns the recorded frames of kind k that left in direction dir.
func (g *Rig) Of(k pipeline.Kind, dir pipeline.Direction) []Rec {
	return filter(g.Out, func(o Rec) bool { return o.F.Kind == k && o.Dir == dir })
}

// Audio returns the assistant audio frames of response r that left
// downstream: what the listener got.
func (g *Rig) Audio(r pipeline.ResponseID) []Rec {
	return filter(g.Out, func(o Rec) bool {
		return o.Dir == pipeline.Downstream && o.F.Kind == pipeline.AssistantAudio && o.F.Response == r
	})
}

// YAML parses src into a node for Registry.Prepare, failing the test on a
// syntax error.
func YAML(t testing.TB, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	return &n
}

// Prepare registers a package's stages in a fresh registry and prepares
// name from src (YAML over the defaults; empty for the defaults).
func Prepare(t testing.TB, register func(*pipeline.Registry), name, src string) (pipeline.Prepared, error) {
	t.Helper()
	r := pipeline.NewRegistry()
	register(r)
	if src == "" {
		return r.Prepare(name)
	}
	return r.Prepare(name, YAML(t, src))
}
