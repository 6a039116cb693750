package pipetest_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
)

// A delay stage: pushes each text frame on 100 ms later, and answers
// playback reports upstream.
type delay struct {
	ctx *pipeline.Context
	fn  func(pipeline.Frame)
}

func (d *delay) Start(ctx *pipeline.Context) { d.ctx, d.fn = ctx, ctx.Push }
func (d *delay) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if dir == pipeline.Upstream {
		ctx.Forward(f, dir)
		return
	}
	ctx.AfterFrame(100*time.Millisecond, f, d.fn)
}

func TestHarnessRecordsWhenFramesComeOut(t *testing.T) {
	h := pipetest.New(t, "delay", &delay{}, pipeline.Options{})
	h.Send(50*time.Millisecond, pipeline.Frame{Kind: pipeline.AssistantText, Text: "a"})
	h.Send(70*time.Millisecond, pipeline.Frame{Kind: pipeline.LLMToken, Text: "b"})
	h.SendUp(10*time.Millisecond, pipeline.Frame{Kind: pipeline.PlaybackStopped})
	h.Run()
	got := h.Of(pipeline.AssistantText)
	if len(got) != 1 || got[0].At != 150*time.Millisecond || got[0].F.Text != "a" {
		t.Errorf("AssistantText out %+v; want one, at 150ms", got)
	}
	if len(h.Down) != 2 || h.Down[1].At != 170*time.Millisecond {
		t.Errorf("downstream %+v; want two, the second at 170ms", h.Down)
	}
	if len(h.Up) != 1 || h.Up[0].At != 10*time.Millisecond {
		t.Errorf("upstream %+v; want the playback report at 10ms", h.Up)
	}
}
