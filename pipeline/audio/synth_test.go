package audio

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestSynth(t testing.TB, cfg SynthConfig) *Synth {
	t.Helper()
	s, err := NewSynth(cfg)
	if err != nil {
		t.Fatalf("NewSynth(%+v): %v", cfg, err)
	}
	return s
}

func TestNewSynthDefaultsAndValidation(t *testing.T) {
	s := newTestSynth(t, SynthConfig{Seed: 5})
	want := SynthConfig{PitchHz: 120, SyllablesPerSecond: 4.5, LevelDBFS: -20, Seed: 5}
	if got := s.Config(); got != want {
		t.Errorf("defaults: got %+v; want %+v", got, want)
	}
	bad := []struct {
		cfg  SynthConfig
		want string
	}{
		{SynthConfig{PitchHz: -100}, "pitch -100 Hz"},
		{SynthConfig{PitchHz: 2000}, "pitch 2000 Hz"},
		{SynthConfig{PitchHz: math.NaN()}, "pitch NaN Hz"},
		{SynthConfig{SyllablesPerSecond: 30}, "rate 30 syllables/s"},
		{SynthConfig{SyllablesPerSecond: -1}, "rate -1 syllables/s"},
		{SynthConfig{LevelDBFS: 3}, "level 3 dBFS"},
		{SynthConfig{LevelDBFS: -200}, "level -200 dBFS"},
	}
	for _, tt := range bad {
		if _, err := NewSynth(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewSynth(%+v): got error %v; want one containing %q", tt.cfg, err, tt.want)
		}
	}
}

func TestSpeakDeterministic(t *testing.T) {
	const text = "Sure, I can help with that. What time works for you?"
	a := newTestSynth(t, SynthConfig{Seed: 42}).Speak(text)
	b := newTestSynth(t, SynthConfig{Seed: 42}).Speak(text)
	if !slices.Equal(a.Samples, b.Samples) {
		t.Fatal("same text, config and seed: got different audio; want bit-identical")
	}
	if c := newTestSynth(t, SynthConfig{Seed: 43}).Speak(text); slices.Equal(a.Samples, c.Samples) {
		t.Error("different seeds: got identical audio; want variation")
	}
	if d := newTestSynth(t, SynthConfig{Seed: 42}).Speak("Sure, I can help with this. What time works for me?"); slices.Equal(a.Samples, d.Samples) {
		t.Error("different text: got identical audio")
	}
}

func TestSpeakDurationExact(t *testing.T) {
	texts := []string{
		"", "   ", "...?!", "Hello", "uh-huh", "Hello, world.", "2024", "日本語です",
		"What's the weather like in Paris tomorrow?",
		"Okay — so first, preheat the oven; then (carefully) slide the tray in. Done!",
		strings.Repeat("This is a longer answer that keeps going for a while. ", 10),
	}
	for _, rate := range []float64{3, 4.5, 8} {
		for _, pitch := range []float64{110, 210} {
			s := newTestSynth(t, SynthConfig{SyllablesPerSecond: rate, PitchHz: pitch, Seed: 9})
			for _, text := range texts {
				c := s.Speak(text)
				if got, want := s.SpeakDuration(text), c.Duration(); got != want {
					t.Errorf("rate %g, %q: SpeakDuration got %v; Speak returned %v", rate, text, got, want)
				}
				if c.Rate != SampleRate {
					t.Errorf("rate: got %d; want %d", c.Rate, SampleRate)
				}
			}
		}
	}
	if c := newTestSynth(t, SynthConfig{}).Speak(" ,.. "); len(c.Samples) != 0 {
		t.Errorf("text without words: got %d samples; want none", len(c.Samples))
	}
}

