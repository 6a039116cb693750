package stt_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
	"github.com/voicesim/voicesim/stages/stt"
)

// TestStreamingFinalTiming: the final is pushed at max(turn end, offset +
// uplink lag + final_delay); a turn ended mid-speech finalises now +
// final_delay.
func TestStreamingFinalTiming(t *testing.T) {
	cases := []struct {
		name     string
		delay    string
		lag      time.Duration
		offset   time.Duration // VAD offset; 0: still speaking at the turn end
		turnEnd  time.Duration
		want     time.Duration
		wantText string
	}{
		{"hidden inside endpointing", "350ms", 0, 1400 * ms, 1900 * ms, 1900 * ms, weather},
		{"slower than endpointing", "800ms", 0, 1400 * ms, 1900 * ms, 2200 * ms, weather},
		{"openai-like", "2s", 0, 1400 * ms, 1900 * ms, 3400 * ms, weather},
		{"uplink lag counts", "800ms", 30 * ms, 1400 * ms, 1900 * ms, 2230 * ms, weather},
		{"turn ends mid-speech", "300ms", 0, 0, 1000 * ms, 1300 * ms, "what is"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, build(t, "stt.streaming", "final_delay: "+tc.delay+"\n"))
			h.mic(tc.turnEnd, tc.lag, utt{200 * ms, 1400 * ms, weather})
			h.vad(200*ms, tc.offset, 100*ms, 200*ms)
			h.turnEnd(tc.turnEnd, 1)
			h.VC.RunUntil(10 * time.Second)
			finals := h.Of(pipeline.TranscriptFinal)
			if len(finals) != 1 {
				t.Fatalf("got %d finals; want 1", len(finals))
			}
			if got := finals[0]; got.At != tc.want || got.F.Response != 1 || got.F.Text != tc.wantText {
				t.Errorf("final r%d %q at %v; want r1 %q at %v", got.F.Response, got.F.Text, got.At, tc.wantText, tc.want)
			}
			if m, ok := h.S.Timeline().First(pipeline.MarkSTTFinal, 1); !ok || m.At != tc.want {
				t.Errorf("stt.final mark %+v (found %v); want at %v", m, ok, tc.want)
			}
		})
	}
}

