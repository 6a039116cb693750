package llm_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/llm"
	"go.yaml.in/yaml/v3"
)

const ms = time.Millisecond

type rec struct {
	at time.Duration
	f  pipeline.Frame
}

// harness runs one stage in a session on a virtual clock, between the
// test's input and a sink that records what comes out downstream and
// forwards upstream frames, which then leave the chain and are recorded.
type harness struct {
	s    *pipeline.Session
	vc   *pipeline.VirtualClock
	down []rec
	up   []rec
	in   func(pipeline.Frame)
	inUp func(pipeline.Frame)
}

func newHarness(t testing.TB, st pipeline.Stage, opts pipeline.Options) *harness {
	t.Helper()
	h := &harness{}
	sink := pipeline.StageFunc(func(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
		if f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel {
			return
		}
		if dir == pipeline.Upstream {
			ctx.Forward(f, dir)
			return
		}
		h.down = append(h.down, rec{ctx.Now(), f})
	})
	opts.Output = func(f pipeline.Frame, dir pipeline.Direction) {
		if dir == pipeline.Upstream {
			h.up = append(h.up, rec{h.s.Now(), f})
		}
	}
	h.s = pipeline.NewSession(opts, pipeline.Named{Name: "llm", Stage: st}, pipeline.Named{Name: "sink", Stage: sink})
	h.s.Start()
	h.vc = h.s.Clock().(*pipeline.VirtualClock)
	h.in, h.inUp = h.s.Input, h.s.InputUp
	return h
}

func (h *harness) at(t time.Duration, f pipeline.Frame)   { h.s.AfterFrame(t-h.s.Now(), f, h.in) }
func (h *harness) upAt(t time.Duration, f pipeline.Frame) { h.s.AfterFrame(t-h.s.Now(), f, h.inUp) }

func (h *harness) final(t time.Duration, r pipeline.ResponseID, text string) {
	h.at(t, pipeline.Frame{Kind: pipeline.TranscriptFinal, Response: r, Text: text, At: t})
}

func (h *harness) of(k pipeline.Kind) []rec {
	var out []rec
	for _, r := range h.down {
		if r.f.Kind == k {
			out = append(out, r)
		}
	}
	return out
}

func node(t testing.TB, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	return &n
}

func build(t testing.TB, src string) *llm.Chat {
	t.Helper()
	r := pipeline.NewRegistry()
	llm.Register(r)
	p, err := r.Prepare("llm.chat", node(t, src))
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return p.New().(*llm.Chat)
}

// replies is a script with one answer per transcript.
func replies(m map[string]string) func(string) (string, bool) {
	return func(s string) (string, bool) {
		r, ok := m[s]
		return r, ok
	}
}
