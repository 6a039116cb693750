package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/voicesim/voicesim/pipeline/atomicfile"
)

// WAVE format tags from the fmt chunk.
const (
	wavFormatPCM        = 0x0001
	wavFormatFloat      = 0x0003
	wavFormatExtensible = 0xFFFE
)

// maxWAVRate bounds the sample rate a header may claim. Nothing real comes
// close; a larger value means the header is garbage.
const maxWAVRate = 1_000_000

// wavStreamingSize is the data chunk size written by streaming encoders that
// cannot seek back to patch the header; it means "until end of file".
const wavStreamingSize = 0xFFFFFFFF

// ksDataFormatTail is bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID used by
// WAVE_FORMAT_EXTENSIBLE; the first two bytes carry the ordinary format tag.
var ksDataFormatTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// wavFormat is the decoded fmt chunk, with WAVE_FORMAT_EXTENSIBLE already
// resolved to its sub-format.
type wavFormat struct {
	tag        uint16 // wavFormatPCM or wavFormatFloat
	channels   int
	rate       int
	blockAlign int
	bits       int
}

// ReadWAV decodes a RIFF/WAVE stream holding integer PCM (8, 16, 24 or 32
// bit) or IEEE float (32 or 64 bit) samples with any number of channels.
// Channels are averaged down to mono; the clip keeps the file's sample rate.
// Chunks other than fmt and data are skipped. Truncated or inconsistent
// headers are errors that name the problem, because a silently misparsed
// asset would corrupt every latency measured against it.
func ReadWAV(r io.Reader) (Clip, error) {
	c, err := readWAV(r)
	if err != nil {
		return Clip{}, fmt.Errorf("audio: read WAV: %w", err)
	}
	return c, nil
}

// DecodeWAVFile reads and decodes the WAV file at path (see ReadWAV).
func DecodeWAVFile(path string) (Clip, error) {
	f, err := os.Open(path)
	if err != nil {
		return Clip{}, fmt.Errorf("audio: decode WAV: %w", err)
	}
	defer f.Close()
	c, err := readWAV(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return Clip{}, fmt.Errorf("audio: decode WAV %s: %w", path, err)
	}
	return c, nil
}

func readWAV(r io.Reader) (Clip, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Clip{}, truncated("RIFF header", err)
	}
	switch string(hdr[0:4]) {
	case "RIFF":
	case "RIFX":
		return Clip{}, errors.New("big-endian RIFX files are not supported")
	case "RF64":
		return Clip{}, errors.New("RF64 (64-bit WAV) files are not supported")
	default:
		return Clip{}, fmt.Errorf("not a RIFF file: starts with %q, want \"RIFF\"", hdr[0:4])
	}
	if string(hdr[8:12]) != "WAVE" {
		return Clip{}, fmt.Errorf("RIFF form type is %q, want \"WAVE\"", hdr[8:12])
	}
	// The RIFF size field is deliberately not checked: many writers get it
	// wrong, and the chunk sizes below are what decoding relies on.

	var format *wavFormat
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if err == io.EOF {
				if format == nil {
					return Clip{}, errors.New("no fmt chunk before end of file")
				}
				return Clip{}, errors.New("no data chunk before end of file")
			}
			return Clip{}, truncated("chunk header", err)
		}
		id := ch[0:4]
		size := binary.LittleEndian.Uint32(ch[4:8])
		if !printableID(id) {
			return Clip{}, fmt.Errorf("corrupt chunk header: id %q is not ASCII (misaligned or garbage data)", id)
		}
		switch string(id) {
		case "fmt ":
			if format != nil {
				return Clip{}, errors.New("duplicate fmt chunk")
			}
			f, err := readFmtChunk(r, size)
			if err != nil {
				return Clip{}, err
			}
			format = &f
		case "data":
			if format == nil {
				return Clip{}, errors.New("data chunk before fmt chunk")
			}
			// Everything after the data chunk (LIST, id3, ...) is metadata
			// we have no use for, so stop reading here.
			return readDataChunk(r, *format, size)
		default:
			// Chunks are word aligned: an odd size is followed by a pad byte.
			skip := int64(size) + int64(size&1)
			n, err := io.CopyN(io.Discard, r, skip)
			if err != nil {
				return Clip{}, fmt.Errorf("truncated %q chunk: declares %d bytes, only %d present", id, skip, n)
			}
		}
	}
}

