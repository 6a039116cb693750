package native

import (
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// sink swallows everything that reaches the end of a chain.
func sink() pipeline.Stage {
	return pipeline.StageFunc(func(*pipeline.Context, pipeline.Frame, pipeline.Direction) {})
}

// realtimeEncoderRig is native.realtime alone, fed user audio directly.
func realtimeEncoderRig(tb testing.TB) (*pipeline.Session, pipeline.Frame) {
	tb.Helper()
	s := pipeline.NewSession(pipeline.Options{Seed: 1},
		pipeline.Named{Name: RealtimeName, Stage: NewRealtime(RealtimeDefaults())},
		pipeline.Named{Name: "sink", Stage: sink()})
	s.Start()
	f := pipeline.Frame{Kind: pipeline.UserAudio, Audio: make([]int16, pipeline.FrameSamples)}
	for range 20 { // warm up: counters exist
		s.Input(f)
	}
	return s, f
}

// duplexSpeakingRig is native.duplex in the middle of a long answer, with
// the user silent: every step emits 4 frames.
func duplexSpeakingRig(tb testing.TB) (s *pipeline.Session, d *Duplex, step func(), restart func()) {
	tb.Helper()
	d = NewDuplex(DuplexDefaults()).(*Duplex)
	s = pipeline.NewSession(pipeline.Options{Seed: 1},
		pipeline.Named{Name: DuplexName, Stage: d},
		pipeline.Named{Name: "sink", Stage: sink()})
	s.Start()
	const frames = 3000 // a minute of answer
	talk := duplexOut{active: true, answer: true, id: 1, clip: make([]int16, frames*pipeline.FrameSamples), frames: frames}
	d.out = talk
	vc := s.Clock().(*pipeline.VirtualClock)
	silence := pipeline.Frame{Kind: pipeline.UserAudio, Audio: make([]int16, pipeline.FrameSamples)}
	feed := s.Input
	step = func() {
		s.AfterFrame(pipeline.FrameDuration, silence, feed)
		vc.RunUntil(vc.Now() + pipeline.FrameDuration)
	}
	restart = func() {
		if !d.out.active {
			d.out = talk
		}
	}
	for range 40 { // warm up: the clock is running, counters exist
		step()
	}
	return s, d, step, restart
}

// TestHotPathsDoNotAllocate: no allocation per 20 ms frame in the
// realtime encoder, the realtime output stream, or the duplex step.
func TestHotPathsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s, f := realtimeEncoderRig(t)
	if got := testing.AllocsPerRun(500, func() { s.Input(f) }); got != 0 {
		t.Errorf("realtime encoder: %v allocs per user frame; want 0", got)
	}

	// Realtime output: a minute-long answer streamed frame by frame.
	cfg := RealtimeDefaults()
	cfg.TokensPerSecond = 50 // one token (2.5 frames) per event
	cfg.Answers = []string{longAnswer()}
	rs := pipeline.NewSession(pipeline.Options{Seed: 1},
		pipeline.Named{Name: RealtimeName, Stage: NewRealtime(cfg)},
		pipeline.Named{Name: "sink", Stage: sink()})
	rs.Start()
	rs.Input(pipeline.Frame{Kind: pipeline.TurnEnded, Response: 1})
	vc := rs.Clock().(*pipeline.VirtualClock)
	for range 20 {
		vc.Step()
	}
	if got := testing.AllocsPerRun(500, func() { vc.Step() }); got != 0 {
		t.Errorf("realtime output: %v allocs per token of audio; want 0", got)
	}
	if _, ok := rs.Timeline().First(pipeline.MarkNativeFirstAudio, 1); !ok || vc.Pending() == 0 {
		t.Fatal("the answer was not streaming during the measurement")
	}

	_, d, step, _ := duplexSpeakingRig(t)
	if got := testing.AllocsPerRun(1000, step); got != 0 {
		t.Errorf("duplex: %v allocs per 20 ms frame while speaking; want 0", got)
	}
	if !d.out.active || d.out.next == 0 {
		t.Fatal("the model was not speaking during the measurement")
	}
}

// longAnswer is about a minute of speech.
func longAnswer() string {
	return strings.Repeat("This is a long answer that goes on and on for the benchmark. ", 40)
}

// BenchmarkRealtimeTurn runs one whole native.realtime turn: a 2 s
// question streamed for 5 s, the answer synthesised and streamed out.
func BenchmarkRealtimeTurn(b *testing.B) {
	u := newUser(b)
	q := questions()[0]
	clip := u.say(q)
	cfg := RealtimeDefaults()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rig := newRealtimeRig(b, cfg, uint64(i), 5*time.Second, utterance{at: 300 * time.Millisecond, clip: clip, text: q})
		runVirtual(rig.s)
	}
}

// BenchmarkDuplexTurn runs one whole native.duplex turn, the same way.
func BenchmarkDuplexTurn(b *testing.B) {
	u := newUser(b)
	q := questions()[0]
	clip := u.say(q)
	cfg := DuplexDefaults()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rig := newDuplexRig(b, cfg, uint64(i), 30*time.Millisecond, 5*time.Second, utterance{at: 300 * time.Millisecond, clip: clip, text: q})
		runVirtual(rig.s)
	}
}

// BenchmarkRealtimeEncodeFrame: one 20 ms user frame through the encoder.
func BenchmarkRealtimeEncodeFrame(b *testing.B) {
	s, f := realtimeEncoderRig(b)
	b.ReportAllocs()
	for b.Loop() {
		s.Input(f)
	}
}

// BenchmarkDuplexFrame: one 20 ms frame of the duplex model's life while it
// speaks — the user frame heard, and every fourth frame a model step that
// emits 80 ms of audio.
func BenchmarkDuplexFrame(b *testing.B) {
	_, _, step, restart := duplexSpeakingRig(b)
	b.ReportAllocs()
	for b.Loop() {
		step()
		restart()
	}
}
