package native

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// questions are lines without internal punctuation, so each is one
// stretch of speech.
func questions() []string {
	return []string{
		"What's the weather like in Paris tomorrow",
		"Book me a table for two at eight tonight",
		"How long does it take to drive to the coast",
		"Can you remind me to call my sister",
		"Play something relaxing please",
	}
}

// realtimeRig is a native.realtime session: mic → uplink → server VAD
// stand-in (500 ms silence) → native.realtime → client player.
type realtimeRig struct {
	s      *pipeline.Session
	rec    *recorder
	mic    *mic
	player *player
	up     []pipeline.Frame // frames that left the chain upstream
}

func newRealtimeRig(t testing.TB, cfg *RealtimeConfig, seed uint64, length time.Duration, utts ...utterance) *realtimeRig {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rig := &realtimeRig{rec: &recorder{stage: RealtimeName}, player: &player{}}
	rig.s = pipeline.NewSession(pipeline.Options{
		Seed:    seed,
		Observe: rig.rec.observe,
		Output: func(f pipeline.Frame, dir pipeline.Direction) {
			if dir == pipeline.Upstream {
				rig.up = append(rig.up, f)
			}
		},
	},
		pipeline.Named{Name: "uplink", Stage: &wire{delay: 30 * time.Millisecond}},
		pipeline.Named{Name: "turn", Stage: &silenceTurn{silence: 500 * time.Millisecond}},
		pipeline.Named{Name: RealtimeName, Stage: NewRealtime(cfg)},
		pipeline.Named{Name: "player", Stage: rig.player},
	)
	rig.rec.s = rig.s
	rig.s.Start()
	rig.mic = newMic(t, rig.s, length, utts...)
	return rig
}

func TestRealtimeCalibration(t *testing.T) {
	u := newUser(t)
	const runs = 200
	var sum, lo time.Duration
	lo = time.Hour
	for seed := range uint64(runs) {
		rng := rand.New(rand.NewPCG(seed, 1))
		qs := questions()
		q := qs[rng.IntN(len(qs))]
		rig := newRealtimeRig(t, RealtimeDefaults(), seed, 4*time.Second,
			utterance{at: 300*time.Millisecond + time.Duration(rng.IntN(80))*time.Millisecond, clip: u.say(q), text: q})
		runVirtual(rig.s)
		turns := rig.s.Timeline().Turns()
		if len(turns) != 1 || !turns[0].Answered {
			t.Fatalf("seed %d: turns %+v; want one answered turn", seed, turns)
		}
		got, ok := turns[0].Values[pipeline.MetricNativeTTFA]
		if !ok {
			t.Fatalf("seed %d: no native_ttfa in %v", seed, turns[0].Values)
		}
		sum += got
		lo = min(lo, got)
	}
	mean := sum / runs
	t.Logf("native_ttfa over %d runs: mean %v, min %v", runs, mean, lo)
	if want := 320 * time.Millisecond; !within(mean, want, 0.15) {
		t.Errorf("mean native_ttfa = %v; want %v ±15%% (GPT-4o: 320 ms average)", mean, want)
	}
	if want := 232 * time.Millisecond; !within(lo, want, 0.15) {
		t.Errorf("min native_ttfa = %v; want %v ±15%% (GPT-4o: as little as 232 ms)", lo, want)
	}
}

func within(got, want time.Duration, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)
}

func constRealtime() *RealtimeConfig {
	cfg := RealtimeDefaults()
	cfg.TTFA = pipeline.Const(250 * time.Millisecond)
	cfg.DecoderDelay = pipeline.Const(30 * time.Millisecond)
	cfg.EncoderDelay = pipeline.Const(20 * time.Millisecond)
	cfg.Answers = []string{"Tomorrow will be sunny with a light breeze and a high of eighteen degrees."}
	return cfg
}

