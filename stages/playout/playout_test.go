package playout_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
)

// TestUninterruptedPlayback: on a constant network the first sample reaches
// the ear first arrival + depth + device latency, every frame plays at a
// 20 ms cadence, and the whole response is reported played.
func TestUninterruptedPlayback(t *testing.T) {
	cases := []struct {
		src           string
		depth, device time.Duration
		gap           time.Duration // arrival spacing: 20 ms realtime, 0 burst
	}{
		{"", 40 * ms, 15 * ms, 20 * ms}, // Daily: jitter buffer 40, speaker 15
		{"{depth: 0s, device_latency: 0s}", 0, 0, 20 * ms},
		{"{depth: 100ms, device_latency: 5ms}", 100 * ms, 5 * ms, 20 * ms},
		{"{depth: 60ms}", 60 * ms, 15 * ms, 4 * ms}, // asap-paced server
	}
	const n = 50
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			g := newRig(t, tc.src)
			first := 1234 * ms
			g.stream(1, first, tc.gap, n)
			g.Run()
			start := first + tc.depth + tc.device
			fp, ok := g.Mark(pipeline.MarkClientFirstPlayed, 1)
			if !ok || fp.At != start {
				t.Errorf("first played at %v (%v); want %v", fp.At, ok, start)
			}
			a := g.Audio(1)
			if len(a) != n {
				t.Fatalf("played %d frames; want %d", len(a), n)
			}
			for k, o := range a {
				if o.At != start+time.Duration(k)*20*ms || o.F.Seq != uint64(k) || o.F.Flags&pipeline.FlagConcealed != 0 {
					t.Errorf("slot %d: frame #%d at %v (flags %b); want #%d at %v", k, o.F.Seq, o.At, o.F.Flags, k, start+time.Duration(k)*20*ms)
				}
			}
			end := start + n*20*ms
			pe, ok := g.Mark(pipeline.MarkClientPlayedEnd, 1)
			if !ok || pe.At != end || pe.Value != n*20 {
				t.Errorf("played_end %v value %v (%v); want %v value %d", pe.At, pe.Value, ok, end, n*20)
			}
			for _, dir := range []pipeline.Direction{pipeline.Upstream, pipeline.Downstream} {
				st, sp := g.Of(pipeline.PlaybackStarted, dir), g.Of(pipeline.PlaybackStopped, dir)
				if len(st) != 1 || st[0].At != start || len(sp) != 1 || sp[0].At != end || sp[0].F.Value != n*20 {
					t.Errorf("%v: started %v, stopped %v; want one each at %v and %v (value %d)", dir, st, sp, start, end, n*20)
				}
			}
			for _, c := range []string{"playout.concealed", "playout.late", "playout.underruns"} {
				if g.count(c) != 0 {
					t.Errorf("%s = %d; want 0", c, g.count(c))
				}
			}
		})
	}
}

func TestWholeResponseStartsWithoutWaiting(t *testing.T) {
	g := newRig(t, "{depth: 200ms}")
	g.stream(1, time.Second, 0, 3) // three frames at once, the last flagged
	g.Run()
	if fp, _ := g.Mark(pipeline.MarkClientFirstPlayed, 1); fp.At != time.Second+15*ms {
		t.Errorf("first played at %v; want 1.015s (nothing left to wait for)", fp.At)
	}
}

// TestInterruptionFlushes: the sound stops the instant the interruption
// arrives, the partial frame counted to the nanosecond, and nothing plays
// after.
func TestInterruptionFlushes(t *testing.T) {
	g := newRig(t, "")
	g.stream(1, 0, 0, 100) // a burst: all 2 s in at once, so playback starts at 15 ms
	cut := 15*ms + 333*ms + 500*time.Microsecond
	g.Interrupt(cut, 1)
	g.Run()
	pe, ok := g.Mark(pipeline.MarkClientPlayedEnd, 1)
	if !ok || pe.At != cut || pe.Value != 333.5 {
		t.Errorf("played_end at %v value %v (%v); want %v value 333.5", pe.At, pe.Value, ok, cut)
	}
	for _, o := range g.Audio(1) {
		if o.At > cut {
			t.Errorf("frame #%d played at %v after the flush at %v", o.F.Seq, o.At, cut)
		}
	}
	if got := len(g.Audio(1)); got != 17 { // slots 0..16 began by 15 + 333.5 ms
		t.Errorf("%d frames began playing; want 17", got)
	}
	up := g.Of(pipeline.PlaybackStopped, pipeline.Upstream)
	if len(up) != 1 || up[0].At != cut || up[0].F.Value != 333.5 {
		t.Errorf("upstream reports %v; want one at %v with 333.5 ms", up, cut)
	}
	if got, want := g.count("playout.flushed_ms"), int64((100-17)*20); got != want {
		t.Errorf("flushed %d ms; want %d", got, want)
	}
	if g.S.Pending() != 0 {
		t.Errorf("%d events pending after the run", g.S.Pending())
	}
}

