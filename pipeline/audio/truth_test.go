package audio

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// burst describes a 440 Hz tone burst with 5 ms linear fades, placed at
// sample-exact times that are deliberately not on millisecond boundaries.
type burst struct {
	start, end time.Duration
	dbfs       float64 // peak level
}

// burstClip renders bursts into a clip of length total at rate.
func burstClip(total time.Duration, rate int, bursts ...burst) Clip {
	c := Clip{Samples: make([]int16, DurationToSamples(total, rate)), Rate: rate}
	fade := float64(rate) * 0.005
	for _, b := range bursts {
		s, e := DurationToSamples(b.start, rate), DurationToSamples(b.end, rate)
		amp := DBToAmplitude(b.dbfs) * 32767
		for i := s; i < e; i++ {
			g := math.Min(math.Min(float64(i-s+1)/fade, float64(e-i)/fade), 1)
			c.Samples[i] = toInt16(amp * g * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		}
	}
	return c
}

func ms(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }

func TestSpeechSpans(t *testing.T) {
	tests := []struct {
		name   string
		clip   Clip
		opts   TruthOptions
		want   []Span
		within time.Duration
	}{
		{"one burst, edges off the ms grid",
			burstClip(time.Second, SampleRate, burst{ms(123.4), ms(523.7), -10}), TruthOptions{},
			[]Span{{ms(123.4), ms(523.7)}}, time.Millisecond},
		{"gap below MinGap merges",
			burstClip(time.Second, SampleRate, burst{ms(100.2), ms(300.5), -10}, burst{ms(450.3), ms(700.8), -14}), TruthOptions{},
			[]Span{{ms(100.2), ms(700.8)}}, time.Millisecond},
		{"gap above MinGap splits",
			burstClip(time.Second, SampleRate, burst{ms(100.2), ms(300.5), -10}, burst{ms(450.3), ms(700.8), -14}), TruthOptions{MinGap: 100 * time.Millisecond},
			[]Span{{ms(100.2), ms(300.5)}, {ms(450.3), ms(700.8)}}, time.Millisecond},
		{"blips dropped, 40 ms kept",
			burstClip(1500*time.Millisecond, SampleRate, burst{ms(100), ms(110), -10}, burst{ms(400), ms(425), -10}, burst{ms(800), ms(840), -10}), TruthOptions{},
			[]Span{{ms(800), ms(840)}}, time.Millisecond},
		{"soft burst 30 dB down still speech",
			burstClip(time.Second, SampleRate, burst{ms(100), ms(300), -5}, burst{ms(600.6), ms(800), -33}), TruthOptions{},
			[]Span{{ms(100), ms(300)}, {ms(600.6), ms(800)}}, time.Millisecond},
		{"burst 40 dB down is not",
			burstClip(time.Second, SampleRate, burst{ms(100), ms(300), -5}, burst{ms(600), ms(800), -45}), TruthOptions{},
			[]Span{{ms(100), ms(300)}}, time.Millisecond},
		{"too quiet overall",
			burstClip(time.Second, SampleRate, burst{ms(100), ms(300), -55}), TruthOptions{}, nil, 0},
		{"lower floor admits it",
			burstClip(time.Second, SampleRate, burst{ms(100), ms(300), -55}), TruthOptions{FloorDBFS: -70},
			[]Span{{ms(100), ms(300)}}, time.Millisecond},
		{"16 kHz clip",
			burstClip(time.Second, 16000, burst{ms(250.5), ms(600.3), -10}), TruthOptions{},
			[]Span{{ms(250.5), ms(600.3)}}, time.Millisecond},
		{"22.05 kHz clip (fractional samples per ms)",
			burstClip(time.Second, 22050, burst{ms(250.5), ms(600.3), -10}), TruthOptions{},
			[]Span{{ms(250.5), ms(600.3)}}, time.Millisecond},
		{"burst to the very end",
			burstClip(500*time.Millisecond, SampleRate, burst{ms(300), ms(500), -10}), TruthOptions{},
			[]Span{{ms(300), ms(500)}}, time.Millisecond},
		{"silence", Clip{Samples: make([]int16, 24000), Rate: SampleRate}, TruthOptions{}, nil, 0},
		{"empty", Clip{Rate: SampleRate}, TruthOptions{}, nil, 0},
		{"no rate", Clip{Samples: []int16{1, 2, 3}}, TruthOptions{}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SpeechSpans(tt.clip, tt.opts)
			if !spansMatch(got, tt.want, tt.within) {
				t.Errorf("got %v; want %v ±%v", got, tt.want, tt.within)
			}
		})
	}
}