// TestRealtimeConstantTurn checks one turn with constant latencies to the
// nanosecond, and that the answer is the synthesised audio, whole.
func TestRealtimeConstantTurn(t *testing.T) {
	u := newUser(t)
	cfg := constRealtime()
	q := questions()[0]
	rig := newRealtimeRig(t, cfg, 1, 4*time.Second, utterance{at: 400 * time.Millisecond, clip: u.say(q), text: q})
	runVirtual(rig.s)
	tl := rig.s.Timeline()

	turnEnd := firstMark(t, tl, pipeline.MarkTurnEnd, 1)
	first := firstMark(t, tl, pipeline.MarkNativeFirstAudio, 1)
	if got, want := first-turnEnd, 280*time.Millisecond; got != want {
		t.Errorf("first audio − turn end = %v; want %v (ttfa 250 ms + decoder 30 ms)", got, want)
	}

	want := padToFrames(NewRealtime(cfg).(*Realtime).voice.synth.Speak(cfg.Answers[0]).Samples)
	frames := rig.rec.audioOf(1)
	if got, wantN := len(frames), len(want)/pipeline.FrameSamples; got != wantN {
		t.Fatalf("got %d audio frames; want %d", got, wantN)
	}
	var pcm []int16
	for k, e := range frames {
		if e.f.Seq != uint64(k) {
			t.Errorf("frame %d has Seq %d; want %d", k, e.f.Seq, k)
		}
		if last := e.f.Flags&pipeline.FlagLast != 0; last != (k == len(frames)-1) {
			t.Errorf("frame %d FlagLast = %v; want %v", k, last, k == len(frames)-1)
		}
		if len(e.f.Audio) != pipeline.FrameSamples {
			t.Errorf("frame %d has %d samples; want %d", k, len(e.f.Audio), pipeline.FrameSamples)
		}
		pcm = append(pcm, e.f.Audio...)
	}
	if frames[0].at != first {
		t.Errorf("first frame pushed at %v; native.first_audio at %v", frames[0].at, first)
	}
	if !slices.Equal(pcm, want) {
		t.Error("the answer's audio is not the synthesised answer")
	}

	var text strings.Builder
	var done bool
	for _, e := range rig.rec.out {
		switch e.f.Kind {
		case pipeline.AssistantText:
			text.WriteString(e.f.Text)
		case pipeline.ResponseDone:
			done = e.at == frames[len(frames)-1].at
		case pipeline.UserAudio:
			t.Fatalf("native.realtime forwarded user audio: %v", e.f)
		}
	}
	if got := text.String(); got != cfg.Answers[0] {
		t.Errorf("streamed transcript %q; want %q", got, cfg.Answers[0])
	}
	if m, _ := tl.First(pipeline.MarkResponseText, 1); m.Text != cfg.Answers[0] {
		t.Errorf("response.text = %q; want %q", m.Text, cfg.Answers[0])
	}
	if !done {
		t.Error("no ResponseDone with the last frame")
	}

	c := rig.s.Counters()
	// No VAD upstream: the whole 4 s of streamed audio is input, 1 token
	// per 100 ms. Output: 1 token per 50 ms of the answer's frames.
	if got, want := c[CountAudioTokensIn], int64(40); got != want {
		t.Errorf("%s = %d; want %d", CountAudioTokensIn, got, want)
	}
	if got, want := c[CountAudioTokensOut], int64(math.Ceil(float64(len(frames))*20/50)); got != want {
		t.Errorf("%s = %d; want %d", CountAudioTokensOut, got, want)
	}
	if got := c[CountUnderruns]; got != 0 {
		t.Errorf("%s = %d; want 0", CountUnderruns, got)
	}
}

// TestRealtimeWaitsForEncoder: the answer cannot start before the encoder
// has processed the user's last audio.
func TestRealtimeWaitsForEncoder(t *testing.T) {
	u := newUser(t)
	cfg := constRealtime()
	cfg.EncoderDelay = pipeline.Const(2 * time.Second) // far behind the 500 ms silence
	q := questions()[1]
	clip := u.say(q)
	// The tape ends with the speech, so the last frame the encoder gets
	// holds the speech end.
	length := 200*time.Millisecond + time.Duration(len(clip))*time.Second/pipeline.SampleRate
	rig := newRealtimeRig(t, cfg, 1, length, utterance{at: 200 * time.Millisecond, clip: clip, text: q})
	runVirtual(rig.s)
	tl := rig.s.Timeline()
	lastIn := firstMark(t, tl, pipeline.MarkServerSpeechEnd, 0)
	if got, want := firstMark(t, tl, pipeline.MarkNativeFirstAudio, 1), lastIn+2*time.Second+280*time.Millisecond; got != want {
		t.Errorf("first audio at %v; want %v (encoder done + ttfa + decoder)", got, want)
	}
}

func TestRealtimeUnderruns(t *testing.T) {
	u := newUser(t)
	q := questions()[2]
	for _, tc := range []struct {
		name string
		tps  float64
	}{
		{"slower than real time", 10},
		{"six times real time", 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := constRealtime()
			cfg.TokensPerSecond = tc.tps
			rig := newRealtimeRig(t, cfg, 1, 12*time.Second, utterance{at: 300 * time.Millisecond, clip: u.say(q), text: q})
			runVirtual(rig.s)
			frames := rig.rec.audioOf(1)
			n := len(frames)
			tokens := int64(math.Ceil(float64(n) * 0.4)) // 20 ms frames, 50 ms tokens
			lastLate := frames[n-1].at - frames[0].at - time.Duration(n-1)*pipeline.FrameDuration
			underruns := rig.s.Counters()[CountUnderruns]
			if tc.tps*0.05 >= 1 {
				if underruns != 0 || lastLate > 0 {
					t.Errorf("underruns = %d, last frame %v behind real time; want 0 and none", underruns, lastLate)
				}
				return
			}
			// Each token's audio arrives after the previous token's has
			// played out: every token but the first opens a gap.
			if want := tokens - 1; underruns != want {
				t.Errorf("underruns = %d; want %d (one per late token)", underruns, want)
			}
			// The last token comes (tokens−1)/tps after the first.
			wantSpan := time.Duration(float64(tokens-1) / tc.tps * float64(time.Second))
			if got := frames[n-1].at - frames[0].at; got != wantSpan {
				t.Errorf("last frame %v after the first; want %v", got, wantSpan)
			}
			if lastLate <= 0 {
				t.Errorf("last frame %v behind the real-time schedule; want late", lastLate)
			}
		})
	}
}