func TestInterruptionBeforeFirstSound(t *testing.T) {
	g := newRig(t, "")
	g.stream(1, 0, 20*ms, 10)
	g.Interrupt(30*ms, 1) // buffered, not yet audible (starts at 55 ms)
	g.Run()
	if len(g.Audio(1)) != 0 || g.S.Timeline().Count(pipeline.MarkClientFirstPlayed) != 0 {
		t.Error("audio played after a flush before playback started")
	}
	if len(g.Of(pipeline.PlaybackStopped, pipeline.Upstream)) != 0 {
		t.Error("playback_stopped reported for a response never heard")
	}
}

// TestNoFlushPlaysTheBufferOut: a client that does not flush keeps playing
// what it buffered; what was still on the wire never arrives.
func TestNoFlushPlaysTheBufferOut(t *testing.T) {
	cases := []struct {
		name   string
		gap    time.Duration
		start  time.Duration // first sound
		frames int           // frames buffered by the interruption at 400 ms
	}{
		{"asap server", 0, 15 * ms, 100},          // all in at once: starts without waiting
		{"realtime server", 20 * ms, 55 * ms, 21}, // arrivals at 0..400 ms
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, "{flush_on_interrupt: false}")
			g.stream(1, 0, tc.gap, 100)
			g.Interrupt(400*ms, 1)
			g.Run()
			want := tc.start + time.Duration(tc.frames)*20*ms
			pe, ok := g.Mark(pipeline.MarkClientPlayedEnd, 1)
			if !ok || pe.At != want || pe.Value != float64(tc.frames*20) {
				t.Errorf("played_end at %v value %v (%v); want %v value %d", pe.At, pe.Value, ok, want, tc.frames*20)
			}
			up := g.Of(pipeline.PlaybackStopped, pipeline.Upstream)
			if len(up) != 1 || up[0].At != want {
				t.Errorf("upstream reports %v; want one at %v", up, want)
			}
		})
	}
}

func TestLostFrameConcealedAndTurnCompletes(t *testing.T) {
	g := newRig(t, "")
	g.stream(1, 0, 20*ms, 50, 10)  // frame 10 lost
	g.arrive(500*ms, 1, 10, false) // … and retransmitted too late
	g.Run()
	if g.count("playout.concealed") != 1 || g.count("playout.late") != 1 || g.count("playout.underruns") != 0 {
		t.Errorf("concealed %d late %d underruns %d; want 1, 1, 0", g.count("playout.concealed"), g.count("playout.late"), g.count("playout.underruns"))
	}
	a := g.Audio(1)
	if len(a) != 50 || a[10].F.Flags&pipeline.FlagConcealed == 0 || a[10].At != 255*ms {
		t.Fatalf("slot 10: %v; want a concealed frame at 255ms among 50 slots", a[10])
	}
	pe, ok := g.Mark(pipeline.MarkClientPlayedEnd, 1)
	if !ok || pe.At != 55*ms+1000*ms || pe.Value != 1000 {
		t.Errorf("played_end %v value %v; want 1.055s, 1000 ms", pe.At, pe.Value)
	}
}

func TestLostLastFrameEndsOnResponseDone(t *testing.T) {
	g := newRig(t, "")
	g.stream(1, 0, 20*ms, 20, 19)
	// tts.streaming's ResponseDone carries the frame count.
	g.Send(390*ms, pipeline.Frame{Kind: pipeline.ResponseDone, Response: 1, Seq: 20})
	g.Run()
	pe, ok := g.Mark(pipeline.MarkClientPlayedEnd, 1)
	if !ok || pe.At != 455*ms || pe.Value != 400 {
		t.Errorf("played_end %v value %v (%v); want 455ms, 400 ms", pe.At, pe.Value, ok)
	}
	if g.count("playout.concealed") != 1 {
		t.Errorf("concealed %d; want 1", g.count("playout.concealed"))
	}
}

// TestUnderrunStallsAndResumes: when the buffer runs dry mid-response the
// playback pauses and resumes with the next frame, skipping nothing.
func TestUnderrunStallsAndResumes(t *testing.T) {
	g := newRig(t, "")
	for k := range 20 { // the server stalls 200 ms after frame 9
		at := time.Duration(k) * 20 * ms
		if k >= 10 {
			at += 200 * ms
		}
		g.arrive(at, 1, k, k == 19)
	}
	g.Run()
	if g.count("playout.underruns") != 1 || g.count("playout.concealed") != 0 {
		t.Errorf("underruns %d concealed %d; want 1, 0", g.count("playout.underruns"), g.count("playout.concealed"))
	}
	a := g.Audio(1)
	if len(a) != 20 || a[10].At != 415*ms { // frame 10 arrives at 400, + 15 ms device
		t.Fatalf("played %d; slot 10 at %v; want 20, 415ms", len(a), a[10].At)
	}
	pe, _ := g.Mark(pipeline.MarkClientPlayedEnd, 1)
	if pe.At != 615*ms || pe.Value != 400 {
		t.Errorf("played_end %v value %v; want 615ms, 400 ms (the stall is not playback)", pe.At, pe.Value)
	}
}

