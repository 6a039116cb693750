package native

import (
	"math"
	"strings"
	"testing"

	"github.com/voicesim/voicesim/pipeline"
)

func TestHeardPrefix(t *testing.T) {
	const text = "Sure, it will rain tomorrow."
	for _, tc := range []struct {
		frac float64
		want string
	}{
		{0, ""},
		{-1, ""},
		{math.NaN(), ""},
		{0.1, ""},           // cut inside "Sure," (5 of 28 bytes needed)
		{5.0 / 28, "Sure,"}, // cut right after "Sure,"
		{6.0 / 28, "Sure,"}, // on the space after it
		{0.5, "Sure, it will"},
		{27.0 / 28, "Sure, it will rain"}, // "tomorrow." not finished
		{1, text},
		{2, text},
	} {
		if got := heardPrefix(text, tc.frac); got != tc.want {
			t.Errorf("heardPrefix(%.3f) = %q; want %q", tc.frac, got, tc.want)
		}
	}
}

func TestTranscriptStreamsWords(t *testing.T) {
	tr := transcript{text: "one two three"}
	var got []string
	for _, frac := range []float64{0, 0.1, 0.3, 0.5, 1} {
		var step []string
		for w, ok := tr.next(frac); ok; w, ok = tr.next(frac) {
			step = append(step, w)
		}
		got = append(got, strings.Join(step, "|"))
	}
	// Words are due when the audio reaches their first letter: "two" at
	// 4/13, "three" at 8/13.
	want := []string{"one ", "", "", "two ", "three"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: got %q; want %q (all %q)", i, got[i], want[i], got)
		}
	}
}

func TestEnergyVAD(t *testing.T) {
	tone := func(amp float64) []int16 {
		s := make([]int16, pipeline.FrameSamples)
		for i := range s {
			s[i] = int16(amp * math.Sin(float64(i)*0.3))
		}
		return s
	}
	silence := make([]int16, pipeline.FrameSamples)
	noise := tone(33)    // ≈ -63 dBFS: a steady background
	speech := tone(3300) // ≈ -23 dBFS
	faint := tone(60)    // ≈ -58 dBFS: 5 dB over the background
	for _, tc := range []struct {
		name   string
		frames [][]int16
		want   []bool
	}{
		{"digital silence is not speech", [][]int16{silence, silence}, []bool{false, false}},
		{"speech over silence", [][]int16{silence, speech, silence}, []bool{false, true, false}},
		{"steady noise is learnt as floor", [][]int16{noise, noise, speech, noise}, []bool{false, false, true, false}},
		{"5 dB over the floor is not enough", [][]int16{noise, faint}, []bool{false, false}},
		{"faint tail over digital silence counts", [][]int16{silence, faint}, []bool{false, true}},
	} {
		v := newEnergyVAD(DefaultDuplexVADMarginDB, DefaultDuplexVADMinDBFS, 50)
		for i, f := range tc.frames {
			if got := v.voiced(f); got != tc.want[i] {
				t.Errorf("%s: frame %d voiced = %v; want %v (level %.1f dBFS, floor %.1f)", tc.name, i, got, tc.want[i], levelDBFS(f), v.floorDB)
			}
		}
	}
}

func TestIsBackchannel(t *testing.T) {
	d := NewDuplex(DuplexDefaults()).(*Duplex)
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"Uh-huh.", true},
		{"mm-hm, yeah", true},
		{"Okay!", true},
		{"yeah but wait", false},
		{"", false},
		{"...", false},
	} {
		if got := d.isBackchannel(tc.text); got != tc.want {
			t.Errorf("isBackchannel(%q) = %v; want %v", tc.text, got, tc.want)
		}
	}
}

func TestPadToFrames(t *testing.T) {
	for _, n := range []int{0, 1, 479, 480, 481, 960} {
		got := padToFrames(make([]int16, n))
		if len(got)%pipeline.FrameSamples != 0 || len(got) < n || len(got)-n >= pipeline.FrameSamples {
			t.Errorf("padToFrames(%d samples) gave %d", n, len(got))
		}
	}
}
