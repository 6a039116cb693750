package pipeline_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

func runChain(t testing.TB, l chainLatencies, seed uint64, observe func(string, pipeline.Frame, pipeline.Direction)) *pipeline.Session {
	s := pipeline.NewSession(pipeline.Options{Seed: seed, Observe: observe}, buildChain(l)...)
	s.Start()
	(&script{s: s, turn: 0, start: 200 * time.Millisecond, end: 1400 * time.Millisecond}).schedule()
	(&script{s: s, turn: 1, start: 6 * time.Second, end: 7 * time.Second}).schedule()
	s.Clock().(*pipeline.VirtualClock).Run()
	return s
}

func TestConstantChainSumsExactly(t *testing.T) {
	l := constChain()
	s := runChain(t, l, 1, nil)
	turns := s.Timeline().Turns()
	if len(turns) != 2 {
		t.Fatalf("got %d turns; want 2", len(turns))
	}
	want := 37*time.Millisecond + 500*time.Millisecond + 213*time.Millisecond + 351*time.Millisecond +
		97*time.Millisecond + 83*time.Millisecond + 41*time.Millisecond + 60*time.Millisecond
	wantParts := map[string]time.Duration{
		pipeline.MetricNetworkUp: 37 * time.Millisecond, pipeline.MetricEndpointing: 500 * time.Millisecond,
		pipeline.MetricSTTFinal: 213 * time.Millisecond, pipeline.MetricLLMQueue: 0,
		pipeline.MetricLLMTTFT: 351 * time.Millisecond, pipeline.MetricSentenceAggregation: 97 * time.Millisecond,
		pipeline.MetricTTSTTFB: 83 * time.Millisecond, pipeline.MetricNetworkDown: 41 * time.Millisecond,
		pipeline.MetricPlayout: 60 * time.Millisecond,
	}
	for _, tm := range turns {
		if !tm.Answered {
			t.Fatalf("turn %d not answered", tm.Turn)
		}
		if got := tm.Values[pipeline.MetricVoiceToVoice]; got != want {
			t.Errorf("turn %d voice_to_voice = %v; want %v (to the nanosecond)", tm.Turn, got, want)
		}
		if got := tm.BreakdownSum(); got != want {
			t.Errorf("turn %d breakdown sums to %v; want %v", tm.Turn, got, want)
		}
		for _, seg := range tm.Breakdown {
			if w, ok := wantParts[seg.Name]; !ok || seg.Duration() != w {
				t.Errorf("turn %d segment %s = %v; want %v", tm.Turn, seg.Name, seg.Duration(), w)
			}
			// The stand-alone glossary value agrees with the segment.
			if v, ok := tm.Values[seg.Name]; ok && v != seg.Duration() {
				t.Errorf("turn %d %s value %v != segment %v", tm.Turn, seg.Name, v, seg.Duration())
			}
		}
		if len(tm.Breakdown) != len(wantParts) {
			t.Errorf("turn %d has %d segments; want %d", tm.Turn, len(tm.Breakdown), len(wantParts))
		}
	}
}

func reportJSON(t testing.TB, s *pipeline.Session) []byte {
	agg := pipeline.NewAggregate()
	agg.AddRun(s.Timeline().Turns(), s.Counters())
	b, err := json.Marshal(struct {
		Timeline *pipeline.Timeline
		Report   map[string]pipeline.Summary
		Counts   map[string]int64
	}{s.Timeline(), agg.Summaries(), agg.Counts})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomChain() chainLatencies {
	l := constChain()
	l.up = pipeline.LogNormal(30*time.Millisecond, 80*time.Millisecond)
	l.stt = pipeline.Normal(300*time.Millisecond, 60*time.Millisecond)
	l.llm = pipeline.LogNormal(350*time.Millisecond, 900*time.Millisecond)
	l.ttfb = pipeline.Uniform(60*time.Millisecond, 120*time.Millisecond)
	l.down = pipeline.Empirical(30*time.Millisecond, 45*time.Millisecond, 90*time.Millisecond)
	return l
}

func TestDeterministicPerSeed(t *testing.T) {
	a := reportJSON(t, runChain(t, randomChain(), 42, nil))
	b := reportJSON(t, runChain(t, randomChain(), 42, nil))
	if !bytes.Equal(a, b) {
		t.Fatalf("same seed gave different timelines/reports:\n%s\n%s", a, b)
	}
	c := reportJSON(t, runChain(t, randomChain(), 43, nil))
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave identical timelines; sampling ignores the seed")
	}
	ta := runChain(t, randomChain(), 42, nil).Timeline().Turns()
	tc := runChain(t, randomChain(), 43, nil).Timeline().Turns()
	if ta[0].Values[pipeline.MetricLLMTTFT] == tc[0].Values[pipeline.MetricLLMTTFT] {
		t.Errorf("llm_ttft equal across seeds (%v): latencies not drawn from the session source", ta[0].Values[pipeline.MetricLLMTTFT])
	}
}

