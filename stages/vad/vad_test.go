package vad_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"github.com/voicesim/voicesim/stages/vad"
	"go.yaml.in/yaml/v3"
)

const testdata = "../../pipeline/audio/testdata"

// uplink is the network delay between capture and the VAD in these tests:
// detection times must include it, estimates must not.
const uplink = 37 * time.Millisecond

// clipOffset places a clip in the stream off the 10 ms sub-frame grid
// (1 s + 131 samples), so an estimate cannot be right by construction.
var clipOffset = time.Second + audio.SamplesToDuration(131, audio.SampleRate)

type event struct {
	kind     pipeline.Kind
	at       time.Duration // the frame's At: the estimate
	arrived  time.Duration // session time it reached the sink
	response pipeline.ResponseID
}

type result struct {
	events  []event
	audio   []pipeline.Frame
	session *pipeline.Session
}

// run feeds stream through vad.energy in a session, 20 ms frames, each
// delivered uplink after its last sample was captured, and records what
// comes out downstream.
func run(t testing.TB, cfg *vad.Config, stream []int16) result {
	t.Helper()
	var res result
	var s *pipeline.Session
	sink := pipeline.StageFunc(func(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
		switch f.Kind {
		case pipeline.UserAudio:
			res.audio = append(res.audio, f)
		case pipeline.SpeechStarted, pipeline.SpeechStopped:
			res.events = append(res.events, event{f.Kind, f.At, ctx.Now(), f.Response})
		}
	})
	s = pipeline.NewSession(pipeline.Options{},
		pipeline.Named{Name: "vad.energy", Stage: vad.New(cfg)},
		pipeline.Named{Name: "sink", Stage: sink})
	s.Start()
	feed := func(f pipeline.Frame) { s.Input(f) }
	for i, seq := 0, uint64(0); i < len(stream); i, seq = i+pipeline.FrameSamples, seq+1 {
		j := min(i+pipeline.FrameSamples, len(stream))
		at := audio.SamplesToDuration(i, audio.SampleRate)
		f := pipeline.Frame{Kind: pipeline.UserAudio, Seq: seq, At: at, Audio: stream[i:j:j]}
		s.AfterFrame(at+pipeline.FrameDuration+uplink, f, feed)
	}
	s.Clock().(*pipeline.VirtualClock).Run()
	res.session = s
	return res
}

func load(t testing.TB, name string) audio.Clip {
	t.Helper()
	var c audio.Clip
	var err error
	if filepath.Ext(name) == ".mp3" {
		c, err = audio.DecodeMP3File(filepath.Join(testdata, name))
	} else {
		c, err = audio.DecodeWAVFile(filepath.Join(testdata, name))
	}
	if err != nil {
		t.Fatal(err)
	}
	return audio.ToMono24k(c)
}

// place returns total of silence with clip's samples at clipOffset.
func place(clip []int16, total time.Duration) []int16 {
	out := make([]int16, audio.DurationToSamples(total, audio.SampleRate))
	copy(out[audio.DurationToSamples(clipOffset, audio.SampleRate):], clip)
	return out
}

