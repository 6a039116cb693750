package tts_test

import (
	"slices"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

var answer = []string{
	"Sure, the museum opens at nine tomorrow.",
	"Tickets are twelve dollars for adults.",
	"Would you like directions?",
}

const ms = time.Millisecond

func TestFirstAudioAtRequestPlusTTFB(t *testing.T) {
	cases := []struct {
		src  string
		ttfb time.Duration
	}{
		{"", 80 * ms}, // Daily's budget
		{"{ttfb: 75ms}", 75 * ms},
		{"{ttfb: 90ms, pace: asap}", 90 * ms},
		{"{ttfb: 123ms, speed: 0.5}", 123 * ms},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			g := newRig(t, tc.src)
			req := 1500 * ms
			g.text(req, 1, answer[0])
			g.text(req+10*ms, 1, answer[1])
			g.done(req+20*ms, 1)
			g.Run()
			a := g.Audio(1)
			if len(a) == 0 {
				t.Fatal("no audio")
			}
			if got, want := a[0].At, req+tc.ttfb; got != want {
				t.Errorf("first audio sent at %v; want %v", got, want)
			}
			m, _ := g.Mark(pipeline.MarkTTSRequest, 1)
			fa, _ := g.Mark(pipeline.MarkTTSFirstAudio, 1)
			if m.At != req || fa.At != req+tc.ttfb {
				t.Errorf("marks request %v, first audio %v; want %v, %v", m.At, fa.At, req, req+tc.ttfb)
			}
			if a[0].F.At != a[0].At {
				t.Errorf("frame At %v; want its send time %v", a[0].F.At, a[0].At)
			}
		})
	}
}

// TestFramesAreTheSynthesisedSpeech: the response's audio is each
// sentence's synthesis cut into 20 ms frames, Seq contiguous across the
// response, FlagLast only on the last, then ResponseDone with the count.
func TestFramesAreTheSynthesisedSpeech(t *testing.T) {
	g := newRig(t, "")
	for i, s := range answer {
		g.text(time.Duration(i)*30*ms, 7, s)
	}
	g.done(100*ms, 7)
	g.Run()
	sy := defaultSynth(t)
	var want []int16
	wantFrames := 0
	for _, s := range answer {
		clip := sy.Speak(s).Samples
		n := frames(sy, s)
		wantFrames += n
		padded := make([]int16, n*pipeline.FrameSamples)
		copy(padded, clip)
		want = append(want, padded...)
	}
	a := g.Audio(7)
	if len(a) != wantFrames {
		t.Fatalf("got %d frames; want %d (the synthesised duration in 20 ms frames)", len(a), wantFrames)
	}
	var got []int16
	for i, o := range a {
		if o.F.Seq != uint64(i) {
			t.Errorf("frame %d has Seq %d; want contiguous from 0", i, o.F.Seq)
		}
		if len(o.F.Audio) != pipeline.FrameSamples {
			t.Errorf("frame %d has %d samples; want %d", i, len(o.F.Audio), pipeline.FrameSamples)
		}
		if last := o.F.Flags&pipeline.FlagLast != 0; last != (i == len(a)-1) {
			t.Errorf("frame %d FlagLast = %v; want %v", i, last, i == len(a)-1)
		}
		got = append(got, o.F.Audio...)
	}
	if !slices.Equal(got, want) {
		t.Error("audio differs from the synthesiser's output for the sentences")
	}
	lastOut := g.Out[len(g.Out)-1]
	if lastOut.F.Kind != pipeline.ResponseDone || lastOut.At != a[len(a)-1].At || lastOut.F.Seq != uint64(wantFrames) {
		t.Errorf("after the audio: %v at %v; want response_done with Seq %d at %v", lastOut.F, lastOut.At, wantFrames, a[len(a)-1].At)
	}
	if m, ok := g.Mark(pipeline.MarkTTSDone, 7); !ok || m.At != a[len(a)-1].At {
		t.Errorf("tts.done at %v (%v); want %v", m.At, ok, a[len(a)-1].At)
	}
	var chars int64
	var audioMs int64
	for _, s := range answer {
		chars += int64(len(s))
		audioMs += sy.SpeakDuration(s).Milliseconds()
	}
	if c := g.S.Counters(); c["tts.chars"] != chars || c["tts.audio_ms"] != audioMs {
		t.Errorf("counters chars %d audio_ms %d; want %d, %d", c["tts.chars"], c["tts.audio_ms"], chars, audioMs)
	}
}