// TestInterruptionStopsCancelledOutput barges in while the speaker is
// mid-response. The speaker and player never cancel anything themselves;
// the engine must stop their timers and drop the response's frames.
func TestInterruptionStopsCancelledOutput(t *testing.T) {
	l := constChain()
	l.frames = 200 // 4 s of audio: still playing when the barge-in comes
	type emitted struct {
		stage string
		at    time.Duration
		f     pipeline.Frame
	}
	var out []emitted
	var s *pipeline.Session
	s = pipeline.NewSession(pipeline.Options{Seed: 7, Observe: func(stage string, f pipeline.Frame, dir pipeline.Direction) {
		out = append(out, emitted{stage, s.Now(), f})
	}}, buildChain(l)...)
	s.Start()
	(&script{s: s, turn: 0, start: 0, end: time.Second}).schedule()
	// First audio is played at 1s+1382ms; barge in at 3s, well inside it.
	bargeAt := 3 * time.Second
	(&script{s: s, turn: 1, start: bargeAt, end: bargeAt + 600*time.Millisecond, bargeIn: 1}).schedule()
	vc := s.Clock().(*pipeline.VirtualClock)

	// Run to just before the barge-in reaches the endpointer.
	interruptAt := bargeAt + pipeline.FrameDuration + 37*time.Millisecond
	vc.RunUntil(interruptAt - time.Nanosecond)
	ttsCtx := s.Stage("tts")
	if ttsCtx == nil {
		t.Fatal("no tts stage")
	}
	before := s.Pending()
	vc.RunUntil(interruptAt)
	if got := s.Counters()["timers_cancelled"]; got == 0 {
		t.Fatalf("interruption cancelled no timers (pending before %d, after %d)", before, s.Pending())
	}
	vc.Run()

	for _, e := range out {
		if e.f.Response != 1 || e.f.Kind == pipeline.Interruption {
			continue
		}
		switch e.stage {
		case "tts", "agg", "llm", "stt":
			if e.at > interruptAt {
				t.Errorf("%s emitted %v of cancelled response at %v, after the interruption at %v", e.stage, e.f, e.at, interruptAt)
			}
		case "downlink":
			// In flight when the interruption happened: allowed to arrive
			// until the interruption itself has crossed the wire.
			if e.at > interruptAt+41*time.Millisecond {
				t.Errorf("downlink delivered %v at %v after the interruption crossed", e.f, e.at)
			}
		}
	}
	tl := s.Timeline()
	end, ok := tl.First(pipeline.MarkClientPlayedEnd, 1)
	if !ok {
		t.Fatal("player stamped no played_end for the interrupted response")
	}
	if want := interruptAt + 41*time.Millisecond; end.At != want {
		t.Errorf("playback stopped at %v; want %v (interruption + downlink)", end.At, want)
	}
	for _, m := range tl.Marks {
		if m.Name == pipeline.MarkClientFirstPlayed && m.Response == 1 && m.At > end.At {
			t.Errorf("response 1 played at %v after it was stopped", m.At)
		}
	}
	if s.Pending() != 0 {
		t.Errorf("%d events left after run", s.Pending())
	}
	turns := tl.Turns()
	if !turns[1].BargeIn {
		t.Fatalf("turn 1 not seen as a barge-in: %+v", turns[1])
	}
	if got, want := turns[1].Values[pipeline.MetricBargeInStop], end.At-bargeAt; got != want {
		t.Errorf("barge_in_stop = %v; want %v", got, want)
	}
}