func noise(t testing.TB, kind string, dur time.Duration, dbfs float64, seed uint64) []int16 {
	t.Helper()
	n, err := audio.Noise(kind, dur, dbfs, rand.New(rand.NewPCG(seed, 0x5eed)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func abs(d time.Duration) time.Duration { return max(d, -d) }

// TestSpeechOnsetOffset: on real speech the VAD reports one segment whose
// estimated onset and offset are within 60 ms of the truth, in the capture
// timeline, and the uh-huh backchannel is speech too (the turn stage, not
// the VAD, decides it does not take the turn).
func TestSpeechOnsetOffset(t *testing.T) {
	const tolerance = 60 * time.Millisecond
	hello := load(t, "hello.wav")
	// Truth from the clip's known padding (testdata/gen.sh).
	helloTruth := audio.Span{Start: 500 * time.Millisecond, End: hello.Duration() - 700*time.Millisecond}
	uhhuh := load(t, "uhhuh.wav")
	uhTruth := audio.Span{Start: 300 * time.Millisecond, End: uhhuh.Duration() - 300*time.Millisecond}
	helloMP3 := load(t, "hello.mp3")

	total := clipOffset + hello.Duration() + 2*time.Second
	cleanHello := place(hello.Samples, total)
	cases := []struct {
		name   string
		stream []int16
		truth  audio.Span
	}{
		{"hello clean", cleanHello, helloTruth},
		{"hello mp3", place(helloMP3.Samples, total), helloTruth},
		{"uh-huh", place(uhhuh.Samples, clipOffset+uhhuh.Duration()+time.Second), uhTruth},
		{"hello + pink 20 dB SNR", audio.MixSNR(cleanHello, noise(t, audio.NoisePink, total, -30, 1), 20), helloTruth},
		{"hello + pink 20 dB SNR seed 2", audio.MixSNR(cleanHello, noise(t, audio.NoisePink, total, -30, 2), 20), helloTruth},
		{"hello + white 20 dB SNR", audio.MixSNR(cleanHello, noise(t, audio.NoiseWhite, total, -30, 3), 20), helloTruth},
		{"hello + brown 20 dB SNR", audio.MixSNR(cleanHello, noise(t, audio.NoiseBrown, total, -30, 4), 20), helloTruth},
		{"hello at -45 dBFS", scaled(cleanHello, -45), helloTruth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, vad.Defaults(), tc.stream)
			if len(res.events) != 2 || res.events[0].kind != pipeline.SpeechStarted || res.events[1].kind != pipeline.SpeechStopped {
				t.Fatalf("got events %+v; want one SpeechStarted then one SpeechStopped", res.events)
			}
			on, off := res.events[0].at, res.events[1].at
			wantOn, wantOff := clipOffset+tc.truth.Start, clipOffset+tc.truth.End
			if abs(on-wantOn) > tolerance {
				t.Errorf("got onset %v; want %v ± %v", on, wantOn, tolerance)
			}
			if abs(off-wantOff) > tolerance {
				t.Errorf("got offset %v; want %v ± %v", off, wantOff, tolerance)
			}
			// Detection is causal: it happens after the estimate, once
			// start_secs of speech (or stop_secs of silence) has been
			// captured and carried over the uplink.
			if got, want := res.events[0].arrived, on+vad.DefaultStartSecs+uplink; got < want {
				t.Errorf("got SpeechStarted detected at %v; want ≥ %v (onset + start_secs + uplink)", got, want)
			}
			if got, want := res.events[1].arrived, off+vad.DefaultStopSecs+uplink; got < want {
				t.Errorf("got SpeechStopped detected at %v; want ≥ %v (offset + stop_secs + uplink)", got, want)
			}
		})
	}
}

// scaled returns s with its active speech level set to dbfs.
func scaled(s []int16, dbfs float64) []int16 {
	out := append([]int16(nil), s...)
	audio.ScaleToDBFS(out, dbfs+audio.DBFS(out)-audio.ActiveLevelDBFS(out))
	return out
}

// TestNoSpeechInNoise: silence and steady noise, at levels from barely
// audible to a realistic room, never start speech over 10 s.
func TestNoSpeechInNoise(t *testing.T) {
	const dur = 10 * time.Second
	cases := []struct {
		kind string
		dbfs float64
	}{
		{audio.NoiseWhite, -50}, {audio.NoisePink, -50},
		{audio.NoiseWhite, -35}, {audio.NoisePink, -35}, {audio.NoiseBrown, -35},
		{audio.NoisePink, -25},
	}
	t.Run("digital silence", func(t *testing.T) {
		res := run(t, vad.Defaults(), make([]int16, audio.DurationToSamples(dur, audio.SampleRate)))
		if len(res.events) != 0 {
			t.Errorf("got events %+v; want none", res.events)
		}
	})
	for _, tc := range cases {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/%gdBFS/seed%d", tc.kind, tc.dbfs, seed), func(t *testing.T) {
				res := run(t, vad.Defaults(), noise(t, tc.kind, dur, tc.dbfs, seed))
				if len(res.events) != 0 {
					t.Errorf("got events %+v; want none", res.events)
				}
			})
		}
	}
}

