package pipeline_test

import (
	"slices"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// fakeAssistant "answers" every utterance end: playback starts 1 s after the
// frame carrying the true speech end arrives and lasts 3 s.
type fakeAssistant struct {
	ctx    *pipeline.Context
	frames []pipeline.Frame
	r      pipeline.ResponseID
}

func (a *fakeAssistant) Start(ctx *pipeline.Context) { a.ctx = ctx }
func (a *fakeAssistant) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if f.Kind != pipeline.UserAudio {
		return
	}
	f.Audio = slices.Clone(f.Audio) // kept past Handle: the mic reuses its storage
	a.frames = append(a.frames, f)
	if f.Flags&pipeline.FlagSpeechEnd != 0 {
		a.r++
		r := a.r
		ctx.After(time.Second, func() { ctx.Push(pipeline.Frame{Kind: pipeline.PlaybackStarted, Response: r}) })
		ctx.After(4*time.Second, func() { ctx.Push(pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: r}) })
	}
}

func tone(n int, v int16) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestMicTriggersAndTruth(t *testing.T) {
	sec := pipeline.SampleRate
	mic := &pipeline.Mic{Utterances: []pipeline.Utterance{
		// 1 s of audio, speech from 100 ms to 900 ms, starting at 0.51 s.
		{Audio: tone(sec, 1000), Speech: [][2]time.Duration{{100 * time.Millisecond, 900 * time.Millisecond}}, Text: "hello", Reply: "hi there", Offset: 510 * time.Millisecond},
		// Barge in 700 ms into the answer.
		{Audio: tone(sec/2, 2000), Text: "stop", Trigger: pipeline.IntoAssistant, Offset: 700 * time.Millisecond, BargeIn: true},
		// Speak 300 ms after the assistant goes quiet, with a mid pause.
		{Audio: tone(sec, 3000), Speech: [][2]time.Duration{{0, 300 * time.Millisecond}, {600 * time.Millisecond, time.Second}}, Text: "and then", Trigger: pipeline.AfterAssistant, Offset: 300 * time.Millisecond},
		{Audio: tone(sec/4, 500), Text: "uh-huh", Trigger: pipeline.AfterUser, Offset: 2 * time.Second, Backchannel: true},
	}}
	fa := &fakeAssistant{}
	s := pipeline.NewSession(pipeline.Options{Output: mic.Output, Replies: mic.Replies}, pipeline.Named{Name: "assistant", Stage: fa})
	s.Start()
	if err := mic.Start(s); err != nil {
		t.Fatal(err)
	}
	s.Clock().(*pipeline.VirtualClock).Run()

	ms := time.Millisecond
	want := []struct {
		name string
		turn int
		at   time.Duration
	}{
		{pipeline.MarkUserSpeechStart, 0, 610 * ms},
		{pipeline.MarkUserSpeechEnd, 0, 1410 * ms},
		// answer to turn 0: its end frame arrives at 1.42 s, playback 2.42 s
		{pipeline.MarkUserSpeechStart, 1, 2420*ms + 700*ms},
		{pipeline.MarkUserSpeechEnd, 1, 3120*ms + 500*ms},
		// answer 1 plays 3.62+1 = 4.62 s (end frame arrives at 3.62 s) and stops 3 s later;
		// answer 0 stopped at 5.42 s. The third utterance waits for "the
		// assistant stopped" after it was armed (at 3.12 s): 5.42 + 0.3 s.
		{pipeline.MarkUserSpeechStart, 2, 5720 * ms},
		{pipeline.MarkUserPauseStart, 2, 6020 * ms},
		{pipeline.MarkUserPauseEnd, 2, 6320 * ms},
		{pipeline.MarkUserSpeechEnd, 2, 6720 * ms},
		{pipeline.MarkUserBackchannel, -1, 8720 * ms},
	}
	marks := s.Timeline().Marks
	if len(marks) != len(want)+1 {
		t.Fatalf("got %d marks %+v; want %d", len(marks), marks, len(want)+1)
	}
	for i, w := range want {
		m := marks[i]
		if m.Name != w.name || m.Turn != w.turn || m.At != w.at {
			t.Errorf("mark %d = %s turn %d at %v; want %s turn %d at %v", i, m.Name, m.Turn, m.At, w.name, w.turn, w.at)
		}
	}
	if marks[2].Value != 1 {
		t.Error("barge-in turn not flagged on its speech_start mark")
	}
	// The frames carry the truth: exactly one start and one end flag per turn.
	starts, ends := 0, 0
	for i, f := range fa.frames {
		if f.At != time.Duration(i)*pipeline.FrameDuration || len(f.Audio) != pipeline.FrameSamples {
			t.Fatalf("frame %d at %v with %d samples; want a continuous 20 ms stream", i, f.At, len(f.Audio))
		}
		if f.Flags&pipeline.FlagSpeechStart != 0 {
			starts++
		}
		if f.Flags&pipeline.FlagSpeechEnd != 0 {
			ends++
			if f.Text == "" {
				t.Errorf("end frame %d carries no transcript", i)
			}
		}
	}
	if starts != 3 || ends != 3 {
		t.Errorf("flags: %d starts, %d ends; want 3, 3 (backchannels are not turns)", starts, ends)
	}
	// Samples: the first utterance begins at sample 0.51 s × 24 kHz.
	first := int(510 * time.Millisecond * pipeline.SampleRate / time.Second)
	fr := fa.frames[first/pipeline.FrameSamples]
	off := first % pipeline.FrameSamples
	if fr.Audio[off-1] != 0 || fr.Audio[off] != 1000 {
		t.Errorf("utterance not placed at sample %d: %d, %d", first, fr.Audio[off-1], fr.Audio[off])
	}
	if r, ok := mic.Replies("hello"); !ok || r != "hi there" {
		t.Errorf("Replies(hello) = %q, %v", r, ok)
	}
}

func TestMicRejectsBadSpans(t *testing.T) {
	m := &pipeline.Mic{Utterances: []pipeline.Utterance{{Audio: tone(100, 1), Speech: [][2]time.Duration{{0, time.Second}}}}}
	if err := m.Validate(); err == nil {
		t.Error("span past the clip accepted")
	}
}