func TestSpeakDurationFollowsText(t *testing.T) {
	s := newTestSynth(t, SynthConfig{SyllablesPerSecond: 4, Seed: 1})
	// 12 syllables at 4/s: 3 s, give or take the ±15% per-syllable
	// variation and the lengthened final syllable.
	if got := s.SpeakDuration("banana banana banana banana"); got < 2700*time.Millisecond || got > 3400*time.Millisecond {
		t.Errorf("12 syllables at 4/s: got %v; want about 3 s", got)
	}
	fast := newTestSynth(t, SynthConfig{SyllablesPerSecond: 8, Seed: 1})
	slow, quick := s.SpeakDuration("banana banana banana banana"), fast.SpeakDuration("banana banana banana banana")
	if ratio := float64(slow) / float64(quick); math.Abs(ratio-2) > 0.01 {
		t.Errorf("doubling the rate: got duration ratio %.3f; want 2", ratio)
	}
	// Same phrase structure, so the only difference is the pause length.
	comma, stop := s.SpeakDuration("one, two"), s.SpeakDuration("one. two")
	if got, want := stop-comma, synthLongPause-synthShortPause; got != want {
		t.Errorf("sentence pause minus comma pause: got %v; want %v", got, want)
	}
	if got := comma - s.SpeakDuration("one two"); got < synthShortPause {
		t.Errorf("comma: added %v; want at least the %v pause", got, synthShortPause)
	}
	// Punctuation at the ends adds no silence.
	if a, b := s.SpeakDuration("Hello there."), s.SpeakDuration("...Hello there"); a != b {
		t.Errorf("leading/trailing punctuation: got %v vs %v; want equal", a, b)
	}
}

func TestSpeakLevel(t *testing.T) {
	for _, level := range []float64{-12, -20, -35} {
		c := newTestSynth(t, SynthConfig{LevelDBFS: level}).Speak("Let me check that for you, one moment.")
		if got := ActiveLevelDBFS(c.Samples); math.Abs(got-level) > 0.1 {
			t.Errorf("configured %g dBFS: got active level %.2f dBFS", level, got)
		}
	}
}

// autocorrPitch estimates the fundamental of the loudest 100 ms of s from
// the autocorrelation peak between 60 and 400 Hz.
func autocorrPitch(s []int16) float64 {
	const win = SampleRate / 10
	best, at := 0.0, 0
	for i := 0; i+win <= len(s); i += win / 2 {
		if e := meanSquare(s[i : i+win]); e > best {
			best, at = e, i
		}
	}
	w := s[at : at+win]
	bestR, bestLag := -math.MaxFloat64, 0
	for lag := SampleRate / 400; lag <= SampleRate/60; lag++ {
		var r float64
		for i := 0; i+lag < len(w); i++ {
			r += float64(w[i]) * float64(w[i+lag])
		}
		r /= float64(len(w) - lag)
		if r > bestR {
			bestR, bestLag = r, lag
		}
	}
	return float64(SampleRate) / float64(bestLag)
}

func TestSpeakPitch(t *testing.T) {
	for _, pitch := range []float64{100, 120, 210} {
		c := newTestSynth(t, SynthConfig{PitchHz: pitch}).Speak("Hello there, how are you doing today?")
		// The declination contour spans 0.85-1.12 of the mean pitch.
		if got := autocorrPitch(c.Samples); got < pitch*0.8 || got > pitch*1.2 {
			t.Errorf("PitchHz %g: got fundamental %.1f Hz; want within %g-%g", pitch, got, pitch*0.8, pitch*1.2)
		}
	}
}