// TestEngineDropsStaleOutput: a stage that keeps a cancelled response's frame
// in its own state and pushes it later has it dropped by the engine.
func TestEngineDropsStaleOutput(t *testing.T) {
	var got []pipeline.Frame
	var hold pipeline.Frame
	forgetful := pipeline.StageFunc(func(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
		switch f.Kind {
		case pipeline.AssistantText:
			hold = f // "queued" internally, never cleared on interruption
		case pipeline.UserAudio:
			if hold.Kind != 0 {
				ctx.Push(hold)
			}
		}
	})
	sink := pipeline.StageFunc(func(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
		got = append(got, f)
	})
	s := pipeline.NewSession(pipeline.Options{}, pipeline.Named{Name: "forgetful", Stage: forgetful}, pipeline.Named{Name: "sink", Stage: sink})
	s.Start()
	s.Input(pipeline.Frame{Kind: pipeline.AssistantText, Response: 3, Text: "hello"})
	s.Stage("forgetful").SetScope(3)
	s.Stage("forgetful").Interrupt(3)
	s.Input(pipeline.Frame{Kind: pipeline.UserAudio})
	for _, f := range got {
		if f.Kind == pipeline.AssistantText {
			t.Fatalf("sink received %v after response 3 was interrupted", f)
		}
	}
	if s.Counters()["frames_dropped_cancelled"] != 1 {
		t.Errorf("dropped = %d; want 1", s.Counters()["frames_dropped_cancelled"])
	}
	if len(got) == 0 || got[0].Kind != pipeline.Interruption {
		t.Errorf("sink did not receive the interruption first: %v", got)
	}
}

func TestSystemFramesOvertakeQueuedData(t *testing.T) {
	var order []pipeline.Kind
	src := pipeline.StageFunc(func(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
		if f.Kind == pipeline.TurnEnded {
			ctx.SetScope(1)
			for i := range 3 {
				ctx.Push(pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1, Seq: uint64(i)})
			}
			ctx.Interrupt(1)
		}
	})
	sink := pipeline.StageFunc(func(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
		order = append(order, f.Kind)
	})
	s := pipeline.NewSession(pipeline.Options{}, pipeline.Named{Name: "src", Stage: src}, pipeline.Named{Name: "sink", Stage: sink})
	s.Input(pipeline.Frame{Kind: pipeline.TurnEnded})
	if want := []pipeline.Kind{pipeline.Interruption}; !slices.Equal(order, want) {
		t.Errorf("sink saw %v; want %v (interruption overtakes and drops the queued audio)", order, want)
	}
}

func TestTiesFireInInsertionOrder(t *testing.T) {
	vc := pipeline.NewVirtualClock()
	var got []int
	for i := range 100 {
		at := time.Duration(i%3) * time.Millisecond
		vc.AfterFunc(at, func() { got = append(got, i) })
	}
	vc.Run()
	var want []int
	for k := range 3 {
		for i := k; i < 100; i += 3 {
			want = append(want, i)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("fired %v; want %v", got, want)
	}
}

func TestVirtualClockStop(t *testing.T) {
	vc := pipeline.NewVirtualClock()
	fired := 0
	t1 := vc.AfterFunc(time.Second, func() { fired++ })
	t2 := vc.AfterFunc(2*time.Second, func() { fired += 10 })
	if !t1.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	if t1.Stop() {
		t.Fatal("second Stop returned true")
	}
	vc.Run()
	if fired != 10 {
		t.Errorf("fired = %d; want 10 (only the unstopped timer)", fired)
	}
	if t2.Stop() {
		t.Error("Stop after firing returned true")
	}
	// A stale handle must not cancel the event that reuses its slot.
	t3 := vc.AfterFunc(time.Second, func() { fired += 100 })
	if t2.Stop() || t1.Stop() {
		t.Error("stale handle stopped a recycled event")
	}
	vc.Run()
	if fired != 110 || t3.Active() {
		t.Errorf("fired = %d, t3 active %v; want 110, false", fired, t3.Active())
	}
	if vc.Now() != 3*time.Second {
		t.Errorf("now = %v; want 3s", vc.Now())
	}
}

func TestWaterfallShowsEverySegment(t *testing.T) {
	s := runChain(t, constChain(), 1, nil)
	tm := s.Timeline().Turns()[0]
	var b bytes.Buffer
	if err := pipeline.WriteWaterfall(&b, tm, 40); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"voice_to_voice 1382.0 ms", "endpointing", "500.0 ms", "llm_ttft", "351.0 ms"} {
		if !bytes.Contains(b.Bytes(), []byte(want)) {
			t.Errorf("waterfall lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "sum") || !strings.Contains(out[strings.Index(out, "sum"):], "1382.0 ms") {
		t.Errorf("waterfall sum row wrong:\n%s", out)
	}
	if strings.Contains(out, "llm_queue") {
		t.Errorf("zero-length segment shown:\n%s", out)
	}
}
