package audio

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNoiseLevelAndDeterminism(t *testing.T) {
	for _, kind := range []string{NoiseWhite, NoisePink, NoiseBrown} {
		for _, level := range []float64{-40, -20} {
			a, err := Noise(kind, 2*time.Second, level, rand.New(rand.NewPCG(7, 1)))
			if err != nil {
				t.Fatalf("Noise(%s): %v", kind, err)
			}
			if len(a) != 48000 {
				t.Errorf("%s: got %d samples; want 48000 (2 s at 24 kHz)", kind, len(a))
			}
			if got := DBFS(a); math.Abs(got-level) > 0.05 {
				t.Errorf("%s at %g dBFS: got %.3f dBFS", kind, level, got)
			}
			b, _ := Noise(kind, 2*time.Second, level, rand.New(rand.NewPCG(7, 1)))
			if !slices.Equal(a, b) {
				t.Errorf("%s: same seed gave different noise", kind)
			}
			c, _ := Noise(kind, 2*time.Second, level, rand.New(rand.NewPCG(8, 1)))
			if slices.Equal(a, c) {
				t.Errorf("%s: different seeds gave identical noise", kind)
			}
		}
	}
}

// bandPowerDB returns the average power of s around freq Hz (±3 DFT bins of
// 960-sample Hann-windowed blocks, 25 Hz apart), in dB.
func bandPowerDB(s []int16, freq float64) float64 {
	const block = 960
	center := int(freq / (SampleRate / block))
	var sum float64
	var n int
	for off := 0; off+block <= len(s); off += block {
		for k := center - 3; k <= center+3; k++ {
			var re, im float64
			for i := range block {
				w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/block)
				x := float64(s[off+i]) * w
				ph := 2 * math.Pi * float64(k*i) / block
				re += x * math.Cos(ph)
				im -= x * math.Sin(ph)
			}
			sum += re*re + im*im
			n++
		}
	}
	return 10 * math.Log10(sum/float64(n))
}

func TestNoiseSpectralSlope(t *testing.T) {
	// 500 Hz to 4 kHz is three octaves: white stays flat, pink falls
	// 3 dB/octave (9 dB), brown 6 dB/octave (18 dB).
	tests := []struct {
		kind string
		want float64
	}{{NoiseWhite, 0}, {NoisePink, -9}, {NoiseBrown, -18}}
	for _, tt := range tests {
		s, err := Noise(tt.kind, 4*time.Second, -20, rand.New(rand.NewPCG(3, 3)))
		if err != nil {
			t.Fatal(err)
		}
		got := bandPowerDB(s, 4000) - bandPowerDB(s, 500)
		if math.Abs(got-tt.want) > 1.5 {
			t.Errorf("%s noise, 4 kHz vs 500 Hz: got %.2f dB; want %g ±1.5 dB", tt.kind, got, tt.want)
		}
	}
}

func TestNoiseErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		kind  string
		level float64
		rng   *rand.Rand
		want  string
	}{
		{"purple", -20, rng, `unknown kind "purple"`},
		{NoiseWhite, 3, rng, "level 3 dBFS is out of range"},
		{NoiseWhite, math.NaN(), rng, "out of range"},
		{NoiseWhite, -20, nil, "nil random source"},
	}
	for _, tt := range tests {
		if _, err := Noise(tt.kind, time.Second, tt.level, tt.rng); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Noise(%q, level %v): got error %v; want %q", tt.kind, tt.level, err, tt.want)
		}
	}
}

func TestMixAt(t *testing.T) {
	tests := []struct {
		name     string
		dst, src []int16
		offset   int
		want     []int16
	}{
		{"inside", []int16{1, 1, 1, 1}, []int16{2, 3}, 1, []int16{1, 3, 4, 1}},
		{"past the end", []int16{1, 1, 1}, []int16{2, 3, 4}, 2, []int16{1, 1, 3}},
		{"negative offset", []int16{1, 1, 1}, []int16{2, 3, 4}, -1, []int16{4, 5, 1}},
		{"entirely before", []int16{1, 1}, []int16{2, 3}, -2, []int16{1, 1}},
		{"entirely after", []int16{1, 1}, []int16{2, 3}, 2, []int16{1, 1}},
		{"saturates high", []int16{30000, -5}, []int16{30000, 10}, 0, []int16{32767, 5}},
		{"saturates low", []int16{-30000}, []int16{-30000}, 0, []int16{-32768}},
	}
	for _, tt := range tests {
		dst := slices.Clone(tt.dst)
		MixAt(dst, tt.src, tt.offset)
		if !slices.Equal(dst, tt.want) {
			t.Errorf("%s: got %v; want %v", tt.name, dst, tt.want)
		}
	}
}