// TestMarksAndForwarding: every audio frame goes on unchanged; the marks are
// stamped at detection time with the estimate as Value; events belong to no
// response.
func TestMarksAndForwarding(t *testing.T) {
	hello := load(t, "hello.wav")
	stream := place(hello.Samples, clipOffset+hello.Duration()+time.Second)
	res := run(t, vad.Defaults(), stream)
	if got, want := len(res.audio), audio.Frames(len(stream)); got != want {
		t.Fatalf("got %d audio frames downstream; want %d", got, want)
	}
	for i, f := range res.audio {
		if f.Seq != uint64(i) || &f.Audio[0] != &stream[i*pipeline.FrameSamples] {
			t.Fatalf("frame %d: got seq %d, samples at %p; want seq %d, the input's samples at %p",
				i, f.Seq, &f.Audio[0], i, &stream[i*pipeline.FrameSamples])
		}
	}
	tl := res.session.Timeline()
	for i, name := range []string{pipeline.MarkVADSpeechStart, pipeline.MarkVADSpeechStop} {
		m, ok := tl.First(name, 0)
		if !ok {
			t.Fatalf("no %s mark", name)
		}
		ev := res.events[i]
		if m.At != ev.arrived {
			t.Errorf("%s: got mark at %v; want detection time %v", name, m.At, ev.arrived)
		}
		if want := ev.at.Seconds(); m.Value != want {
			t.Errorf("%s: got Value %v; want the estimate %v s", name, m.Value, want)
		}
		if ev.response != 0 {
			t.Errorf("%v: got response %d; want 0", ev.kind, ev.response)
		}
	}
	if got := res.session.Counters()[vad.CounterSpeechStarts]; got != 1 {
		t.Errorf("got %s = %d; want 1", vad.CounterSpeechStarts, got)
	}
}

// TestForwardsOtherFrames: frames the VAD does not analyse pass through in
// their own direction.
func TestForwardsOtherFrames(t *testing.T) {
	var down, up []pipeline.Kind
	s := pipeline.NewSession(pipeline.Options{Output: func(f pipeline.Frame, dir pipeline.Direction) {
		if dir == pipeline.Upstream {
			up = append(up, f.Kind)
		} else {
			down = append(down, f.Kind)
		}
	}}, pipeline.Named{Name: "vad.energy", Stage: vad.New(vad.Defaults())})
	s.Start()
	s.Input(pipeline.Frame{Kind: pipeline.TranscriptPartial, Text: "hi"})
	s.InputUp(pipeline.Frame{Kind: pipeline.PlaybackStarted, Response: 1})
	s.InputUp(pipeline.Frame{Kind: pipeline.UserAudio, Audio: make([]int16, 480)})
	if len(down) != 1 || down[0] != pipeline.TranscriptPartial {
		t.Errorf("got downstream %v; want [transcript_partial]", down)
	}
	if len(up) != 2 || up[0] != pipeline.PlaybackStarted || up[1] != pipeline.UserAudio {
		t.Errorf("got upstream %v; want [playback_started user_audio]", up)
	}
}

func TestInvalidConfig(t *testing.T) {
	cases := []struct {
		yaml, field, value string
	}{
		{"threshold: 0", "threshold", "0"},
		{"threshold: 1", "threshold", "1"},
		{"threshold: 1.5", "threshold", "1.5"},
		{"threshold: -0.2", "threshold", "-0.2"},
		{"start_secs: -10ms", "start_secs", "-10ms"},
		{"stop_secs: -1s", "stop_secs", "-1s"},
		{"prefix_padding: -300ms", "prefix_padding", "-300ms"},
		{"prefix_padding: 6s", "prefix_padding", "6s"},
		{"min_volume_dbfs: 3", "min_volume_dbfs", "3"},
		{"min_volume_dbfs: -150", "min_volume_dbfs", "-150"},
	}
	r := pipeline.NewRegistry()
	vad.Register(r)
	for _, tc := range cases {
		t.Run(tc.yaml, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &n); err != nil {
				t.Fatal(err)
			}
			_, err := r.Prepare("vad.energy", &n)
			var fe *pipeline.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got error %v; want a *pipeline.FieldError", err)
			}
			if fe.Field != tc.field || fe.Value != tc.value || fe.Stage != "vad.energy" {
				t.Errorf("got stage %q field %q value %q; want vad.energy, %q, %q (%v)", fe.Stage, fe.Field, fe.Value, tc.field, tc.value, err)
			}
		})
	}
	if _, err := r.Prepare("vad.energy"); err != nil {
		t.Errorf("defaults: got %v; want valid", err)
	}
}

