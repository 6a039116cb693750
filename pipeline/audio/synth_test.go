package audio

import "testing"

func BenchmarkSynth(b *testing.B) {
	s, err := NewSynth(SynthConfig{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
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
	for s.SpeakDuration(text) < 10e9 {
		text += sentence
	}
	return text
}
