package audio

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// zeroCrossingHz estimates a tone's frequency from the rising zero
// crossings between the first and last one in s.
func zeroCrossingHz(s []int16, rate int) float64 {
	first, last, n := -1, -1, 0
	for i := 1; i < len(s); i++ {
		if s[i-1] < 0 && s[i] >= 0 {
			if first < 0 {
				first = i
			} else {
				n++
			}
			last = i
		}
	}
	if n == 0 {
		return 0
	}
	return float64(n) * float64(rate) / float64(last-first)
}

// middle returns the central part of s, away from the edges where the
// resampler sees the signal start or stop.
func middle(s []int16) []int16 { return s[len(s)/10 : len(s)*9/10] }

func TestResampleKeepsTones(t *testing.T) {
	tests := []struct {
		freq     float64
		from, to int
	}{
		{1000, 16000, 24000},
		{1000, 44100, 24000},
		{1000, 48000, 24000},
		{1000, 22050, 24000},
		{1000, 8000, 24000},
		{3000, 24000, 16000},
		{10000, 44100, 24000}, // below the 12 kHz output Nyquist: must survive
		{6000, 16000, 24000},  // passband is flat to ~85% of the lower Nyquist
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%gHz_%d_to_%d", tt.freq, tt.from, tt.to), func(t *testing.T) {
			in := sine(tt.freq, tt.from, time.Second, 0.5)
			out := Resample(in, tt.from, tt.to)
			if want := tt.to; len(out) != want {
				t.Fatalf("length: got %d samples; want %d", len(out), want)
			}
			if got := zeroCrossingHz(middle(out), tt.to); math.Abs(got-tt.freq) > tt.freq*0.001 {
				t.Errorf("frequency: got %.2f Hz; want %g Hz ±0.1%%", got, tt.freq)
			}
			inDB, outDB := DBFS(middle(in)), DBFS(middle(out))
			if math.Abs(outDB-inDB) > 0.5 {
				t.Errorf("level: got %.3f dBFS; want the input's %.3f ±0.5 dB", outDB, inDB)
			}
			// Phase: the output must be the same sine sampled at the new
			// rate with no delay, to within 16-bit-ish accuracy.
			ideal := sine(tt.freq, tt.to, time.Second, 0.5)
			var errSum, sigSum float64
			for i := len(out) / 10; i < len(out)*9/10; i++ {
				d := float64(out[i]) - float64(ideal[i])
				errSum += d * d
				sigSum += float64(ideal[i]) * float64(ideal[i])
			}
			if snr := 10 * math.Log10(sigSum/errSum); snr < 60 {
				t.Errorf("error against the ideal resampled sine: got SNR %.1f dB; want >= 60 dB (a delay or distortion)", snr)
			}
		})
	}
}

func TestResampleRejectsAliases(t *testing.T) {
	tests := []struct {
		freq     float64
		from, to int
	}{
		{15000, 44100, 24000}, // would alias to 9 kHz
		{13000, 48000, 24000}, // would alias to 11 kHz
		{5000, 24000, 8000},   // would alias to 3 kHz
		{9000, 24000, 16000},  // would alias to 7 kHz
	}
	for _, tt := range tests {
		in := sine(tt.freq, tt.from, time.Second, 0.5)
		out := Resample(in, tt.from, tt.to)
		attenuation := DBFS(middle(in)) - DBFS(middle(out))
		if attenuation < 30 {
			t.Errorf("%g Hz at %d Hz resampled to %d Hz: got %.1f dB attenuation; want >= 30 dB", tt.freq, tt.from, tt.to, attenuation)
		}
	}
}

func TestResampleUnityDCGain(t *testing.T) {
	in := make([]int16, 16000)
	for i := range in {
		in[i] = 10000
	}
	for _, to := range []int{24000, 8000, 44100} {
		out := Resample(in, 16000, to)
		for i, v := range middle(out) {
			if v < 9999 || v > 10001 {
				t.Fatalf("16 kHz -> %d Hz DC: got %d at middle sample %d; want 10000 ±1", to, v, i)
			}
		}
	}
}

func TestResampleIrregularRatio(t *testing.T) {
	// 44100 -> 24001 reduces to 24001/44100: too many phases for a table,
	// so the kernel is evaluated per sample. It must be just as correct.
	in := sine(1000, 44100, 200*time.Millisecond, 0.5)
	out := Resample(in, 44100, 24001)
	if want := int(math.Round(float64(len(in)) * 24001 / 44100)); len(out) != want {
		t.Fatalf("length: got %d; want %d", len(out), want)
	}
	if got := zeroCrossingHz(middle(out), 24001); math.Abs(got-1000) > 1 {
		t.Errorf("frequency: got %.2f Hz; want 1000 ±1", got)
	}
	if d := DBFS(middle(out)) - DBFS(middle(in)); math.Abs(d) > 0.5 {
		t.Errorf("level change: got %.3f dB; want within ±0.5 dB", d)
	}
}

func TestResampleEqualRatesCopies(t *testing.T) {
	in := []int16{1, 2, 3}
	out := Resample(in, 24000, 24000)
	out[0] = 99
	if in[0] != 1 || len(out) != 3 || out[2] != 3 {
		t.Errorf("equal rates: got out %v and in %v; want an independent copy of [1 2 3]", out, in)
	}
	if got := Resample(nil, 16000, 24000); len(got) != 0 {
		t.Errorf("empty input: got %d samples; want 0", len(got))
	}
}

func TestResamplePanicsOnBadRate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Resample with rate 0: got no panic; want one")
		}
	}()
	Resample([]int16{1}, 0, 24000)
}

func TestToMono24k(t *testing.T) {
	c := Clip{Samples: []int16{1, 2, 3}, Rate: SampleRate}
	if got := ToMono24k(c); &got.Samples[0] != &c.Samples[0] || got.Rate != SampleRate {
		t.Errorf("24 kHz clip: got a converted copy; want the clip returned as is")
	}
	c16 := Clip{Samples: sine(440, 16000, 500*time.Millisecond, 0.3), Rate: 16000}
	got := ToMono24k(c16)
	if got.Rate != SampleRate || len(got.Samples) != 12000 {
		t.Errorf("16 kHz clip: got %d samples at %d Hz; want 12000 at %d Hz", len(got.Samples), got.Rate, SampleRate)
	}
	if got.Duration() != c16.Duration() {
		t.Errorf("duration: got %v; want %v", got.Duration(), c16.Duration())
	}
}

func BenchmarkResample(b *testing.B) {
	for _, from := range []int{16000, 44100, 48000} {
		in := sine(440, from, 10*time.Second, 0.5)
		b.Run(fmt.Sprintf("%d_to_24000_10s", from), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(2 * len(in)))
			for b.Loop() {
				Resample(in, from, SampleRate)
			}
		})
	}
}
