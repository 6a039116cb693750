package llm_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
	"github.com/voicesim/voicesim/stages/llm"
)

const ms = time.Millisecond

type rec = pipetest.Rec

// harness is the shared stage harness, with this package's helpers.
type harness struct{ *pipetest.Harness }

func newHarness(t testing.TB, st pipeline.Stage, opts pipeline.Options) *harness {
	t.Helper()
	return &harness{pipetest.New(t, "llm", st, opts)}
}

func (h *harness) final(t time.Duration, r pipeline.ResponseID, text string) {
	h.Send(t, pipeline.Frame{Kind: pipeline.TranscriptFinal, Response: r, Text: text, At: t})
}

func build(t testing.TB, src string) *llm.Chat {
	t.Helper()
	r := pipeline.NewRegistry()
	llm.Register(r)
	p, err := r.Prepare("llm.chat", pipetest.YAML(t, src))
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
