package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	mp3 "github.com/hajimehoshi/go-mp3"
)

// MP3DecoderDelay is the delay, in samples, that a standard MPEG Layer III
// decoder's synthesis filterbank adds in front of the encoder's output
// (528 samples of filter delay + 1). go-mp3 follows the reference decoder
// here, like mpg123 and FFmpeg, which use the same figure for gapless
// playback.
const MP3DecoderDelay = 529

// MP3Info describes how a decoded MP3 was aligned with its source.
type MP3Info struct {
	// Rate is the file's sample rate in Hz.
	Rate int
	// Encoder is the encoder string from the LAME tag ("LAME3.100"), or ""
	// when there is no tag.
	Encoder string
	// EncoderDelay and Padding are the leading and trailing samples the
	// encoder added, as recorded in the LAME tag; both are 0 when the file
	// has no LAME tag, in which case nothing was trimmed and the clip lags
	// its source by an unknown delay (for LAME, typically 1105 samples).
	EncoderDelay int
	Padding      int
	// Trimmed reports whether EncoderDelay+MP3DecoderDelay leading samples
	// and the padding were removed, leaving the clip sample-aligned with
	// the source the encoder was given.
	Trimmed bool
	// TagFrameSkipped reports whether the first frame was a Xing/Info tag
	// frame, which carries metadata rather than audio and whose decoded
	// silence was dropped.
	TagFrameSkipped bool
}

// DecodeMP3 decodes an MP3 stream to a mono clip at the file's own rate,
// trimmed into sample alignment with the encoder's input when the file
// carries a LAME tag (see DecodeMP3WithInfo).
func DecodeMP3(r io.Reader) (Clip, error) {
	c, _, err := DecodeMP3WithInfo(r)
	return c, err
}

// DecodeMP3File decodes the MP3 file at path (see DecodeMP3).
func DecodeMP3File(path string) (Clip, error) {
	f, err := os.Open(path)
	if err != nil {
		return Clip{}, fmt.Errorf("audio: decode MP3: %w", err)
	}
	defer f.Close()
	c, _, err := decodeMP3(f)
	if err != nil {
		return Clip{}, fmt.Errorf("audio: decode MP3 %s: %w", path, err)
	}
	return c, nil
}

// DecodeMP3WithInfo decodes an MP3 stream to a mono clip at the file's own
// rate and reports how it was aligned.
//
// go-mp3 yields 16-bit stereo (mono files are duplicated to both channels);
// the channels are averaged. Encoders put EncoderDelay samples of priming in
// front of the audio and the decoder adds MP3DecoderDelay more, so without
// correction every onset in the clip lands tens of milliseconds late, and
// ground truth measured on it would be wrong by that much. When the first
// frame holds a Xing/Info tag with a LAME extension, those samples and the
// end padding are trimmed; otherwise nothing is trimmed.
func DecodeMP3WithInfo(r io.Reader) (Clip, MP3Info, error) {
	c, info, err := decodeMP3(r)
	if err != nil {
		return Clip{}, MP3Info{}, fmt.Errorf("audio: decode MP3: %w", err)
	}
	return c, info, nil
}

func decodeMP3(r io.Reader) (Clip, MP3Info, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Clip{}, MP3Info{}, fmt.Errorf("read: %w", err)
	}
	// Strip ID3v2 tags here rather than leaving them to go-mp3, which
	// allocates whatever size a tag header claims (up to 256 MB).
	off := skipID3v2(data)
	if off > len(data) {
		return Clip{}, MP3Info{}, fmt.Errorf("truncated ID3v2 tag: header declares %d bytes, file has %d", off, len(data))
	}
	data = data[off:]
	tag := parseMP3Tag(data)

	pcm, rate, err := runMP3Decoder(data)
	if err != nil {
		return Clip{}, MP3Info{}, err
	}
	mono := make([]int16, len(pcm)/4)
	for i := range mono {
		l := int32(int16(binary.LittleEndian.Uint16(pcm[4*i:])))
		r := int32(int16(binary.LittleEndian.Uint16(pcm[4*i+2:])))
		// Arithmetic shift rounds toward -Inf; the half-LSB bias is
		// inaudible and keeps identical channels exact.
		mono[i] = int16((l + r) >> 1)
	}

	info := MP3Info{Rate: rate, Encoder: tag.encoder}
	if tag.found {
		// go-mp3 decodes the tag frame like any other, into one frame of
		// silence that is not part of the stream's audio.
		info.TagFrameSkipped = true
		mono = mono[min(tag.samplesPerFrame, len(mono)):]
	}
	if tag.lame {
		info.EncoderDelay, info.Padding, info.Trimmed = tag.delay, tag.padding, true
		mono = trimMP3(mono, tag)
	}
	return Clip{Samples: mono, Rate: rate}, info, nil
}

// runMP3Decoder runs go-mp3 over data and returns its interleaved stereo
// PCM16 output and sample rate. go-mp3 has a history of panicking on
// corrupt input (its own fuzz regressions), so a panic is turned into an
// error: one bad asset must not take down the process loading it.
func runMP3Decoder(data []byte) (pcm []byte, rate int, err error) {
	defer func() {
		if p := recover(); p != nil {
			pcm, rate, err = nil, 0, fmt.Errorf("corrupt MP3 stream (decoder panicked: %v)", p)
		}
	}()
	dec, err := mp3.NewDecoder(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, errors.New("no MPEG audio frame found")
		}
		return nil, 0, fmt.Errorf("parse first frame: %w", err)
	}
	pcm, err = io.ReadAll(dec)
	if err != nil {
		return nil, 0, fmt.Errorf("decode frames: %w", err)
	}
	return pcm, dec.SampleRate(), nil
}

// trimMP3 removes the encoder and decoder delay from the front of s (the
// decoded audio after the tag frame) and the encoder padding from the end.
//
// The encoder's stream is delay + source + padding samples long, a whole
// number of frames; the decoder emits the same count shifted late by
// MP3DecoderDelay. So the source occupies [delay+529, delay+529+n) where
// n = len(stream) - delay - padding. When the padding is shorter than the
// decoder delay the decoder never emits the source's last few samples, and
// the clip is padded with that much silence so its length still matches the
// source's. A stream cut short (fewer frames than the tag counts) is not
// padded: it keeps what was decoded.
func trimMP3(s []int16, tag mp3Tag) []int16 {
	streamLen := len(s)
	if tag.frames > 0 {
		streamLen = tag.frames * tag.samplesPerFrame
	}
	n := streamLen - tag.delay - tag.padding
	start := tag.delay + MP3DecoderDelay
	if n <= 0 || start >= len(s) {
		return s[:0]
	}
	end := start + n
	switch {
	case end <= len(s):
		return s[start:end]
	case end-len(s) > MP3DecoderDelay: // truncated stream
		return s[start:]
	}
	out := make([]int16, n)
	copy(out, s[start:])
	return out
}
