package turn_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"github.com/voicesim/voicesim/stages/turn"
	"github.com/voicesim/voicesim/stages/vad"
)

// End-to-end: the real VAD on real speech, feeding a turn detector.

const (
	testdata = "../../pipeline/audio/testdata"
	uplink   = 37 * time.Millisecond
)

type placed struct {
	clip  string
	at    time.Duration // where the clip starts in the stream
	truth audio.Span    // speech within the clip (from its known padding)
}

type clipInfo struct {
	samples []int16
	truth   audio.Span
}

func loadClip(t testing.TB, name string) clipInfo {
	t.Helper()
	c, err := audio.DecodeWAVFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	c = audio.ToMono24k(c)
	// Padding from testdata/gen.sh: speech fills the rest exactly.
	lead, trail := 300*time.Millisecond, 300*time.Millisecond
	if name == "hello.wav" {
		lead, trail = 500*time.Millisecond, 700*time.Millisecond
	}
	return clipInfo{c.Samples, audio.Span{Start: lead, End: c.Duration() - trail}}
}

// stream is a continuous microphone stream of total length with clips
// placed in silence; the frames holding each clip's true speech start and
// end carry the truth flags, as an input script would set them.
func stream(t testing.TB, total time.Duration, clips ...placed) ([]int16, []placed) {
	t.Helper()
	out := make([]int16, audio.DurationToSamples(total, audio.SampleRate))
	for i, p := range clips {
		c := loadClip(t, p.clip)
		audio.MixAt(out, c.samples, audio.DurationToSamples(p.at, audio.SampleRate))
		clips[i].truth = audio.Span{Start: p.at + c.truth.Start, End: p.at + c.truth.End}
	}
	return out, clips
}

// runE2E feeds samples as 20 ms frames, each delivered uplink after its
// last sample was captured, through vad.energy → stage → player.
func runE2E(t testing.TB, vcfg *vad.Config, stage pipeline.Stage, p *player, samples []int16, truths []placed) *pipeline.Session {
	t.Helper()
	s := pipeline.NewSession(pipeline.Options{Seed: 1},
		pipeline.Named{Name: "vad.energy", Stage: vad.New(vcfg)},
		pipeline.Named{Name: "turn", Stage: stage},
		pipeline.Named{Name: "player", Stage: p})
	s.Start()
	feed := func(f pipeline.Frame) { s.Input(f) }
	for i, seq := 0, uint64(0); i < len(samples); i, seq = i+pipeline.FrameSamples, seq+1 {
		j := min(i+pipeline.FrameSamples, len(samples))
		at := audio.SamplesToDuration(i, audio.SampleRate)
		end := audio.SamplesToDuration(j, audio.SampleRate)
		f := pipeline.Frame{Kind: pipeline.UserAudio, Seq: seq, At: at, Audio: samples[i:j:j]}
		for _, tr := range truths {
			if tr.truth.Start >= at && tr.truth.Start < end {
				f.Flags |= pipeline.FlagSpeechStart
			}
			if tr.truth.End > at && tr.truth.End <= end {
				f.Flags |= pipeline.FlagSpeechEnd
			}
		}
		s.AfterFrame(end+uplink, f, feed)
	}
	s.Clock().(*pipeline.VirtualClock).Run()
	return s
}

// TestEndToEndTurnEnd: hello.wav in a continuous stream of silence ends
// exactly one turn, 500 ms after the true end of speech (± 60 ms: the
// VAD's offset error), for either detector.
func TestEndToEndTurnEnd(t *testing.T) {
	const tolerance = 60 * time.Millisecond
	cases := []struct {
		name  string
		stage func() pipeline.Stage
	}{
		{"turn.silence", func() pipeline.Stage { return turn.NewSilence(turn.SilenceDefaults()) }},
		{"turn.semantic", func() pipeline.Stage { return semantic(nil) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			samples, truths := stream(t, 6*time.Second, placed{clip: "hello.wav", at: 1010 * time.Millisecond})
			p := &player{startAfter: ms(300), length: time.Second}
			s := runE2E(t, vad.Defaults(), tc.stage(), p, samples, truths)
			ends := p.of(pipeline.TurnEnded)
			if len(ends) != 1 {
				t.Fatalf("got %d turn ends %v; want exactly 1", len(ends), ends)
			}
			// The server counts silence in the audio it receives, so the
			// turn ends the uplink after the silence has passed at the mic.
			want := truths[0].truth.End + turn.DefaultSilence + uplink
			t.Logf("turn end %v; true end %v + 500ms + uplink = %v; error %v", ends[0].at, truths[0].truth.End, want, ends[0].at-want)
			if got := ends[0].at; abs(got-want) > tolerance {
				t.Errorf("got turn end at %v; want %v ± %v (true end %v + 500 ms + %v uplink)", got, want, tolerance, truths[0].truth.End, uplink)
			}
			if got := s.Counters()[turn.CounterFallbackEnds]; got != 0 {
				t.Errorf("got %d fallback ends; want 0 (the true end was recognised)", got)
			}
		})
	}
}

