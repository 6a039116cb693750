package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// chunk builds a RIFF chunk, adding the pad byte after odd-sized payloads.
func chunk(id string, payload []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(payload)))
	b = append(b, payload...)
	if len(payload)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// riff wraps chunks in a RIFF/WAVE header.
func riff(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	return append(chunk("RIFF", body)[:8], body...)
}

// fmtPayload builds a 16-byte fmt chunk payload with a consistent block
// align and byte rate.
func fmtPayload(tag uint16, channels, rate, bits int) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b[0:], tag)
	binary.LittleEndian.PutUint16(b[2:], uint16(channels))
	binary.LittleEndian.PutUint32(b[4:], uint32(rate))
	binary.LittleEndian.PutUint32(b[8:], uint32(rate*channels*bits/8))
	binary.LittleEndian.PutUint16(b[12:], uint16(channels*bits/8))
	binary.LittleEndian.PutUint16(b[14:], uint16(bits))
	return b
}

// extensiblePayload builds a 40-byte WAVE_FORMAT_EXTENSIBLE fmt payload.
func extensiblePayload(sub uint16, channels, rate, bits int) []byte {
	b := fmtPayload(wavFormatExtensible, channels, rate, bits)
	b = binary.LittleEndian.AppendUint16(b, 22)           // cbSize
	b = binary.LittleEndian.AppendUint16(b, uint16(bits)) // valid bits
	b = binary.LittleEndian.AppendUint32(b, 0x3)          // channel mask
	b = binary.LittleEndian.AppendUint16(b, sub)
	return append(b, ksDataFormatTail[:]...)
}

