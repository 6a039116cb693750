package stt_test

import (
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
	"github.com/voicesim/voicesim/stages/stt"
)

const ms = time.Millisecond

type rec = pipetest.Rec

// harness is the shared stage harness, with this package's helpers.
type harness struct {
	*pipetest.Harness
	buf []int16
}

func newHarness(t testing.TB, st pipeline.Stage) *harness {
	t.Helper()
	return &harness{Harness: pipetest.New(t, "stt", st, pipeline.Options{Seed: 1}), buf: make([]int16, pipeline.FrameSamples)}
}

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
		h.Send(t+pipeline.FrameDuration+lag, f)
	}
}

// vad delivers SpeechStarted{At: onset} at onset+detect and
// SpeechStopped{At: offset} at offset+hangover (offset 0: never stops).
func (h *harness) vad(onset, offset, detect, hangover time.Duration) {
	h.Send(onset+detect, pipeline.Frame{Kind: pipeline.SpeechStarted, At: onset})
	if offset > 0 {
		h.Send(offset+hangover, pipeline.Frame{Kind: pipeline.SpeechStopped, At: offset})
	}
}

func (h *harness) turnEnd(t time.Duration, r pipeline.ResponseID) {
	h.Send(t, pipeline.Frame{Kind: pipeline.TurnEnded, Response: r, At: t})
}

// build prepares a registered stt stage from YAML over its defaults.
func build(t testing.TB, name, src string) pipeline.Stage {
	t.Helper()
	r := pipeline.NewRegistry()
	stt.Register(r)
	p, err := r.Prepare(name, pipetest.YAML(t, src))
	if err != nil {
		t.Fatalf("prepare %s: %v", name, err)
	}
	return p.New()
}

func words(n int) string {
	w := strings.Fields("one two three four five six seven eight nine ten eleven twelve")
	return strings.Join(w[:n], " ")
}
