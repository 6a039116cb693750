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

type rec = pipetest.Rec

// rig is the shared end-of-chain rig around the TTS, behind a pass-through
// "ctl" stage that can interrupt.
type rig struct{ *pipetest.Rig }

func newRig(t testing.TB, src string) *rig {
	t.Helper()
	p, err := prepare(t, src)
	if err != nil {
		t.Fatalf("prepare %q: %v", src, err)
	}
	return &rig{pipetest.NewRig(t, "tts", p.New(), pipeline.Options{Seed: 1})}
}

func (g *rig) text(t time.Duration, r pipeline.ResponseID, text string) {
	g.Send(t, pipeline.Frame{Kind: pipeline.AssistantText, Response: r, Text: text})
}

func (g *rig) done(t time.Duration, r pipeline.ResponseID) {
	g.Send(t, pipeline.Frame{Kind: pipeline.ResponseDone, Response: r})
}

// playbackStopped sends the client's report up into the TTS at t.
func (g *rig) playbackStopped(t time.Duration, r pipeline.ResponseID, playedMs float64) {
	g.SendUp(t, pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: r, Value: playedMs})
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