func le16(v ...int16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func le24(v ...int32) []byte {
	var b []byte
	for _, x := range v {
		b = append(b, byte(x), byte(x>>8), byte(x>>16))
	}
	return b
}

func le32(v ...int32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func f32(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func f64(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func TestReadWAVFormats(t *testing.T) {
	tests := []struct {
		name string
		file []byte
		rate int
		want []int16
	}{
		{"16-bit mono", riff(chunk("fmt ", fmtPayload(1, 1, 24000, 16)), chunk("data", le16(0, 1, -1, 32767, -32768))),
			24000, []int16{0, 1, -1, 32767, -32768}},
		{"8-bit unsigned mono", riff(chunk("fmt ", fmtPayload(1, 1, 8000, 8)), chunk("data", []byte{0, 128, 255, 129})),
			8000, []int16{-32768, 0, 32512, 256}},
		{"16-bit stereo averaged", riff(chunk("fmt ", fmtPayload(1, 2, 44100, 16)), chunk("data", le16(1000, 3000, -1, 0, 32767, 32767))),
			44100, []int16{2000, -1, 32767}}, // -0.5 rounds away from zero
		{"3 channels averaged", riff(chunk("fmt ", fmtPayload(1, 3, 16000, 16)), chunk("data", le16(300, 600, 900))),
			16000, []int16{600}},
		{"24-bit", riff(chunk("fmt ", fmtPayload(1, 1, 48000, 24)), chunk("data", le24(0x7FFFFF, 0x000100, -0x800000, -0x000100, 0x000080))),
			48000, []int16{32767, 1, -32768, -1, 1}},
		{"32-bit int", riff(chunk("fmt ", fmtPayload(1, 1, 48000, 32)), chunk("data", le32(5<<16, -7<<16, math.MaxInt32))),
			48000, []int16{5, -7, 32767}},
		{"32-bit float", riff(chunk("fmt ", fmtPayload(3, 1, 24000, 32)), chunk("data", f32(0.5, -1, 2, -0.25))),
			24000, []int16{16384, -32768, 32767, -8192}},
		{"64-bit float stereo", riff(chunk("fmt ", fmtPayload(3, 2, 24000, 64)), chunk("data", f64(0.5, 0, float64(math.NaN()), 0))),
			24000, []int16{8192, 0}},
		{"extensible PCM 16-bit stereo", riff(chunk("fmt ", extensiblePayload(1, 2, 22050, 16)), chunk("data", le16(10, 20))),
			22050, []int16{15}},
		{"extensible float", riff(chunk("fmt ", extensiblePayload(3, 1, 22050, 32)), chunk("data", f32(0.25))),
			22050, []int16{8192}},
		{"unknown chunks skipped, odd one padded", riff(chunk("LIST", []byte("abc")), chunk("fmt ", fmtPayload(1, 1, 24000, 16)),
			chunk("fact", le32(2)), chunk("data", le16(7, 8)), chunk("id3 ", []byte("trailing metadata"))),
			24000, []int16{7, 8}},
		{"fmt with vendor extension", riff(chunk("fmt ", append(fmtPayload(1, 1, 24000, 16), make([]byte, 50)...)), chunk("data", le16(9))),
			24000, []int16{9}},
		{"empty data", riff(chunk("fmt ", fmtPayload(1, 1, 24000, 16)), chunk("data", nil)),
			24000, []int16{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ReadWAV(bytes.NewReader(tt.file))
			if err != nil {
				t.Fatalf("ReadWAV: %v", err)
			}
			if c.Rate != tt.rate {
				t.Errorf("rate: got %d; want %d", c.Rate, tt.rate)
			}
			if !slices.Equal(c.Samples, tt.want) {
				t.Errorf("samples: got %v; want %v", c.Samples, tt.want)
			}
		})
	}
}

func TestReadWAVStreamingSize(t *testing.T) {
	file := riff(chunk("fmt ", fmtPayload(1, 1, 24000, 16)), chunk("data", le16(1, 2, 3)))
	binary.LittleEndian.PutUint32(file[len(file)-10:], wavStreamingSize) // data size field
	c, err := ReadWAV(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("ReadWAV with streaming data size: %v", err)
	}
	if want := []int16{1, 2, 3}; !slices.Equal(c.Samples, want) {
		t.Errorf("samples: got %v; want %v", c.Samples, want)
	}
	_, err = ReadWAV(bytes.NewReader(file[:len(file)-1]))
	if err == nil || !strings.Contains(err.Error(), "ends mid-frame") {
		t.Errorf("streaming data ending mid-frame: got error %v; want \"ends mid-frame\"", err)
	}
}

func TestReadWAVErrors(t *testing.T) {
	fmt16 := chunk("fmt ", fmtPayload(1, 1, 24000, 16))
	data := chunk("data", le16(1, 2))
	withFmt := func(mutate func(b []byte)) []byte {
		p := fmtPayload(1, 1, 24000, 16)
		mutate(p)
		return riff(chunk("fmt ", p), data)
	}
	badGUID := extensiblePayload(1, 1, 24000, 16)
	badGUID[39] ^= 0xff
	truncData := riff(fmt16, chunk("data", le16(1, 2, 3, 4, 5)))
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "truncated RIFF header"},
		{"short", []byte("RIFF\x00\x00"), "truncated RIFF header"},
		{"RIFX", append([]byte("RIFX\x00\x00\x00\x00WAVE"), fmt16...), "big-endian"},
		{"RF64", []byte("RF64\xff\xff\xff\xffWAVE"), "RF64"},
		{"not RIFF", []byte("ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00"), `not a RIFF file: starts with "ID3\x04"`},
		{"not WAVE", []byte("RIFF\x04\x00\x00\x00AVI "), `form type is "AVI "`},
		{"no chunks", []byte("RIFF\x04\x00\x00\x00WAVE"), "no fmt chunk"},
		{"no data", riff(fmt16), "no data chunk"},
		{"data before fmt", riff(data, fmt16), "data chunk before fmt chunk"},
		{"duplicate fmt", riff(fmt16, fmt16, data), "duplicate fmt chunk"},
		{"fmt too short", riff(chunk("fmt ", make([]byte, 14)), data), "fmt chunk is 14 bytes, need at least 16"},
		{"fmt truncated", riff(fmt16)[:30], "truncated fmt chunk: declares 16 bytes, only 10 present"},
		{"chunk header truncated", append(riff(fmt16), 'd', 'a'), "truncated chunk header"},
		{"unknown chunk truncated", append(riff(fmt16), []byte("LIST\x64\x00\x00\x00abc")...), `truncated "LIST" chunk: declares 100 bytes, only 3 present`},
		{"garbage chunk id", append(riff(fmt16), 0x01, 0xff, 0x00, 0x7f, 0, 0, 0, 0), "not ASCII"},
		{"zero channels", withFmt(func(b []byte) { b[2] = 0 }), "0 channels"},
		{"zero rate", withFmt(func(b []byte) { clear(b[4:8]) }), "sample rate 0 Hz is out of range"},
		{"absurd rate", withFmt(func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 4_000_000_000) }), "sample rate 4000000000 Hz"},
		{"12-bit PCM", withFmt(func(b []byte) { b[14] = 12 }), "unsupported integer PCM bit depth 12"},
		{"16-bit float", withFmt(func(b []byte) { b[0] = 3 }), "unsupported float bit depth 16"},
		{"MP3 in WAV", withFmt(func(b []byte) { b[0] = 0x55 }), "unsupported WAVE format tag 0x0055"},
		{"block align mismatch", withFmt(func(b []byte) { b[12] = 4 }), "block align 4 does not match 1 channels × 16 bits"},
		{"extensible too short", riff(chunk("fmt ", fmtPayload(wavFormatExtensible, 1, 24000, 16)), data), "WAVE_FORMAT_EXTENSIBLE needs 40"},
		{"extensible bad GUID", riff(chunk("fmt ", badGUID), data), "GUID"},
		{"data not whole frames", riff(fmt16, chunk("data", []byte{1, 2, 3})), "data chunk size 3 is not a multiple of the 2-byte sample frame"},
		{"data truncated", truncData[:len(truncData)-7], "truncated data chunk: declares 10 bytes, only 3 present"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ReadWAV(bytes.NewReader(tt.file))
			if err == nil {
				t.Fatalf("ReadWAV: got clip of %d samples and no error; want error containing %q", len(c.Samples), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "audio: read WAV: ") {
				t.Errorf("ReadWAV: got error %q; want it prefixed \"audio: read WAV: \" and containing %q", err, tt.want)
			}
		})
	}
}

func TestWriteReadWAVRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	in := Clip{Samples: make([]int16, 40001), Rate: 16000} // bigger than one write buffer
	for i := range in.Samples {
		in.Samples[i] = int16(rng.Uint32())
	}
	var buf bytes.Buffer
	if err := WriteWAV(&buf, in); err != nil {
		t.Fatalf("WriteWAV: %v", err)
	}
	if got, want := buf.Len(), 44+2*len(in.Samples); got != want {
		t.Errorf("WAV size: got %d bytes; want %d", got, want)
	}
	if got, want := binary.LittleEndian.Uint32(buf.Bytes()[4:]), uint32(36+2*len(in.Samples)); got != want {
		t.Errorf("RIFF size field: got %d; want %d", got, want)
	}
	out, err := ReadWAV(&buf)
	if err != nil {
		t.Fatalf("ReadWAV: %v", err)
	}
	if out.Rate != in.Rate || !slices.Equal(out.Samples, in.Samples) {
		t.Errorf("round trip: got rate %d, %d samples (equal: %v); want rate %d, the %d samples written",
			out.Rate, len(out.Samples), slices.Equal(out.Samples, in.Samples), in.Rate, len(in.Samples))
	}
}

func TestWriteWAVRejectsBadRate(t *testing.T) {
	for _, rate := range []int{0, -1, maxWAVRate + 1} {
		err := WriteWAV(&bytes.Buffer{}, Clip{Samples: []int16{1}, Rate: rate})
		if err == nil || !strings.Contains(err.Error(), "sample rate") {
			t.Errorf("WriteWAV at %d Hz: got error %v; want a sample rate error", rate, err)
		}
	}
}

func TestWriteWAVFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.wav")
	first := Clip{Samples: []int16{1, 2, 3}, Rate: SampleRate}
	if err := WriteWAVFile(path, first); err != nil {
		t.Fatalf("WriteWAVFile: %v", err)
	}
	second := Clip{Samples: []int16{4, 5}, Rate: 8000}
	if err := WriteWAVFile(path, second); err != nil {
		t.Fatalf("WriteWAVFile over an existing file: %v", err)
	}
	got, err := DecodeWAVFile(path)
	if err != nil {
		t.Fatalf("DecodeWAVFile: %v", err)
	}
	if got.Rate != second.Rate || !slices.Equal(got.Samples, second.Samples) {
		t.Errorf("file content: got %+v; want %+v", got, second)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o644); got != want {
		t.Errorf("file mode: got %v; want %v", got, want)
	}

	// A failed write leaves the previous file intact and no temporary file.
	err = WriteWAVFile(path, Clip{Samples: []int16{9}, Rate: 0})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("WriteWAVFile with bad clip: got error %v; want one naming %s", err, path)
	}
	if got, err := DecodeWAVFile(path); err != nil || !slices.Equal(got.Samples, second.Samples) {
		t.Errorf("after failed write: got %+v, %v; want the previous file %+v", got, err, second)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "out.wav" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory after writes: got %v; want only out.wav", names)
	}

	missing := filepath.Join(dir, "no-such-dir", "x.wav")
	if err := WriteWAVFile(missing, first); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("WriteWAVFile into a missing directory: got error %v; want one naming %s", err, missing)
	}
}

func TestDecodeWAVFileErrorsNameFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(bad, []byte("RIFF\x04\x00\x00\x00AVI "), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.wav")} {
		if _, err := DecodeWAVFile(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("DecodeWAVFile(%s): got error %v; want one naming the file", path, err)
		}
	}
}

// TestTestdataWAV pins the committed clips to the truth gen.sh documents:
// exact digital silence for the padding and speech right up to it.
func TestTestdataWAV(t *testing.T) {
	tests := []struct {
		file         string
		n            int
		lead, trail  int // samples of digital silence
		firstNonZero int
	}{
		{"hello.wav", 74013, 12000, 16800, 12000},
		{"uhhuh.wav", 21996, 7200, 7200, 7200},
		{"onset.wav", 12000, 6001, 1200, 6001}, // sine starts at phase 0 at sample 6000
	}
	for _, tt := range tests {
		c, err := DecodeWAVFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatalf("DecodeWAVFile: %v", err)
		}
		if c.Rate != SampleRate || len(c.Samples) != tt.n {
			t.Errorf("%s: got %d samples at %d Hz; want %d at %d Hz", tt.file, len(c.Samples), c.Rate, tt.n, SampleRate)
			continue
		}
		first := slices.IndexFunc(c.Samples, func(v int16) bool { return v != 0 })
		last := len(c.Samples) - 1
		for last >= 0 && c.Samples[last] == 0 {
			last--
		}
		if first != tt.lead || len(c.Samples)-1-last != tt.trail {
			t.Errorf("%s: got %d leading and %d trailing zero samples; want %d and %d",
				tt.file, first, len(c.Samples)-1-last, tt.lead, tt.trail)
		}
	}
}

func FuzzReadWAV(f *testing.F) {
	f.Add(riff(chunk("fmt ", fmtPayload(1, 1, 24000, 16)), chunk("data", le16(1, 2, 3))))
	f.Add(riff(chunk("fmt ", fmtPayload(1, 2, 44100, 24)), chunk("LIST", []byte("x")), chunk("data", le24(1, 2))))
	f.Add(riff(chunk("fmt ", extensiblePayload(3, 2, 48000, 32)), chunk("data", f32(0.1, 0.2))))
	f.Add(riff(chunk("fmt ", fmtPayload(1, 1, 8000, 8)), chunk("data", []byte{1, 2, 3})))
	if b, err := os.ReadFile("testdata/uhhuh.wav"); err == nil {
		f.Add(b[:200])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadWAV(bytes.NewReader(data))
		if err != nil {
			return
		}
		if c.Rate <= 0 || c.Rate > maxWAVRate {
			t.Errorf("ReadWAV accepted rate %d", c.Rate)
		}
		if len(c.Samples) > len(data) {
			t.Errorf("ReadWAV returned %d samples from %d bytes", len(c.Samples), len(data))
		}
	})
}