// TestBackchannelEndToEnd: while the answer to hello plays, the user says
// "uh-huh" (317 ms) and later speaks over it for real. The turn stage counts
// the frames the VAD judged voiced, so the VAD's stop hangover does not make
// a short sound "last" longer: with the 0.5 s minimum the uh-huh is ignored
// whatever stop_secs is; a 0.2 s minimum lets it interrupt.
func TestBackchannelEndToEnd(t *testing.T) {
	cases := []struct {
		name             string
		stopSecs         time.Duration
		minInterruption  time.Duration
		backchannels     int64
		wantInterruption int // turns whose response is interrupted
	}{
		{"fast VAD: the uh-huh is ignored, the speech interrupts", 100 * time.Millisecond, 500 * time.Millisecond, 1, 1},
		{"default VAD hangover: the uh-huh is still ignored", 200 * time.Millisecond, 500 * time.Millisecond, 1, 1},
		{"long VAD hangover: the uh-huh is still ignored", 800 * time.Millisecond, 500 * time.Millisecond, 1, 1},
		{"default VAD, min_interruption 0.7s", 200 * time.Millisecond, 700 * time.Millisecond, 1, 1},
		{"min_interruption 0.2s: the uh-huh interrupts", 200 * time.Millisecond, 200 * time.Millisecond, 0, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// hello ends ~2.9 s; its answer plays from ~3.7 s for 20 s.
			samples, truths := stream(t, 14*time.Second,
				placed{clip: "hello.wav", at: time.Second},
				placed{clip: "uhhuh.wav", at: 5 * time.Second},
				placed{clip: "hello.wav", at: 8 * time.Second})
			vcfg := vad.Defaults()
			vcfg.StopSecs = pipeline.Duration(tc.stopSecs)
			tcfg := turn.SilenceDefaults()
			tcfg.MinInterruption = pipeline.Duration(tc.minInterruption)
			p := &player{startAfter: ms(300), length: 20 * time.Second}
			s := runE2E(t, vcfg, turn.NewSilence(tcfg), p, samples, truths)

			if got := s.Counters()[turn.CounterBackchannelsIgnored]; got != tc.backchannels {
				t.Errorf("got %d backchannels ignored; want %d", got, tc.backchannels)
			}
			ints := p.of(pipeline.Interruption)
			if len(ints) != tc.wantInterruption {
				t.Fatalf("got %d interruptions %v; want %d", len(ints), ints, tc.wantInterruption)
			}
			// The real barge-in (the second hello) is always the last
			// interruption: once min_interruption of voiced frames since the
			// VAD's onset have arrived — after the onset plus the minimum,
			// within a frame, the uplink and a short unvoiced stop closure.
			starts := p.of(pipeline.SpeechStarted)
			if len(starts) == 0 {
				t.Fatal("no SpeechStarted reached the player")
			}
			onset := starts[len(starts)-1].f.At
			got, lo := ints[len(ints)-1].at, onset+tc.minInterruption
			if got < lo || got > lo+150*time.Millisecond {
				t.Errorf("got barge-in at %v; want within 150 ms after %v (VAD onset %v + min_interruption)", got, lo, onset)
			}
			if got, truth := onset, truths[2].truth.Start; abs(got-truth) > 60*time.Millisecond {
				t.Errorf("got VAD onset %v; want the true onset %v ± 60 ms", got, truth)
			}
		})
	}
}

func abs(d time.Duration) time.Duration { return max(d, -d) }
