package audio

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// msSamples is one millisecond at the pipeline rate: the alignment tolerance.
const msSamples = SampleRate / 1000

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	return b
}

func decodeTestWAV(t testing.TB, name string) Clip {
	t.Helper()
	c, err := DecodeWAVFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bestLag returns the lag (in samples, within ±maxLag) at which b best
// matches a by cross-correlation: positive means b is late.
func bestLag(a, b []int16, maxLag int) int {
	best, bestAt := -1.0, 0
	for lag := -maxLag; lag <= maxLag; lag++ {
		var sum float64
		for i, v := range a {
			if j := i + lag; j >= 0 && j < len(b) {
				sum += float64(v) * float64(b[j])
			}
		}
		if sum > best {
			best, bestAt = sum, lag
		}
	}
	return bestAt
}

// firstAbove returns the index of the first sample whose magnitude reaches
// frac of the clip's peak, a pre-echo-proof onset for a hard-onset tone.
func firstAbove(s []int16, frac float64) int {
	peak := 0
	for _, v := range s {
		peak = max(peak, abs(int(v)))
	}
	for i, v := range s {
		if float64(abs(int(v))) >= frac*float64(peak) {
			return i
		}
	}
	return -1
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestDecodeMP3Alignment(t *testing.T) {
	for _, name := range []string{"hello", "onset"} {
		t.Run(name, func(t *testing.T) {
			src := decodeTestWAV(t, name+".wav")
			c, info, err := DecodeMP3WithInfo(bytes.NewReader(readTestdata(t, name+".mp3")))
			if err != nil {
				t.Fatalf("DecodeMP3WithInfo: %v", err)
			}
			if !info.Trimmed || !info.TagFrameSkipped || info.EncoderDelay != 576 || info.Encoder != "LAME3.100" || info.Rate != SampleRate {
				t.Errorf("info: got %+v; want a trimmed LAME3.100 file at 24 kHz with LAME's 576-sample delay", info)
			}
			if c.Rate != SampleRate {
				t.Errorf("rate: got %d; want %d", c.Rate, SampleRate)
			}
			// Delay and padding trimmed exactly: same length as the source.
			if len(c.Samples) != len(src.Samples) {
				t.Errorf("length: got %d samples; want the source's %d", len(c.Samples), len(src.Samples))
			}
			// A ±50 ms search would find the untrimmed 1105-sample lag.
			if lag := bestLag(src.Samples, c.Samples, 1200); abs(lag) > msSamples {
				t.Errorf("cross-correlation lag: got %d samples; want within ±%d (1 ms)", lag, msSamples)
			}
		})
	}
}

func TestDecodeMP3OnsetAligned(t *testing.T) {
	src := decodeTestWAV(t, "onset.wav")
	c, err := DecodeMP3(bytes.NewReader(readTestdata(t, "onset.mp3")))
	if err != nil {
		t.Fatalf("DecodeMP3: %v", err)
	}
	want := firstAbove(src.Samples, 0.4)
	if want != 6002 {
		t.Fatalf("source onset: got sample %d; want 6002 (the phase-0 sine starting at 6000 first reaches 40%% of its peak on its 2nd sample)", want)
	}
	if got := firstAbove(c.Samples, 0.4); abs(got-want) > msSamples {
		t.Errorf("decoded onset: got sample %d; want %d ±%d (1 ms)", got, want, msSamples)
	}
}

// TestDecodeMP3WithoutTag strips the Xing/LAME tag frame: nothing can be
// trimmed, the info says so, and the audio lags by LAME's delay plus the
// decoder's (576 + 529 samples) — the error the tag exists to correct.
func TestDecodeMP3WithoutTag(t *testing.T) {
	data := readTestdata(t, "onset.mp3")
	h, ok := parseMP3Header(data)
	if !ok {
		t.Fatal("onset.mp3 does not start with a Layer III frame header")
	}
	c, info, err := DecodeMP3WithInfo(bytes.NewReader(data[h.frameLen:]))
	if err != nil {
		t.Fatalf("DecodeMP3WithInfo: %v", err)
	}
	if info.Trimmed || info.TagFrameSkipped || info.EncoderDelay != 0 || info.Padding != 0 {
		t.Errorf("info: got %+v; want nothing trimmed and zero delay/padding", info)
	}
	want := 6002 + 576 + MP3DecoderDelay
	if got := firstAbove(c.Samples, 0.4); abs(got-want) > msSamples {
		t.Errorf("untrimmed onset: got sample %d; want %d ±%d", got, want, msSamples)
	}
}

func TestDecodeMP3SkipsID3v2(t *testing.T) {
	mp3 := readTestdata(t, "onset.mp3")
	// A 20-byte ID3v2.4 tag with a footer flag (10 + 20 + 10 bytes).
	id3 := append([]byte("ID3\x04\x00\x10\x00\x00\x00\x14"), make([]byte, 20)...)
	id3 = append(id3, []byte("3DI\x04\x00\x10\x00\x00\x00\x14")...)
	c, info, err := DecodeMP3WithInfo(bytes.NewReader(append(id3, mp3...)))
	if err != nil {
		t.Fatalf("DecodeMP3WithInfo: %v", err)
	}
	if !info.Trimmed || len(c.Samples) != 12000 {
		t.Errorf("with ID3v2 tag: got %d samples, info %+v; want 12000 samples, trimmed", len(c.Samples), info)
	}
	// A tag claiming more bytes than the file has is an error, not a
	// 256 MB allocation.
	huge := []byte("ID3\x04\x00\x00\x7f\x7f\x7f\x7f")
	if _, err := DecodeMP3(bytes.NewReader(append(huge, mp3...))); err == nil || !strings.Contains(err.Error(), "truncated ID3v2 tag") {
		t.Errorf("oversized ID3v2 tag: got error %v; want \"truncated ID3v2 tag\"", err)
	}
}

func TestDecodeMP3Errors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("this is not an mp3 file at all")},
		{"WAV", riff(chunk("fmt ", fmtPayload(1, 1, 24000, 16)), chunk("data", le16(1, 2)))},
	}
	for _, tt := range tests {
		_, err := DecodeMP3(bytes.NewReader(tt.data))
		if want := "audio: decode MP3: no MPEG audio frame found"; err == nil || err.Error() != want {
			t.Errorf("%s: got error %v; want %q", tt.name, err, want)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.mp3")
	if _, err := DecodeMP3File(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("DecodeMP3File(missing): got error %v; want one naming %s", err, missing)
	}
}

func TestDecodeMP3File(t *testing.T) {
	c, err := DecodeMP3File(filepath.Join("testdata", "hello.mp3"))
	if err != nil {
		t.Fatalf("DecodeMP3File: %v", err)
	}
	if c.Rate != SampleRate || len(c.Samples) != 74013 {
		t.Errorf("got %d samples at %d Hz; want 74013 at %d Hz", len(c.Samples), c.Rate, SampleRate)
	}
}

func TestTrimMP3PadsShortTail(t *testing.T) {
	// Padding shorter than the decoder delay: the decoder never emits the
	// source's last samples, so the clip is padded to the source length.
	s := make([]int16, 4*576)
	for i := range s {
		s[i] = int16(i)
	}
	tag := mp3Tag{lame: true, delay: 576, padding: 100, frames: 4, samplesPerFrame: 576}
	got := trimMP3(s, tag)
	if want := 4*576 - 576 - 100; len(got) != want {
		t.Fatalf("length: got %d; want %d", len(got), want)
	}
	if got[0] != int16(576+MP3DecoderDelay) || got[len(got)-1] != 0 {
		t.Errorf("got first %d, last %d; want first %d and a zero-padded tail", got[0], got[len(got)-1], 576+MP3DecoderDelay)
	}

	// A stream with fewer frames than its tag counts keeps what it has
	// rather than growing a long silent tail.
	tag.frames = 40
	if got, want := len(trimMP3(s, tag)), len(s)-576-MP3DecoderDelay; got != want {
		t.Errorf("truncated stream: got %d samples; want the %d decoded after the delay", got, want)
	}
}

func FuzzDecodeMP3(f *testing.F) {
	mp3 := readTestdata(f, "onset.mp3")
	f.Add(mp3[:600])
	f.Add(mp3[:100])
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x02ab\xff\xfb\x90\x00"))
	f.Add([]byte("\xff\xfb\x100004000094\xff000000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, info, err := DecodeMP3WithInfo(bytes.NewReader(data))
		if err != nil {
			return
		}
		if c.Rate != info.Rate || c.Rate <= 0 {
			t.Errorf("decoded clip rate %d, info rate %d", c.Rate, info.Rate)
		}
	})
}