// TestPacing: frame k of the first sentence is generated at request + ttfb
// + k·20ms/speed; realtime sends it no faster than every 20 ms, asap as soon
// as it exists. The second sentence starts generating when the first is
// done and pays its own ttfb.
func TestPacing(t *testing.T) {
	sy := defaultSynth(t)
	n0 := frames(sy, answer[0])
	const ttfb, gen = 80 * ms, 4 * ms // speed 5: 20 ms of audio in 4 ms
	req := time.Second
	cases := []struct {
		pace string
		at   func(k int) time.Duration
	}{
		{"realtime", func(k int) time.Duration { return req + ttfb + time.Duration(k)*20*ms }},
		{"asap", func(k int) time.Duration {
			if k < n0 {
				return req + ttfb + time.Duration(k)*gen
			}
			s1 := req + ttfb + time.Duration(n0-1)*gen + ttfb // the second sentence's first byte
			return s1 + time.Duration(k-n0)*gen
		}},
	}
	for _, tc := range cases {
		t.Run(tc.pace, func(t *testing.T) {
			g := newRig(t, "{pace: "+tc.pace+", speed: 5, ttfb: 80ms}")
			g.text(req, 1, answer[0])
			g.text(req, 1, answer[1])
			g.done(req, 1)
			g.Run()
			a := g.Audio(1)
			if want := n0 + frames(sy, answer[1]); len(a) != want {
				t.Fatalf("got %d frames; want %d", len(a), want)
			}
			for k, o := range a {
				if want := tc.at(k); o.At != want {
					t.Fatalf("frame %d sent at %v; want %v", k, o.At, want)
				}
			}
		})
	}
}

func TestSlowSynthesisStallsRealtime(t *testing.T) {
	// At half real time a frame takes 40 ms to generate: the 20 ms pacing
	// never binds and frames go out as they are generated.
	g := newRig(t, "{speed: 0.5, ttfb: 100ms}")
	g.text(0, 1, answer[2])
	g.done(0, 1)
	g.Run()
	for k, o := range g.Audio(1) {
		if want := 100*ms + time.Duration(k)*40*ms; o.At != want {
			t.Fatalf("frame %d sent at %v; want %v", k, o.At, want)
		}
	}
}

// TestNonStreamingWaitsForWholeText: the request is made when the answer is
// complete, and the first byte comes after ttfb + audio length / speed.
func TestNonStreamingWaitsForWholeText(t *testing.T) {
	sy := defaultSynth(t)
	g := newRig(t, "{streaming: false, ttfb: 200ms, speed: 10}")
	for i, s := range answer {
		g.text(time.Second+time.Duration(i)*100*ms, 1, s)
	}
	done := 2 * time.Second
	g.done(done, 1)
	g.Run()
	total := 0
	for _, s := range answer {
		total += frames(sy, s)
	}
	want := done + 200*ms + time.Duration(total)*2*ms // 20 ms / 10
	a := g.Audio(1)
	if len(a) != total {
		t.Fatalf("got %d frames; want %d", len(a), total)
	}
	if a[0].At != want {
		t.Errorf("first audio at %v; want %v (after the whole answer is synthesised)", a[0].At, want)
	}
	if m, _ := g.Mark(pipeline.MarkTTSRequest, 1); m.At != done {
		t.Errorf("tts.request at %v; want %v (when the whole text is in)", m.At, done)
	}
	for k, o := range a {
		if o.At != want+time.Duration(k)*20*ms {
			t.Fatalf("frame %d at %v; want realtime pacing from %v", k, o.At, want)
		}
	}
}