// expectHeard is an independent statement of the truncation rule: the
// words whose last character lies within the played fraction of the text.
func expectHeard(text string, fraction float64) string {
	limit := int(fraction * float64(len(text)))
	var heard []string
	pos := 0
	for _, w := range strings.Fields(text) {
		pos = strings.Index(text[pos:], w) + pos + len(w)
		if pos > limit {
			break
		}
		heard = append(heard, w)
	}
	return strings.Join(heard, " ")
}

func TestRealtimeTruncation(t *testing.T) {
	u := newUser(t)
	cfg := constRealtime()
	text := cfg.Answers[0]
	q := questions()[3]
	for _, tc := range []struct {
		name   string
		played float64 // ms, as PlaybackStopped.Value
		cut    bool
	}{
		{"cut at 1234 ms", 1234, true},
		{"cut before any audio", 0, true},
		{"fractional ms rounds", 1500.4, true},
		{"played in full", 1e6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig := newRealtimeRig(t, cfg, 1, 6*time.Second, utterance{at: 300 * time.Millisecond, clip: u.say(q), text: q})
			vc := rig.s.Clock().(*pipeline.VirtualClock)
			vc.RunUntil(firstMark(t, rig.s.Timeline(), pipeline.MarkUserSpeechEnd, 0) + 3*time.Second) // generated by now
			rig.s.InputUp(pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: 1, Value: tc.played})
			runVirtual(rig.s)
			tl := rig.s.Timeline()
			end, okEnd := tl.First(MarkAudioEndMs, 1)
			heard, okHeard := tl.First(pipeline.MarkHeard, 1)
			if okEnd != tc.cut || !okHeard {
				t.Fatalf("audio_end_ms mark %v, heard mark %v; want %v, true", okEnd, okHeard, tc.cut)
			}
			total := float64(len(rig.rec.audioOf(1)) * 20)
			endMs := min(math.Round(tc.played), total)
			want := expectHeard(text, endMs/total)
			if len(rig.up) != 1 || rig.up[0].Kind != pipeline.PlaybackStopped || rig.up[0].Value != tc.played || rig.up[0].Text != want {
				t.Errorf("upstream output %v; want the PlaybackStopped forwarded with the words heard %q", rig.up, want)
			}
			if tc.cut && end.Value != endMs {
				t.Errorf("audio_end_ms = %v; want %v", end.Value, endMs)
			}
			if heard.Text != want {
				t.Errorf("heard %q; want %q", heard.Text, want)
			}
			if !strings.HasPrefix(text, heard.Text) {
				t.Errorf("heard %q is not a prefix of %q", heard.Text, text)
			}
			if got, want := heard.Value, float64(len(want))/float64(len(text)); got != want {
				t.Errorf("heard fraction = %v; want %v", got, want)
			}
		})
	}
}

// TestRealtimeInterruption: a barge-in during generation stops the answer
// at once; the client's report of what it played truncates it.
func TestRealtimeInterruption(t *testing.T) {
	u := newUser(t)
	cfg := constRealtime()
	cfg.TokensPerSecond = 25 // just above real time: generation lasts seconds
	cfg.Answers = []string{strings.Repeat("This answer goes on for quite a while so there is time to cut it off. ", 4)}
	q, b := questions()[0], "Stop"
	rig := newRealtimeRig(t, cfg, 3, 10*time.Second,
		utterance{at: 300 * time.Millisecond, clip: u.say(q), text: q},
		utterance{at: 4 * time.Second, clip: u.say(b), text: b, bargeIn: true})
	runVirtual(rig.s)
	tl := rig.s.Timeline()
	cut := firstMark(t, tl, pipeline.MarkInterrupted, 1)
	frames := rig.rec.audioOf(1)
	if len(frames) == 0 || frames[len(frames)-1].f.Flags&pipeline.FlagLast != 0 {
		t.Fatalf("%d frames, last %v; want the answer cut before its end", len(frames), frames)
	}
	for _, e := range rig.rec.out {
		if e.f.Response == 1 && e.at > cut {
			t.Errorf("native.realtime pushed %v at %v, after the interruption at %v", e.f, e.at, cut)
		}
	}
	end, ok := tl.First(MarkAudioEndMs, 1)
	if !ok {
		t.Fatal("no audio_end_ms mark after the cut")
	}
	if played := rig.player.stopped[1]; end.Value != math.Round(played) || played <= 0 || played >= float64(len(frames)*20) {
		t.Errorf("audio_end_ms = %v, client played %v ms; want equal and within the %d ms streamed", end.Value, played, len(frames)*20)
	}
	heard, _ := tl.First(pipeline.MarkHeard, 1)
	if heard.Text == "" || heard.Text == cfg.Answers[0] || !strings.HasPrefix(cfg.Answers[0], heard.Text) {
		t.Errorf("heard %q; want a proper prefix of the answer", heard.Text)
	}
}