// TestSteadyStateAllocs: analysing a frame allocates nothing.
func TestSteadyStateAllocs(t *testing.T) {
	s := pipeline.NewSession(pipeline.Options{}, pipeline.Named{Name: "vad.energy", Stage: vad.New(vad.Defaults())})
	s.Start()
	n := noise(t, audio.NoisePink, 2*time.Second, -35, 9)
	i := 0
	f := pipeline.Frame{Kind: pipeline.UserAudio}
	next := func() {
		f.Audio = n[i : i+pipeline.FrameSamples]
		f.At += pipeline.FrameDuration
		i = (i + pipeline.FrameSamples) % (len(n) - pipeline.FrameSamples)
		s.Input(f)
	}
	for range 50 {
		next() // warm up the session's queues
	}
	if got := testing.AllocsPerRun(200, next); got != 0 {
		t.Errorf("got %v allocations per frame; want 0", got)
	}
}

// TestConfigShapesSegments: the timing parameters do what they say.
func TestConfigShapesSegments(t *testing.T) {
	hello := load(t, "hello.wav")
	uhhuh := load(t, "uhhuh.wav")
	helloStream := place(hello.Samples, clipOffset+hello.Duration()+time.Second)
	uhStream := place(uhhuh.Samples, clipOffset+uhhuh.Duration()+time.Second)
	cases := []struct {
		name           string
		mod            func(*vad.Config)
		stream         []int16
		minSeg, maxSeg int
	}{
		{"defaults find one segment in hello", func(*vad.Config) {}, helloStream, 1, 1},
		// hello has digital-silence gaps of 20-40 ms between words: with no
		// hangover each one ends the speech (and resets a start not yet
		// confirmed).
		{"stop_secs 0 splits hello at its word gaps", func(c *vad.Config) { c.StopSecs = 0 }, helloStream, 2, 10},
		// uh-huh holds ~320 ms of speech: less than start_secs 400 ms.
		{"start_secs 400ms ignores the uh-huh", func(c *vad.Config) { c.StartSecs = pipeline.Duration(400 * time.Millisecond) }, uhStream, 0, 0},
		{"start_secs 0 keeps the uh-huh", func(c *vad.Config) { c.StartSecs = 0 }, uhStream, 1, 1},
		// Speech at -45 dBFS peaks around -35 dBFS: all of it is below a
		// -30 dBFS absolute floor.
		{"min_volume_dbfs above quiet speech", func(c *vad.Config) { c.MinVolumeDBFS = -30 }, scaled(helloStream, -45), 0, 0},
		{"min_volume_dbfs below quiet speech", func(c *vad.Config) { c.MinVolumeDBFS = -60 }, scaled(helloStream, -45), 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := vad.Defaults()
			tc.mod(cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			res := run(t, cfg, tc.stream)
			starts, stops := 0, 0
			for i, e := range res.events {
				// Events alternate, starting with SpeechStarted.
				if want := []pipeline.Kind{pipeline.SpeechStarted, pipeline.SpeechStopped}[i%2]; e.kind != want {
					t.Fatalf("event %d: got %v; want %v (%+v)", i, e.kind, want, res.events)
				}
				if e.kind == pipeline.SpeechStarted {
					starts++
				} else {
					stops++
				}
			}
			if starts != stops || starts < tc.minSeg || starts > tc.maxSeg {
				t.Errorf("got %d starts, %d stops; want an equal number in [%d, %d] (%+v)", starts, stops, tc.minSeg, tc.maxSeg, res.events)
			}
		})
	}
}