func TestScaleToDBFS(t *testing.T) {
	s := sine(1000, SampleRate, time.Second, math.Sqrt2*0.1) // -20 dBFS
	gain := ScaleToDBFS(s, -30)
	if got := DBFS(s); math.Abs(got+30) > 0.01 {
		t.Errorf("level after scaling: got %.3f dBFS; want -30", got)
	}
	if math.Abs(gain-DBToAmplitude(-10)) > 1e-3 {
		t.Errorf("gain: got %.4f; want %.4f (-10 dB)", gain, DBToAmplitude(-10))
	}
	silence := make([]int16, 10)
	if g := ScaleToDBFS(silence, -20); g != 0 || slices.ContainsFunc(silence, func(v int16) bool { return v != 0 }) {
		t.Errorf("silence: got gain %v and samples %v; want gain 0 and silence", g, silence)
	}
}

func TestActiveLevelDBFS(t *testing.T) {
	tone := sine(500, SampleRate, 500*time.Millisecond, math.Sqrt2*0.1) // -20 dBFS
	padded := make([]int16, 3*len(tone))
	copy(padded[len(tone):], tone)
	if whole := DBFS(padded); whole > -24 {
		t.Fatalf("whole-clip level of padded tone: got %.2f; want about -24.8 (padding counted)", whole)
	}
	if got := ActiveLevelDBFS(padded); math.Abs(got+20) > 0.05 {
		t.Errorf("active level of padded -20 dBFS tone: got %.3f dBFS; want -20", got)
	}
	quiet := sine(500, SampleRate, 500*time.Millisecond, math.Sqrt2*0.0001) // -80 dBFS
	if got := ActiveLevelDBFS(quiet); math.Abs(got+80) > 0.5 {
		t.Errorf("active level of a -80 dBFS tone: got %.3f dBFS; want -80", got)
	}
	if got := ActiveLevelDBFS(make([]int16, 1000)); !math.IsInf(got, -1) {
		t.Errorf("active level of silence: got %v; want -Inf", got)
	}
}

func TestMixSNR(t *testing.T) {
	speech := decodeTestWAV(t, "hello.wav").Samples
	orig := slices.Clone(speech)
	noise, err := Noise(NoiseWhite, time.Second, -30, rand.New(rand.NewPCG(1, 2))) // shorter than speech: looped
	if err != nil {
		t.Fatal(err)
	}
	for _, snr := range []float64{20, 5, 0} {
		mixed := MixSNR(speech, noise, snr)
		if len(mixed) != len(speech) {
			t.Fatalf("length: got %d; want %d", len(mixed), len(speech))
		}
		added := make([]int16, len(mixed))
		for i := range mixed {
			added[i] = mixed[i] - speech[i]
		}
		if got := ActiveLevelDBFS(speech) - DBFS(added); math.Abs(got-snr) > 0.2 {
			t.Errorf("SNR %g dB: got %.2f dB", snr, got)
		}
		// Looping: the noise repeats with its own period.
		if added[100] != added[100+len(noise)] || added[100] == 0 {
			t.Errorf("SNR %g dB: added noise at 100 (%d) and one noise length later (%d) differ or are zero; want looped noise",
				snr, added[100], added[100+len(noise)])
		}
	}
	if !slices.Equal(speech, orig) {
		t.Error("MixSNR modified its speech input")
	}
	if got := MixSNR(speech, make([]int16, 100), 10); !slices.Equal(got, speech) {
		t.Error("MixSNR with silent noise: got a changed signal; want a copy of the speech")
	}
}
