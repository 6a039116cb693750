package playout_test

import (
	"testing"

	"github.com/voicesim/voicesim/pipeline"
)

// steady is a playout fed one frame of an endless response every 20 ms,
// the network in front of it constant: each step of feedOne is one frame
// arriving and one slot playing.
type steady struct {
	s    *pipeline.Session
	vc   *pipeline.VirtualClock
	f    pipeline.Frame
	feed func(pipeline.Frame)
}

func newSteady(t testing.TB) *steady {
	p, err := prepare(t, "")
	if err != nil {
		t.Fatal(err)
	}
	sink := pipeline.StageFunc(func(*pipeline.Context, pipeline.Frame, pipeline.Direction) {})
	st := &steady{}
	st.s = pipeline.NewSession(pipeline.Options{},
		pipeline.Named{Name: "playout", Stage: p.New()}, pipeline.Named{Name: "sink", Stage: sink})
	st.s.Start()
	st.vc = st.s.Clock().(*pipeline.VirtualClock)
	st.f = pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1, Audio: make([]int16, pipeline.FrameSamples)}
	st.feed = st.s.Input
	for range 200 { // warm the ring, pools and counters
		st.feedOne()
	}
	return st
}

func (st *steady) feedOne() {
	st.s.AfterFrame(pipeline.FrameDuration, st.f, st.feed)
	st.f.Seq++
	st.vc.RunUntil(st.vc.Now() + pipeline.FrameDuration)
}

// BenchmarkFrame is the playout's cost per 20 ms frame: arrival, buffering
// and the slot that plays it.
func BenchmarkFrame(b *testing.B) {
	st := newSteady(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st.feedOne()
	}
}

func TestFrameAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	st := newSteady(t)
	if got := testing.AllocsPerRun(200, st.feedOne); got != 0 {
		t.Errorf("got %v allocations per frame; want 0", got)
	}
	if c := st.s.Counters(); c["playout.concealed"]+c["playout.underruns"]+c["playout.late"] != 0 {
		t.Errorf("steady feed concealed/underran/late: %v", c)
	}
}
