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

// Rec is a frame that came out of the stage under test, and when.
type Rec struct {
	At time.Duration
	F  pipeline.Frame
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
		h.Down = append(h.Down, Rec{ctx.Now(), f})
	})
	opts.Output = func(f pipeline.Frame, dir pipeline.Direction) {
		if dir == pipeline.Upstream {
			h.Up = append(h.Up, Rec{h.S.Now(), f})
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
	var out []Rec
	for _, r := range h.Down {
		if r.F.Kind == k {
			out = append(out, r)
		}
	}
	return out
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
