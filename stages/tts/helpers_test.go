package tts_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"github.com/voicesim/voicesim/pipeline/pipetest"
	"github.com/voicesim/voicesim/stages/tts"
)

func prepare(t testing.TB, src string) (pipeline.Prepared, error) {
	t.Helper()
	return pipetest.Prepare(t, tts.Register, "tts.streaming", src)
}

// out is a frame that left the chain, with the session time.
type out struct {
	at  time.Duration
	f   pipeline.Frame
	dir pipeline.Direction
}

// rig runs a TTS behind a pass-through "ctl" stage that can interrupt.
type rig struct {
	s   *pipeline.Session
	out []out
}

func newRig(t testing.TB, src string) *rig {
	t.Helper()
	p, err := prepare(t, src)
	if err != nil {
		t.Fatalf("prepare %q: %v", src, err)
	}
	g := &rig{}
	g.s = pipeline.NewSession(pipeline.Options{Seed: 1, Output: func(f pipeline.Frame, dir pipeline.Direction) {
		g.out = append(g.out, out{g.s.Now(), f, dir})
	}},
		pipeline.Named{Name: "ctl", Stage: pipeline.PassThrough{}},
		pipeline.Named{Name: "tts", Stage: p.New()})
	g.s.Start()
	return g
}

func (g *rig) at(t time.Duration, f pipeline.Frame) {
	g.s.AfterFrame(t-g.s.Now(), f, g.s.Input)
}

func (g *rig) text(t time.Duration, r pipeline.ResponseID, text string) {
	g.at(t, pipeline.Frame{Kind: pipeline.AssistantText, Response: r, Text: text})
}

func (g *rig) done(t time.Duration, r pipeline.ResponseID) {
	g.at(t, pipeline.Frame{Kind: pipeline.ResponseDone, Response: r})
}

// playbackStopped sends the client's report up into the TTS at t.
func (g *rig) playbackStopped(t time.Duration, r pipeline.ResponseID, playedMs float64) {
	g.s.AfterFunc(t-g.s.Now(), func() {
		g.s.InputUp(pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: r, Value: playedMs})
	})
}

func (g *rig) interrupt(t time.Duration, r pipeline.ResponseID) {
	g.s.AfterFunc(t-g.s.Now(), func() { g.s.Stage("ctl").Interrupt(r) })
}

func (g *rig) run() { g.s.Clock().(*pipeline.VirtualClock).Run() }

// audio returns the assistant audio frames of response r that left.
func (g *rig) audio(r pipeline.ResponseID) []out {
	var a []out
	for _, o := range g.out {
		if o.f.Kind == pipeline.AssistantAudio && o.f.Response == r && o.dir == pipeline.Downstream {
			a = append(a, o)
		}
	}
	return a
}

func (g *rig) mark(name string, r pipeline.ResponseID) (pipeline.Mark, bool) {
	return g.s.Timeline().First(name, r)
}

// defaultSynth is the synthesiser tts.streaming uses by default.
func defaultSynth(t testing.TB) *audio.Synth {
	sy, err := audio.NewSynth(audio.SynthConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return sy
}

func frames(sy *audio.Synth, text string) int {
	return audio.Frames(len(sy.Speak(text).Samples))
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
