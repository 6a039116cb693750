package pipeline_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// BenchmarkEventLoop measures raw scheduling: each op schedules and fires one
// event through the virtual clock.
func BenchmarkEventLoop(b *testing.B) {
	vc := pipeline.NewVirtualClock()
	n := 0
	var tick func()
	tick = func() {
		n++
		if n < b.N {
			vc.AfterFunc(time.Millisecond, tick)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	vc.AfterFunc(0, tick)
	vc.Run()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSessionFrames measures the cost of one 20 ms user audio frame
// through a session: script event, uplink delay event, delivery to a stage.
func BenchmarkSessionFrames(b *testing.B) {
	sink := pipeline.StageFunc(func(*pipeline.Context, pipeline.Frame, pipeline.Direction) {})
	s := pipeline.NewSession(pipeline.Options{},
		pipeline.Named{Name: "uplink", Stage: &wire{lat: pipeline.Const(30 * time.Millisecond)}},
		pipeline.Named{Name: "sink", Stage: sink})
	s.Start()
	buf := make([]int16, pipeline.FrameSamples)
	vc := s.Clock().(*pipeline.VirtualClock)
	feed := s.Input
	// warm up pools
	for i := range 100 {
		s.AfterFrame(time.Duration(i)*pipeline.FrameDuration, pipeline.Frame{Kind: pipeline.UserAudio, Audio: buf}, feed)
	}
	vc.Run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.AfterFrame(pipeline.FrameDuration, pipeline.Frame{Kind: pipeline.UserAudio, Seq: uint64(i), Audio: buf}, feed)
		vc.Step()
		vc.Step()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkConversation60s runs a 60-second, 10-turn conversation through
// the test cascade: the microphone streams all 3,000 frames of the minute
// (speech and silence), and every answer streams 150 audio frames back, with
// random latencies. Reported: simulated seconds per wall second.
func BenchmarkConversation60s(b *testing.B) {
	l := randomChain()
	l.frames = 150 // 3 s answers
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s := pipeline.NewSession(pipeline.Options{Seed: uint64(i)}, buildChain(l)...)
		s.Start()
		m := &mic{s: s, length: time.Minute}
		for k := range 10 {
			start := time.Duration(k) * 6 * time.Second
			m.spans = append(m.spans, [2]time.Duration{start + 500*time.Millisecond, start + 2*time.Second})
		}
		m.start()
		s.Clock().(*pipeline.VirtualClock).Run()
		if m.sent != 3000 {
			b.Fatalf("mic sent %d frames; want 3000", m.sent)
		}
	}
	b.ReportMetric(60*float64(b.N)/b.Elapsed().Seconds(), "x_realtime")
}

// mic streams a continuous microphone: one frame every 20 ms, flagged where
// the scripted speech spans start and end.
type mic struct {
	s      *pipeline.Session
	length time.Duration
	spans  [][2]time.Duration
	buf    []int16
	sent   int
	t      time.Duration
	tick   func()
}

func (m *mic) start() {
	m.buf = make([]int16, pipeline.FrameSamples)
	m.tick = m.next
	for k, sp := range m.spans {
		m.s.Timeline().Add(pipeline.Mark{Name: pipeline.MarkUserSpeechStart, At: sp[0], Turn: k})
		m.s.Timeline().Add(pipeline.Mark{Name: pipeline.MarkUserSpeechEnd, At: sp[1], Turn: k})
	}
	m.s.AfterFunc(pipeline.FrameDuration, m.tick)
}

func (m *mic) next() {
	f := pipeline.Frame{Kind: pipeline.UserAudio, At: m.t, Seq: uint64(m.sent), Audio: m.buf}
	end := m.t + pipeline.FrameDuration
	for _, sp := range m.spans {
		if sp[0] >= m.t && sp[0] < end {
			f.Flags |= pipeline.FlagSpeechStart
		}
		if sp[1] > m.t && sp[1] <= end {
			f.Flags |= pipeline.FlagSpeechEnd
		}
	}
	m.s.Input(f)
	m.sent++
	m.t = end
	if m.t < m.length {
		m.s.AfterFunc(pipeline.FrameDuration, m.tick)
	}
}

// BenchmarkTurns measures a timeline's per-turn metrics, which a live
// session recomputes whenever a report may change them.
func BenchmarkTurns(b *testing.B) {
	s := runChain(b, constChain(), 1, nil)
	tl := s.Timeline()
	b.ReportAllocs()
	for b.Loop() {
		if len(tl.Turns()) != 2 {
			b.Fatal("want two turns")
		}
	}
}