func spansMatch(got, want []Span, within time.Duration) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if (got[i].Start-want[i].Start).Abs() > within || (got[i].End-want[i].End).Abs() > within {
			return false
		}
	}
	return true
}

// TestSpeechSpansIgnoresBackground checks that edge refinement stops at the
// background: with noise 50 dB under the speech, walking outward to the
// edge threshold alone would run into the noise.
func TestSpeechSpansIgnoresBackground(t *testing.T) {
	c := burstClip(time.Second, SampleRate, burst{ms(300.4), ms(700.2), -10})
	noise, err := Noise(NoiseWhite, time.Second, -63, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	MixAt(c.Samples, noise, 0)
	want := []Span{{ms(300.4), ms(700.2)}}
	if got := SpeechSpans(c, TruthOptions{}); !spansMatch(got, want, 2*time.Millisecond) {
		t.Errorf("burst over -63 dBFS noise: got %v; want %v ±2 ms", got, want)
	}
}

// TestSpeechSpansTestdata measures the committed espeak-ng clips, whose
// truth is the exact digital-silence padding gen.sh added.
func TestSpeechSpansTestdata(t *testing.T) {
	mp3, err := DecodeMP3File("testdata/hello.mp3")
	if err != nil {
		t.Fatal(err)
	}
	hello := decodeTestWAV(t, "hello.wav")
	tests := []struct {
		name        string
		clip        Clip
		lead, trail time.Duration
	}{
		{"hello.wav", hello, 500 * time.Millisecond, 700 * time.Millisecond},
		{"hello.mp3", mp3, 500 * time.Millisecond, 700 * time.Millisecond},
		{"hello.wav at 16 kHz", Clip{Samples: Resample(hello.Samples, SampleRate, 16000), Rate: 16000}, 500 * time.Millisecond, 700 * time.Millisecond},
		{"uhhuh.wav", decodeTestWAV(t, "uhhuh.wav"), 300 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		want := Span{Start: tt.lead, End: tt.clip.Duration() - tt.trail}
		spans := SpeechSpans(tt.clip, TruthOptions{MinGap: 300 * time.Millisecond})
		if len(spans) != 1 || !spansMatch(spans, []Span{want}, 10*time.Millisecond) {
			t.Errorf("%s utterance spans: got %v; want [%v] ±10 ms", tt.name, spans, want)
		}
		span, ok := SpeechSpan(tt.clip)
		if !ok || !spansMatch([]Span{span}, []Span{want}, 10*time.Millisecond) {
			t.Errorf("%s SpeechSpan: got %v (ok %v); want %v ±10 ms", tt.name, span, ok, want)
		}
	}
}

func TestSpeechSpanSilence(t *testing.T) {
	if span, ok := SpeechSpan(Clip{Samples: make([]int16, 1000), Rate: SampleRate}); ok {
		t.Errorf("SpeechSpan of silence: got %v, true; want false", span)
	}
}

func BenchmarkSpeechSpans(b *testing.B) {
	c := decodeTestWAV(b, "hello.wav") // 3.1 s
	b.ReportAllocs()
	for b.Loop() {
		SpeechSpans(c, TruthOptions{})
	}
}
