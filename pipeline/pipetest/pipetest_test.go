package pipetest_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
)

// A delay stage: pushes each frame on 100 ms later, in the frame's
// response scope, and passes playback reports upstream, counting them.
type delay struct {
	ctx *pipeline.Context
	fn  func(pipeline.Frame)
}

func (d *delay) Start(ctx *pipeline.Context) { d.ctx, d.fn = ctx, ctx.Push }
func (d *delay) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel {
		return // the session forwards these
	}
	if dir == pipeline.Upstream {
		ctx.Count("delay.up", 1)
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
	if len(h.Up) != 1 || h.Up[0].At != 10*time.Millisecond || h.Up[0].Dir != pipeline.Upstream {
		t.Errorf("upstream %+v; want the playback report at 10ms, upstream", h.Up)
	}
}

func TestRigRecordsWhatLeavesTheChain(t *testing.T) {
	const ms = time.Millisecond
	g := pipetest.NewRig(t, "delay", &delay{}, pipeline.Options{Seed: 7})
	if got, want := g.S.Rand().Uint64(), pipeline.NewSession(pipeline.Options{Seed: 7}).Rand().Uint64(); got != want {
		t.Errorf("first draw %d; want %d, the draw of a session seeded 7", got, want)
	}
	g.Send(50*ms, pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1})
	g.Send(60*ms, pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 2})
	g.Send(70*ms, pipeline.Frame{Kind: pipeline.AssistantText, Response: 1})
	g.SendUp(10*ms, pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: 1})
	g.SendUp(20*ms, pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1})
	g.Run()
	want := []pipetest.Rec{
		{At: 10 * ms, F: pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: 1}, Dir: pipeline.Upstream},
		{At: 20 * ms, F: pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1}, Dir: pipeline.Upstream},
		{At: 150 * ms, F: pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1}, Dir: pipeline.Downstream},
		{At: 160 * ms, F: pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 2}, Dir: pipeline.Downstream},
		{At: 170 * ms, F: pipeline.Frame{Kind: pipeline.AssistantText, Response: 1}, Dir: pipeline.Downstream},
	}
	if len(g.Out) != len(want) {
		t.Fatalf("out %+v; want %d frames", g.Out, len(want))
	}
	for i, w := range want {
		if o := g.Out[i]; o.At != w.At || o.Dir != w.Dir || o.F.Kind != w.F.Kind || o.F.Response != w.F.Response {
			t.Errorf("out[%d] = %v %v %v r%d; want %v %v %v r%d", i, o.At, o.Dir, o.F.Kind, o.F.Response, w.At, w.Dir, w.F.Kind, w.F.Response)
		}
	}
	if n := g.S.Counters()["delay.up"]; n != 2 {
		t.Errorf("the stage saw %d upstream frames; want 2 (SendUp enters at the stage)", n)
	}
	if a := g.Audio(1); len(a) != 1 || a[0].At != 150*ms {
		t.Errorf("Audio(1) = %+v; want the one downstream audio frame of response 1, at 150ms", a)
	}
	if up := g.Of(pipeline.PlaybackStopped, pipeline.Upstream); len(up) != 1 || up[0].At != 10*ms {
		t.Errorf("upstream reports %+v; want one at 10ms", up)
	}
	if down := g.Of(pipeline.PlaybackStopped, pipeline.Downstream); len(down) != 0 {
		t.Errorf("downstream reports %+v; want none", down)
	}
	if text := g.Of(pipeline.AssistantText, pipeline.Downstream); len(text) != 1 || text[0].At != 170*ms {
		t.Errorf("downstream text %+v; want one at 170ms", text)
	}
}

func TestRigInterruptsFromCtlAtTheTimeGiven(t *testing.T) {
	const ms = time.Millisecond
	g := pipetest.NewRig(t, "delay", &delay{}, pipeline.Options{})
	g.Send(0, pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1, Seq: 0})
	g.Send(50*ms, pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1, Seq: 1})
	g.Send(60*ms, pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 2})
	g.Interrupt(120*ms, 1)
	g.Run()
	if a := g.Audio(1); len(a) != 1 || a[0].At != 100*ms || a[0].F.Seq != 0 {
		t.Errorf("response 1 audio %+v; want only frame 0, at 100ms (frame 1 was due after the cut)", a)
	}
	if a := g.Audio(2); len(a) != 1 || a[0].At != 160*ms {
		t.Errorf("response 2 audio %+v; want one frame at 160ms", a)
	}
	in := g.Of(pipeline.Interruption, pipeline.Downstream)
	if len(in) != 1 || in[0].At != 120*ms || in[0].F.Response != 1 {
		t.Errorf("interruptions out %+v; want one for response 1 at 120ms", in)
	}
	m, ok := g.Mark(pipeline.MarkInterrupted, 1)
	if !ok || m.At != 120*ms || m.Stage != "ctl" {
		t.Errorf("interrupted mark %+v (%v); want one at 120ms by ctl", m, ok)
	}
	if m, ok := g.Mark(pipeline.MarkInterrupted, 2); ok {
		t.Errorf("interrupted mark for response 2: %+v; want none", m)
	}
}