// TestSpeakSpeechSpans checks the clip is speech from its first sample to
// its last, and that a comma pause is real silence.
func TestSpeakSpeechSpans(t *testing.T) {
	s := newTestSynth(t, SynthConfig{Seed: 3})
	speech := s.Speak("Hello there, how are you?")
	pad := DurationToSamples(300*time.Millisecond, SampleRate)
	c := Clip{Samples: make([]int16, len(speech.Samples)+2*pad), Rate: SampleRate}
	copy(c.Samples[pad:], speech.Samples)

	span, ok := SpeechSpan(c)
	wantStart, wantEnd := 300*time.Millisecond, 300*time.Millisecond+speech.Duration()
	if !ok || (span.Start-wantStart).Abs() > 10*time.Millisecond || (span.End-wantEnd).Abs() > 10*time.Millisecond {
		t.Errorf("SpeechSpan: got %+v (ok %v); want {%v %v} ±10 ms", span, ok, wantStart, wantEnd)
	}
	if spans := SpeechSpans(c, TruthOptions{MinGap: 300 * time.Millisecond}); len(spans) != 1 {
		t.Errorf("utterance-level spans: got %d (%v); want 1", len(spans), spans)
	}
	if spans := SpeechSpans(c, TruthOptions{MinGap: 120 * time.Millisecond}); len(spans) != 2 {
		t.Errorf("spans with a 120 ms min gap across the 180 ms comma pause: got %d (%v); want 2", len(spans), spans)
	}
}

func TestSyllabify(t *testing.T) {
	tests := []struct {
		word string
		want int
	}{
		{"like", 1}, {"table", 2}, {"weather", 2}, {"tomorrow", 3}, {"paris", 2},
		{"the", 1}, {"there", 1}, {"banana", 3}, {"yes", 1}, {"rhythm", 1},
		{"hmm", 1}, {"2024", 4}, {"whats", 1}, {"日本語", 3}, {"café", 2},
	}
	for _, tt := range tests {
		if got := len(syllabify(tt.word)); got != tt.want {
			t.Errorf("syllabify(%q): got %d syllables; want %d", tt.word, got, tt.want)
		}
	}
	sp := syllabify("whats")[0]
	if sp.onset != consSonorant || sp.coda != consFricative {
		t.Errorf("whats: got onset %d, coda %d; want sonorant onset (silent h) and fricative coda", sp.onset, sp.coda)
	}
	if sp := syllabify("paris"); sp[0].onset != consPlosive || !sp[0].stressed || sp[1].stressed {
		t.Errorf("paris: got %+v; want a plosive onset and stress on the first syllable only", sp)
	}
}

func TestSplitPhrases(t *testing.T) {
	tests := []struct {
		text string
		want []phrase
	}{
		{"Hello, world.", []phrase{{[]string{"hello"}, synthShortPause, false}, {[]string{"world"}, 0, false}}},
		{"What's up? Not much!", []phrase{{[]string{"whats", "up"}, synthLongPause, true}, {[]string{"not", "much"}, 0, false}}},
		{"uh-huh", []phrase{{[]string{"uh", "huh"}, 0, false}}},
		{"...Really?", []phrase{{[]string{"really"}, 0, true}}},
		{"Wait, what. Okay", []phrase{{[]string{"wait"}, synthShortPause, false}, {[]string{"what"}, synthLongPause, false}, {[]string{"okay"}, 0, false}}},
		{"So,. then", []phrase{{[]string{"so"}, synthLongPause, false}, {[]string{"then"}, 0, false}}},
		{" \t", nil},
	}
	for _, tt := range tests {
		got := splitPhrases(tt.text)
		if !slices.EqualFunc(got, tt.want, func(a, b phrase) bool {
			return slices.Equal(a.words, b.words) && a.pauseAfter == b.pauseAfter && a.question == b.question
		}) {
			t.Errorf("splitPhrases(%q): got %+v; want %+v", tt.text, got, tt.want)
		}
	}
}

func BenchmarkSynth(b *testing.B) {
	s := newTestSynth(b, SynthConfig{Seed: 1})
	text := benchText(s)
	b.ReportAllocs()
	for b.Loop() {
		s.Speak(text)
	}
}

// benchText returns text whose synthesis is about 10 s long.
func benchText(s *Synth) string {
	const sentence = "The quick brown fox jumps over the lazy dog, then it runs away. "
	text := ""
	for s.SpeakDuration(text) < 10*time.Second {
		text += sentence
	}
	return text
}