func TestResponsesPlayInTurn(t *testing.T) {
	g := newRig(t, "")
	g.stream(1, 0, 20*ms, 20)
	g.stream(2, 100*ms, 20*ms, 10) // arrives while 1 still plays
	g.Run()
	e1, _ := g.Mark(pipeline.MarkClientPlayedEnd, 1)
	f2, _ := g.Mark(pipeline.MarkClientFirstPlayed, 2)
	e2, _ := g.Mark(pipeline.MarkClientPlayedEnd, 2)
	if e1.At != 455*ms || f2.At != e1.At || e2.At != f2.At+200*ms {
		t.Errorf("1 ends %v, 2 plays %v..%v; want 455ms, 455ms..655ms", e1.At, f2.At, e2.At)
	}
}

func TestInvalidConfigNamesFieldAndValue(t *testing.T) {
	cases := []struct{ src, field, value string }{
		{"depth: -10ms", "depth", "-10ms"},
		{"device_latency: 11s", "device_latency", "11s"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			_, err := prepare(t, tc.src)
			fe, ok := err.(*pipeline.FieldError)
			if !ok {
				t.Fatalf("got %v; want a *pipeline.FieldError", err)
			}
			if fe.Field != tc.field || fe.Value != tc.value || fe.Stage != "playout.jitter" {
				t.Errorf("got stage %q field %q value %q; want playout.jitter, %q, %q", fe.Stage, fe.Field, fe.Value, tc.field, tc.value)
			}
		})
	}
}

func TestNextResponseAfterFlush(t *testing.T) {
	g := newRig(t, "")
	g.stream(1, 0, 20*ms, 100)
	g.Interrupt(300*ms, 1)
	g.stream(2, 900*ms, 20*ms, 10)
	g.Run()
	if pe, _ := g.Mark(pipeline.MarkClientPlayedEnd, 1); pe.At != 300*ms || pe.Value != 245 {
		t.Errorf("1 stopped at %v after %v ms; want 300ms after 245 ms", pe.At, pe.Value)
	}
	if fp, _ := g.Mark(pipeline.MarkClientFirstPlayed, 2); fp.At != 955*ms {
		t.Errorf("2 first played at %v; want 955ms", fp.At)
	}
	if n := len(g.Audio(2)); n != 10 {
		t.Errorf("2 played %d frames; want 10", n)
	}
}

// TestBufferedFramesAreReported: the playout reports the samples of every
// frame waiting in its buffer (a FramePool upstream must not reuse them),
// and none once they have played.
func TestBufferedFramesAreReported(t *testing.T) {
	p, err := prepare(t, "{depth: 100ms}")
	if err != nil {
		t.Fatal(err)
	}
	st := p.New()
	holder, ok := st.(pipeline.Holder)
	if !ok {
		t.Fatal("the playout does not report the frames it keeps")
	}
	g := pipetest.NewRig(t, "playout", st, pipeline.Options{Seed: 1})
	const n = 10
	bufs := map[*int16]bool{}
	for k := range n {
		b := make([]int16, pipeline.FrameSamples)
		bufs[&b[0]] = true
		f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1, Seq: uint64(k), Audio: b}
		if k == n-1 {
			f.Flags |= pipeline.FlagLast
		}
		g.Send(time.Second, f)
	}
	held := func() map[*int16]bool {
		out := map[*int16]bool{}
		holder.EachHeld(func(a []int16) { out[&a[0]] = true })
		return out
	}
	vc := g.S.Clock().(*pipeline.VirtualClock)
	vc.RunUntil(time.Second + 10*ms) // all in, none played yet
	if h := held(); len(h) != n {
		t.Errorf("%d frames reported while all %d wait to play", len(h), n)
	} else {
		for b := range h {
			if !bufs[b] {
				t.Error("reported storage that no frame sent has")
			}
		}
	}
	vc.RunUntil(time.Second + 15*ms + 5*pipeline.FrameDuration + ms) // five have left
	if h := held(); len(h) != n-5 && len(h) != n-6 {
		t.Errorf("%d frames reported after five played; want %d or %d", len(h), n-5, n-6)
	}
	g.Run()
	if h := held(); len(h) != 0 {
		t.Errorf("%d frames reported after the response played out", len(h))
	}
}