// readFmtChunk parses a fmt chunk of the given size.
func readFmtChunk(r io.Reader, size uint32) (wavFormat, error) {
	if size < 16 {
		return wavFormat{}, fmt.Errorf("fmt chunk is %d bytes, need at least 16", size)
	}
	// Read the 40 bytes a WAVE_FORMAT_EXTENSIBLE header needs and discard
	// any vendor extension beyond that.
	want := min(size, 40)
	var b [40]byte
	if n, err := io.ReadFull(r, b[:want]); err != nil {
		return wavFormat{}, fmt.Errorf("truncated fmt chunk: declares %d bytes, only %d present", size, n)
	}
	if rest := int64(size-want) + int64(size&1); rest > 0 {
		if n, err := io.CopyN(io.Discard, r, rest); err != nil {
			return wavFormat{}, fmt.Errorf("truncated fmt chunk: declares %d bytes, only %d present", size, int64(want)+n)
		}
	}

	tag := binary.LittleEndian.Uint16(b[0:2])
	f := wavFormat{
		channels:   int(binary.LittleEndian.Uint16(b[2:4])),
		rate:       int(binary.LittleEndian.Uint32(b[4:8])),
		blockAlign: int(binary.LittleEndian.Uint16(b[12:14])),
		bits:       int(binary.LittleEndian.Uint16(b[14:16])),
	}
	if tag == wavFormatExtensible {
		if size < 40 {
			return wavFormat{}, fmt.Errorf("fmt chunk is %d bytes, WAVE_FORMAT_EXTENSIBLE needs 40", size)
		}
		if [14]byte(b[26:40]) != ksDataFormatTail {
			return wavFormat{}, fmt.Errorf("WAVE_FORMAT_EXTENSIBLE sub-format GUID % x is not a KSDATAFORMAT subtype", b[24:40])
		}
		tag = binary.LittleEndian.Uint16(b[24:26])
	}
	f.tag = tag

	switch {
	case f.channels == 0:
		return wavFormat{}, errors.New("fmt chunk declares 0 channels")
	case f.rate == 0 || f.rate > maxWAVRate:
		return wavFormat{}, fmt.Errorf("fmt chunk sample rate %d Hz is out of range (1..%d)", f.rate, maxWAVRate)
	}
	switch tag {
	case wavFormatPCM:
		if f.bits != 8 && f.bits != 16 && f.bits != 24 && f.bits != 32 {
			return wavFormat{}, fmt.Errorf("unsupported integer PCM bit depth %d (want 8, 16, 24 or 32)", f.bits)
		}
	case wavFormatFloat:
		if f.bits != 32 && f.bits != 64 {
			return wavFormat{}, fmt.Errorf("unsupported float bit depth %d (want 32 or 64)", f.bits)
		}
	default:
		return wavFormat{}, fmt.Errorf("unsupported WAVE format tag 0x%04x (want PCM 0x0001 or IEEE float 0x0003)", tag)
	}
	// The byte-rate field is not checked: it is derived, unused for
	// decoding, and wrong in files from some writers. Block align is what
	// frames the samples, so it must be consistent.
	if want := f.channels * f.bits / 8; f.blockAlign != want {
		return wavFormat{}, fmt.Errorf("fmt chunk block align %d does not match %d channels × %d bits (want %d)",
			f.blockAlign, f.channels, f.bits, want)
	}
	return f, nil
}

// readDataChunk decodes the sample frames of a data chunk of the given size,
// downmixing to mono as it goes so a long multichannel file never needs its
// raw bytes in memory at once.
func readDataChunk(r io.Reader, f wavFormat, size uint32) (Clip, error) {
	streaming := size == wavStreamingSize
	if !streaming && int(size)%f.blockAlign != 0 {
		return Clip{}, fmt.Errorf("data chunk size %d is not a multiple of the %d-byte sample frame", size, f.blockAlign)
	}
	// Do not trust the declared size for the allocation: a corrupt header
	// could claim 4 GB. Grow from a bounded estimate instead.
	estimate := min(int(size)/f.blockAlign, 1<<20)
	if streaming {
		estimate = 1 << 16
	}
	out := make([]int16, 0, estimate)

	buf := make([]byte, max(1, (64<<10)/f.blockAlign)*f.blockAlign)
	remaining := int64(size)
	var got int64
	for streaming || remaining > 0 {
		chunk := buf
		if !streaming && remaining < int64(len(chunk)) {
			chunk = chunk[:remaining]
		}
		n, err := io.ReadFull(r, chunk)
		got += int64(n)
		remaining -= int64(n)
		whole := n - n%f.blockAlign
		out = appendMono(out, chunk[:whole], f)
		if err == nil {
			continue
		}
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			return Clip{}, fmt.Errorf("read data chunk: %w", err)
		}
		if !streaming {
			return Clip{}, fmt.Errorf("truncated data chunk: declares %d bytes, only %d present", size, got)
		}
		if whole != n {
			return Clip{}, fmt.Errorf("data chunk ends mid-frame: %d bytes is not a multiple of the %d-byte sample frame", got, f.blockAlign)
		}
		break
	}
	return Clip{Samples: out, Rate: f.rate}, nil
}

