package vad_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"github.com/voicesim/voicesim/stages/vad"
)

// BenchmarkVAD runs vad.energy in a session on speech in pink noise at
// 20 dB SNR, looped, one 20 ms frame per op. samples/s is the throughput of
// one session on one core; realtime_x how many live microphones that is.
func BenchmarkVAD(b *testing.B) {
	hello := load(b, "hello.wav")
	clean := place(hello.Samples, clipOffset+hello.Duration()+time.Second)
	stream := audio.MixSNR(clean, noise(b, audio.NoisePink, 10*time.Second, -30, 1), 20)
	frames := len(stream) / pipeline.FrameSamples
	s := pipeline.NewSession(pipeline.Options{}, pipeline.Named{Name: "vad.energy", Stage: vad.New(vad.Defaults())})
	s.Start()
	f := pipeline.Frame{Kind: pipeline.UserAudio}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := i % frames
		f.Audio = stream[k*pipeline.FrameSamples : (k+1)*pipeline.FrameSamples]
		f.At = time.Duration(i) * pipeline.FrameDuration
		s.Input(f)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)*pipeline.FrameSamples/sec, "samples/s")
	b.ReportMetric(float64(b.N)*pipeline.FrameDuration.Seconds()/sec, "realtime_x")
	if got := s.Counters()[vad.CounterSpeechStarts]; b.N > 2*frames && got == 0 {
		b.Fatalf("no speech found in %d frames of speech in noise", b.N)
	}
}
