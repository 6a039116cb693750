package audio

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSamplesToDuration(t *testing.T) {
	tests := []struct {
		n, rate int
		want    time.Duration
	}{
		{480, 24000, 20 * time.Millisecond},
		{1, 24000, 41667 * time.Nanosecond}, // 41666.67 rounds up
		{22050, 22050, time.Second},
		{44100 * 3600, 44100, time.Hour}, // no overflow for long clips
		{0, 24000, 0},
		{100, 0, 0},
		{100, -8000, 0},
	}
	for _, tt := range tests {
		if got := SamplesToDuration(tt.n, tt.rate); got != tt.want {
			t.Errorf("SamplesToDuration(%d, %d): got %v; want %v", tt.n, tt.rate, got, tt.want)
		}
	}
}

func TestDurationToSamples(t *testing.T) {
	tests := []struct {
		d    time.Duration
		rate int
		want int
	}{
		{20 * time.Millisecond, 24000, 480},
		{time.Millisecond, 44100, 44}, // 44.1 rounds down
		{1500 * time.Microsecond, 1000, 2},
		{time.Hour, 48000, 48000 * 3600},
		{-time.Second, 24000, 0},
		{time.Second, 0, 0},
	}
	for _, tt := range tests {
		if got := DurationToSamples(tt.d, tt.rate); got != tt.want {
			t.Errorf("DurationToSamples(%v, %d): got %d; want %d", tt.d, tt.rate, got, tt.want)
		}
	}
}

func TestDurationSamplesRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 22050, 24000, 44100} {
		for n := range 5000 {
			if got := DurationToSamples(SamplesToDuration(n, rate), rate); got != n {
				t.Fatalf("rate %d: round trip of %d samples: got %d; want %d", rate, n, got, n)
			}
		}
	}
}

func TestFrames(t *testing.T) {
	tests := []struct{ n, want int }{{-5, 0}, {0, 0}, {1, 1}, {480, 1}, {481, 2}, {960, 2}, {24000, 50}}
	for _, tt := range tests {
		if got := Frames(tt.n); got != tt.want {
			t.Errorf("Frames(%d): got %d; want %d", tt.n, got, tt.want)
		}
	}
}

func TestClipDuration(t *testing.T) {
	c := Clip{Samples: make([]int16, 36000), Rate: SampleRate}
	if got, want := c.Duration(), 1500*time.Millisecond; got != want {
		t.Errorf("Duration: got %v; want %v", got, want)
	}
	if got := (Clip{Samples: make([]int16, 10)}).Duration(); got != 0 {
		t.Errorf("Duration with zero rate: got %v; want 0", got)
	}
}

func TestDBFS(t *testing.T) {
	square := make([]int16, 1000)
	for i := range square {
		square[i] = math.MaxInt16
		if i%2 == 1 {
			square[i] = math.MinInt16
		}
	}
	tests := []struct {
		name string
		s    []int16
		want float64
	}{
		{"full-scale square", square, 0},
		{"full-scale sine", sine(1000, SampleRate, time.Second, 1), -3.0103},
		{"half-scale sine", sine(1000, SampleRate, time.Second, 0.5), -9.0309},
		{"-20 dBFS sine", sine(1000, SampleRate, time.Second, math.Sqrt2*0.1), -20},
	}
	for _, tt := range tests {
		if got := DBFS(tt.s); math.Abs(got-tt.want) > 0.01 {
			t.Errorf("%s: got %.4f dBFS; want %.4f", tt.name, got, tt.want)
		}
	}
	for _, s := range [][]int16{nil, make([]int16, 100)} {
		if got := DBFS(s); !math.IsInf(got, -1) {
			t.Errorf("DBFS of %d zero samples: got %v; want -Inf", len(s), got)
		}
	}
}

func TestDBConversions(t *testing.T) {
	for _, db := range []float64{-60, -20, -6.0206, 0, 6} {
		if got := AmplitudeToDB(DBToAmplitude(db)); math.Abs(got-db) > 1e-9 {
			t.Errorf("AmplitudeToDB(DBToAmplitude(%v)): got %v; want %v", db, got, db)
		}
	}
	if got := DBToAmplitude(-6.0206); math.Abs(got-0.5) > 1e-4 {
		t.Errorf("DBToAmplitude(-6.02): got %v; want 0.5", got)
	}
}

func TestPCM16RoundTrip(t *testing.T) {
	in := []int16{0, 1, -1, 0x1234, -2, math.MaxInt16, math.MinInt16}
	b := EncodePCM16(in)
	wantBytes := []byte{0, 0, 1, 0, 0xff, 0xff, 0x34, 0x12, 0xfe, 0xff, 0xff, 0x7f, 0x00, 0x80}
	if !bytes.Equal(b, wantBytes) {
		t.Fatalf("EncodePCM16: got % x; want % x", b, wantBytes)
	}
	out, err := DecodePCM16(b)
	if err != nil {
		t.Fatalf("DecodePCM16: %v", err)
	}
	if !slices.Equal(out, in) {
		t.Errorf("DecodePCM16: got %v; want %v", out, in)
	}
	buf := make([]byte, 2, 64)
	got := AppendPCM16(buf, in[3:4])
	if !bytes.Equal(got, []byte{0, 0, 0x34, 0x12}) || &got[0] != &buf[0] {
		t.Errorf("AppendPCM16: got % x (reused buffer: %v); want 00 00 34 12 in the caller's buffer", got, &got[0] == &buf[0])
	}
}

func TestDecodePCM16OddLength(t *testing.T) {
	_, err := DecodePCM16([]byte{1, 2, 3})
	if err == nil || !strings.Contains(err.Error(), "odd byte length 3") {
		t.Errorf("DecodePCM16 of 3 bytes: got error %v; want one naming the odd byte length 3", err)
	}
}

func TestToInt16(t *testing.T) {
	tests := []struct {
		in   float64
		want int16
	}{
		{0, 0}, {0.4, 0}, {0.5, 1}, {-0.5, -1}, {1.6, 2}, {-1.6, -2},
		{32766.6, 32767}, {32767.4, 32767}, {1e9, 32767}, {math.Inf(1), 32767},
		{-32767.6, -32768}, {-1e9, -32768}, {math.Inf(-1), -32768}, {math.NaN(), 0},
	}
	for _, tt := range tests {
		if got := toInt16(tt.in); got != tt.want {
			t.Errorf("toInt16(%v): got %d; want %d", tt.in, got, tt.want)
		}
	}
}

// sine returns a sine at freq Hz sampled at rate, amplitude amp of full
// scale, starting at phase 0.
func sine(freq float64, rate int, dur time.Duration, amp float64) []int16 {
	n := DurationToSamples(dur, rate)
	s := make([]int16, n)
	for i := range s {
		s[i] = toInt16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return s
}