// appendMono decodes whole sample frames from b, averages their channels and
// appends the result to out.
func appendMono(out []int16, b []byte, f wavFormat) []int16 {
	if f.tag == wavFormatPCM && f.bits == 16 && f.channels == 1 {
		// The pipeline's own format: no arithmetic needed.
		for i := 0; i+1 < len(b); i += 2 {
			out = append(out, int16(binary.LittleEndian.Uint16(b[i:])))
		}
		return out
	}
	width := f.bits / 8
	inv := 1 / float64(f.channels)
	for off := 0; off+f.blockAlign <= len(b); off += f.blockAlign {
		var sum float64
		for c := 0; c < f.channels; c++ {
			sum += sampleInt16Units(b[off+c*width:], f)
		}
		out = append(out, toInt16(sum*inv))
	}
	return out
}

// sampleInt16Units decodes one sample at the start of b and returns it scaled
// to int16 units (full scale = 32768) without rounding, so downmixing rounds
// once at the end.
func sampleInt16Units(b []byte, f wavFormat) float64 {
	if f.tag == wavFormatFloat {
		if f.bits == 64 {
			return math.Float64frombits(binary.LittleEndian.Uint64(b)) * fullScale
		}
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) * fullScale
	}
	switch f.bits {
	case 8: // 8-bit WAV is unsigned with 128 as zero
		return (float64(b[0]) - 128) * 256
	case 16:
		return float64(int16(binary.LittleEndian.Uint16(b)))
	case 24:
		v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8 // sign-extend
		return float64(v) / 256
	default: // 32
		return float64(int32(binary.LittleEndian.Uint32(b))) / 65536
	}
}

// WriteWAV writes c as a canonical 44-byte-header 16-bit mono PCM WAV.
func WriteWAV(w io.Writer, c Clip) error {
	if err := writeWAV(w, c); err != nil {
		return fmt.Errorf("audio: write WAV: %w", err)
	}
	return nil
}

// WriteWAVFile writes c to path as a 16-bit mono WAV, atomically: readers see
// either the old file or the complete new one, never a partial write.
func WriteWAVFile(path string, c Clip) error {
	err := atomicfile.Write(path, func(w io.Writer) error { return writeWAV(w, c) })
	if err != nil {
		return fmt.Errorf("audio: write WAV file %s: %w", path, err)
	}
	return nil
}

func writeWAV(w io.Writer, c Clip) error {
	if c.Rate <= 0 || c.Rate > maxWAVRate {
		return fmt.Errorf("sample rate %d Hz is out of range (1..%d)", c.Rate, maxWAVRate)
	}
	dataSize := 2 * int64(len(c.Samples))
	if dataSize > math.MaxUint32-36 {
		return fmt.Errorf("%d samples exceed the 4 GB RIFF limit", len(c.Samples))
	}
	var h [44]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+dataSize))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], wavFormatPCM)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], uint32(c.Rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(c.Rate*2))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(dataSize))
	if _, err := w.Write(h[:]); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	// Encode in bounded pieces rather than materialising the whole payload.
	buf := make([]byte, 0, 32<<10)
	for s := c.Samples; len(s) > 0; {
		n := min(len(s), cap(buf)/2)
		buf = AppendPCM16(buf[:0], s[:n])
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("data: %w", err)
		}
		s = s[n:]
	}
	return nil
}

// truncated describes a short read of a fixed-size header part.
func truncated(what string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("truncated %s", what)
	}
	return fmt.Errorf("read %s: %w", what, err)
}

// printableID reports whether a chunk id is four printable ASCII bytes, as
// every registered RIFF chunk id is.
func printableID(id []byte) bool {
	for _, c := range id {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