// TestLateResponseDoneSendsEmptyLastMarker: when the answer's end is only
// known after its audio went out, an empty FlagLast frame closes it.
func TestLateResponseDoneSendsEmptyLastMarker(t *testing.T) {
	sy := defaultSynth(t)
	n := frames(sy, answer[2])
	g := newRig(t, "{pace: asap}")
	g.text(0, 1, answer[2])
	g.done(5*time.Second, 1)
	g.Run()
	a := g.Audio(1)
	if len(a) != n+1 {
		t.Fatalf("got %d frames; want %d + the marker", len(a), n)
	}
	for i, o := range a[:n] {
		if o.F.Flags&pipeline.FlagLast != 0 {
			t.Errorf("frame %d flagged last before the response was done", i)
		}
	}
	m := a[n]
	if m.F.Flags&pipeline.FlagLast == 0 || len(m.F.Audio) != 0 || m.F.Seq != uint64(n) || m.At != 5*time.Second {
		t.Errorf("marker = %v at %v; want empty FlagLast frame #%d at 5s", m.F, m.At, n)
	}
}

func TestInterruptionDropsQueuedText(t *testing.T) {
	g := newRig(t, "")
	g.text(0, 1, answer[0])
	g.text(0, 1, answer[1])
	g.text(0, 1, answer[2])
	g.done(0, 1)
	cut := 700 * ms
	g.Interrupt(cut, 1)
	// The next answer starts fresh: no queue behind the cancelled one.
	g.text(2*time.Second, 2, "Okay.")
	g.done(2*time.Second, 2)
	g.Run()
	for _, o := range g.Out {
		if o.F.Response == 1 && o.At > cut && o.F.Kind != pipeline.Interruption {
			t.Errorf("%v left at %v after the interruption at %v", o.F, o.At, cut)
		}
	}
	// Sent at 80, 100, … 680 ms; the frame due at 700 ms is cancelled by
	// the interruption scheduled for the same instant before it.
	if got, want := len(g.Audio(1)), 31; got != want {
		t.Errorf("sent %d frames of the cut answer; want %d (80 ms … 680 ms every 20 ms)", got, want)
	}
	if _, ok := g.Mark(pipeline.MarkTTSDone, 1); ok {
		t.Error("tts.done stamped for the interrupted answer")
	}
	if a := g.Audio(2); len(a) == 0 || a[0].At != 2*time.Second+80*ms {
		t.Errorf("next answer's first audio %v; want at 2.08s", a)
	}
}

func TestInvalidConfigNamesFieldAndValue(t *testing.T) {
	cases := []struct{ src, field, value string }{
		{"speed: 0", "speed", "0"},
		{"speed: -2", "speed", "-2"},
		{"pace: fast", "pace", "fast"},
		{"voice: {pitch_hz: 20}", "voice.pitch_hz", "20"},
		{"voice: {syllables_per_second: 40}", "voice.syllables_per_second", "40"},
		{"voice: {level_dbfs: 3}", "voice.level_dbfs", "3"},
		{"ttfb: -5ms", "ttfb", "-5ms"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			_, err := prepare(t, tc.src)
			fe, ok := err.(*pipeline.FieldError)
			if !ok {
				t.Fatalf("got %v; want a *pipeline.FieldError", err)
			}
			if fe.Field != tc.field || fe.Value != tc.value || fe.Stage != "tts.streaming" {
				t.Errorf("got stage %q field %q value %q; want tts.streaming, %q, %q", fe.Stage, fe.Field, fe.Value, tc.field, tc.value)
			}
		})
	}
}

// TestSendingAFrameAllocatesNothing: once a sentence is synthesised, each
// 20 ms frame is a sub-slice of its clip sent on a pooled timer.
func TestSendingAFrameAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p, err := prepare(t, "{speed: 1000}")
	if err != nil {
		t.Fatal(err)
	}
	sink := pipeline.StageFunc(func(*pipeline.Context, pipeline.Frame, pipeline.Direction) {})
	s := pipeline.NewSession(pipeline.Options{}, pipeline.Named{Name: "tts", Stage: p.New()}, pipeline.Named{Name: "sink", Stage: sink})
	s.Start()
	vc := s.Clock().(*pipeline.VirtualClock)
	s.Input(pipeline.Frame{Kind: pipeline.AssistantText, Response: 1, Text: answer[0] + " " + answer[1] + " " + answer[0]})
	for range 10 { // past the first frame's mark
		vc.Step()
	}
	if got := testing.AllocsPerRun(100, func() { vc.Step() }); got != 0 {
		t.Errorf("got %v allocations per frame; want 0", got)
	}
}