// TestStreamingPartials: while the VAD hears speech, a partial is pushed
// every partial_interval when the user has said new words (2.5 words/s);
// the whole utterance once it has ended; nothing once the VAD stops.
func TestStreamingPartials(t *testing.T) {
	h := newHarness(t, build(t, "stt.streaming", "partial_interval: 200ms\n"))
	h.mic(3*time.Second, 0, utt{0, 2 * time.Second, "alpha bravo charlie delta echo"})
	h.vad(0, 2*time.Second, 100*ms, 200*ms)
	h.VC.Run()
	type partial struct {
		at   time.Duration
		text string
	}
	var got []partial
	for _, r := range h.Of(pipeline.TranscriptPartial) {
		got = append(got, partial{r.At, r.F.Text})
		if r.F.Response != 0 {
			t.Errorf("partial %v belongs to a response; partials are the user's", r.F)
		}
	}
	want := []partial{
		{500 * ms, "alpha"},
		{900 * ms, "alpha bravo"},
		{1300 * ms, "alpha bravo charlie"},
		{1700 * ms, "alpha bravo charlie delta"}, // "echo" is being said
		{2100 * ms, "alpha bravo charlie delta echo"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("partials\n got %v\nwant %v", got, want)
	}
	if n := h.S.Pending(); n != 0 {
		t.Errorf("%d events pending after speech stopped; the partial ticker should stop", n)
	}
}

// TestStreamingInterruptionCancelsFinal: nothing of an interrupted response
// is pushed after the interruption.
func TestStreamingInterruptionCancelsFinal(t *testing.T) {
	h := newHarness(t, build(t, "stt.streaming", "final_delay: 800ms\n"))
	h.mic(3*time.Second, 0, utt{200 * ms, 1400 * ms, weather})
	h.vad(200*ms, 1400*ms, 100*ms, 200*ms)
	h.turnEnd(1900*ms, 1) // final due at 2.2 s
	h.Send(2*time.Second, pipeline.Frame{Kind: pipeline.Interruption, Response: 1})
	h.VC.Run()
	for _, r := range h.Down {
		if r.F.Response == 1 && r.At >= 2*time.Second {
			t.Errorf("pushed %v of interrupted response 1 at %v", r.F, r.At)
		}
	}
	if n := len(h.Of(pipeline.TranscriptFinal)); n != 0 {
		t.Errorf("got %d finals; want none", n)
	}
}

// TestStreamingProfiles: each vendor profile's p99 is the published figure
// (pipecat stt_latency.py) and its median half of it (the assumption).
func TestStreamingProfiles(t *testing.T) {
	cases := []struct {
		profile string
		p99     time.Duration
	}{
		{"deepgram", 350 * ms},
		{"assemblyai", 420 * ms},
		{"openai", 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.profile, func(t *testing.T) {
			c := stt.DefaultStreaming()
			c.Profile = tc.profile
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			l := c.Resolved()
			r := rand.New(rand.NewPCG(7, 8))
			const n = 100000
			xs := make([]time.Duration, n)
			for i := range xs {
				xs[i] = l.Sample(r)
			}
			slices.Sort(xs)
			within := func(what string, got, want time.Duration, tol float64) {
				if d := float64(got - want); d > tol*float64(want) || -d > tol*float64(want) {
					t.Errorf("%s = %v; want %v ±%.0f%%", what, got, want, tol*100)
				}
			}
			within("p99", xs[n*99/100], tc.p99, 0.03)
			within("p50", xs[n/2], tc.p99/2, 0.02)
		})
	}
}

// TestConfigErrors: invalid configs fail Prepare with the stage, field and
// value named.
func TestConfigErrors(t *testing.T) {
	cases := []struct {
		stage, src string
		want       []string
	}{
		{"stt.whisper", "rtf: -0.1\n", []string{"stt.whisper", "field rtf", `"-0.1"`, "≥ 0"}},
		{"stt.whisper", "profile: azure\n", []string{"stt.whisper", "field profile", `"azure"`, "openai-api, local-gpu"}},
		{"stt.whisper", "overhead: -1s\n", []string{"field overhead", `"-1s"`}},
		{"stt.whisper", "words_per_second: 0\n", []string{"field words_per_second", `"0"`}},
		{"stt.whisper", "overhed: 1s\n", []string{"field overhed", "unknown field", "overhead"}},
		{"stt.streaming", "profile: whisperx\n", []string{"stt.streaming", "field profile", `"whisperx"`, "deepgram, assemblyai, openai"}},
		{"stt.streaming", "partial_interval: 0s\n", []string{"stt.streaming", "field partial_interval", `"0s"`}},
		{"stt.streaming", "final_delay: {p50: 300ms, p95: 100ms}\n", []string{"field final_delay.p95", `"100ms"`}},
	}
	r := pipeline.NewRegistry()
	stt.Register(r)
	for _, tc := range cases {
		t.Run(tc.stage+" "+strings.TrimSpace(tc.src), func(t *testing.T) {
			_, err := r.Prepare(tc.stage, pipetest.YAML(t, tc.src))
			if err == nil {
				t.Fatal("got nil error; want one")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestConfigOverridesProfile: explicit fields win over the profile, in any
// layer order.
func TestConfigOverridesProfile(t *testing.T) {
	r := pipeline.NewRegistry()
	stt.Register(r)
	p, err := r.Prepare("stt.whisper", pipetest.YAML(t, "rtf: 0.2\n"), pipetest.YAML(t, "profile: local-gpu\n"))
	if err != nil {
		t.Fatal(err)
	}
	overhead, rtf := p.Config.(*stt.WhisperConfig).Resolved()
	if rtf != 0.2 || overhead.String() != "{p50: 150ms, p95: 250ms}" {
		t.Errorf("resolved overhead %v, rtf %v; want local-gpu's overhead and the explicit rtf 0.2", overhead, rtf)
	}
	p, err = r.Prepare("stt.streaming", pipetest.YAML(t, "profile: openai\nfinal_delay: 500ms\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Config.(*stt.StreamingConfig).Resolved().String(); got != "500ms" {
		t.Errorf("final_delay = %s; want the explicit 500ms", got)
	}
}
