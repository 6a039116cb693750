package stt_test

import (
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/stt"
	"go.yaml.in/yaml/v3"
)

const ms = time.Millisecond

// rec is a frame that left the stage under test, and when.
type rec struct {
	at time.Duration
	f  pipeline.Frame
}

// harness runs one stage in a session on a virtual clock, between the
// test's input and a sink that records what comes out downstream and
// forwards upstream frames (which then leave the chain and are recorded).
type harness struct {
	s    *pipeline.Session
	vc   *pipeline.VirtualClock
	down []rec
	up   []rec
	buf  []int16
	in   func(pipeline.Frame)
	inUp func(pipeline.Frame)
}

func newHarness(t testing.TB, st pipeline.Stage) *harness {
	t.Helper()
	h := &harness{buf: make([]int16, pipeline.FrameSamples)}
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
	opts := pipeline.Options{Seed: 1, Output: func(f pipeline.Frame, dir pipeline.Direction) {
		if dir == pipeline.Upstream {
			h.up = append(h.up, rec{h.s.Now(), f})
		}
	}}
	h.s = pipeline.NewSession(opts, pipeline.Named{Name: "stt", Stage: st}, pipeline.Named{Name: "sink", Stage: sink})
	h.s.Start()
	h.vc = h.s.Clock().(*pipeline.VirtualClock)
	h.in, h.inUp = h.s.Input, h.s.InputUp
	return h
}

// at delivers f to the stage at session time t.
func (h *harness) at(t time.Duration, f pipeline.Frame) { h.s.AfterFrame(t-h.s.Now(), f, h.in) }

// upAt delivers f upstream into the sink at session time t.
func (h *harness) upAt(t time.Duration, f pipeline.Frame) { h.s.AfterFrame(t-h.s.Now(), f, h.inUp) }

// utt is one scripted utterance: true speech from start to end.
type utt struct {
	start, end time.Duration
	text       string
}

// mic streams 20 ms frames captured from 0 until `until`, each delivered
// lag after its capture completes, flagging the frames holding true
// utterance boundaries and putting the utterance's text on them.
func (h *harness) mic(until, lag time.Duration, utts ...utt) {
	for t := time.Duration(0); t < until; t += pipeline.FrameDuration {
		f := pipeline.Frame{Kind: pipeline.UserAudio, At: t, Audio: h.buf}
		for _, u := range utts {
			if u.start >= t && u.start < t+pipeline.FrameDuration {
				f.Flags |= pipeline.FlagSpeechStart
				f.Text = u.text
			}
			if u.end > t && u.end <= t+pipeline.FrameDuration {
				f.Flags |= pipeline.FlagSpeechEnd
				f.Text = u.text
			}
		}
		h.at(t+pipeline.FrameDuration+lag, f)
	}
}

// vad delivers SpeechStarted{At: onset} at onset+detect and
// SpeechStopped{At: offset} at offset+hangover (offset 0: never stops).
func (h *harness) vad(onset, offset, detect, hangover time.Duration) {
	h.at(onset+detect, pipeline.Frame{Kind: pipeline.SpeechStarted, At: onset})
	if offset > 0 {
		h.at(offset+hangover, pipeline.Frame{Kind: pipeline.SpeechStopped, At: offset})
	}
}

func (h *harness) turnEnd(t time.Duration, r pipeline.ResponseID) {
	h.at(t, pipeline.Frame{Kind: pipeline.TurnEnded, Response: r, At: t})
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

// build prepares a registered stt stage from YAML over its defaults.
func build(t testing.TB, name, src string) pipeline.Stage {
	t.Helper()
	r := pipeline.NewRegistry()
	stt.Register(r)
	p, err := r.Prepare(name, node(t, src))
	if err != nil {
		t.Fatalf("prepare %s: %v", name, err)
	}
	return p.New()
}

func words(n int) string {
	w := strings.Fields("one two three four five six seven eight nine ten eleven twelve")
	return strings.Join(w[:n], " ")
}
