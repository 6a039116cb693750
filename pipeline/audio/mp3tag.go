package audio

import (
	"encoding/binary"
)

// mp3Tag is what the Xing/Info tag frame at the start of an MP3 says about
// the stream. The tag frame is a valid, silent MPEG frame whose payload holds
// metadata; LAME (and FFmpeg, which writes a LAME-compatible tag) append the
// encoder delay and padding that gapless decoding needs.
type mp3Tag struct {
	found           bool // first frame is a Xing/Info tag frame
	lame            bool // tag has a LAME extension with delay/padding
	encoder         string
	delay, padding  int
	frames          int // audio frames after the tag frame; 0 if unknown
	samplesPerFrame int
}

// mp3Header is the part of an MPEG audio frame header the tag parser needs.
type mp3Header struct {
	samplesPerFrame int
	sideInfoLen     int
	crc             bool
	frameLen        int // bytes, including the 4-byte header
}

// Layer III bitrates in kbps by bitrate index, for MPEG-1 and for MPEG-2/2.5.
var (
	mp3Bitrates1  = [15]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}
	mp3Bitrates2  = [15]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}
	mp3RatesMPEG1 = [3]int{44100, 48000, 32000}
)

// parseMP3Header decodes a Layer III frame header at the start of b.
func parseMP3Header(b []byte) (mp3Header, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mp3Header{}, false
	}
	version := (b[1] >> 3) & 3 // 0: MPEG-2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
	layer := (b[1] >> 1) & 3   // 1: Layer III
	brIndex := int(b[2] >> 4)
	srIndex := int(b[2]>>2) & 3
	if version == 1 || layer != 1 || brIndex == 0 || brIndex == 15 || srIndex == 3 {
		// Free-format (index 0) frames have no computable length; they are
		// never tag frames in practice.
		return mp3Header{}, false
	}
	mono := b[3]>>6 == 3
	rate := mp3RatesMPEG1[srIndex]
	h := mp3Header{crc: b[1]&1 == 0}
	var kbps int
	if version == 3 {
		h.samplesPerFrame = 1152
		h.sideInfoLen = 32
		if mono {
			h.sideInfoLen = 17
		}
		kbps = mp3Bitrates1[brIndex]
	} else {
		rate /= 2 // MPEG-2 halves the MPEG-1 rates
		if version == 0 {
			rate /= 2 // and MPEG-2.5 quarters them
		}
		h.samplesPerFrame = 576
		h.sideInfoLen = 17
		if mono {
			h.sideInfoLen = 9
		}
		kbps = mp3Bitrates2[brIndex]
	}
	padding := int(b[2]>>1) & 1
	h.frameLen = h.samplesPerFrame/8*kbps*1000/rate + padding
	return h, true
}

// parseMP3Tag looks for a Xing/Info tag in the first MPEG frame of data
// (after any ID3v2 tags). It never fails: a missing or malformed tag just
// means no alignment data.
func parseMP3Tag(data []byte) mp3Tag {
	off := skipID3v2(data)
	// Find the first frame header the way a decoder would: the first sync
	// word that parses as a Layer III header.
	for ; off+4 <= len(data); off++ {
		if _, ok := parseMP3Header(data[off:]); ok {
			break
		}
	}
	h, ok := parseMP3Header(data[min(off, len(data)):])
	if !ok || off+h.frameLen > len(data) {
		return mp3Tag{}
	}
	frame := data[off : off+h.frameLen]
	p := 4 + h.sideInfoLen
	if h.crc {
		p += 2
	}
	if p+8 > len(frame) {
		return mp3Tag{}
	}
	if id := string(frame[p : p+4]); id != "Xing" && id != "Info" {
		return mp3Tag{}
	}
	t := mp3Tag{found: true, samplesPerFrame: h.samplesPerFrame}
	flags := binary.BigEndian.Uint32(frame[p+4:])
	p += 8
	if flags&1 != 0 { // frame count
		if p+4 > len(frame) {
			return t
		}
		t.frames = int(binary.BigEndian.Uint32(frame[p:]))
		p += 4
	}
	if flags&2 != 0 { // byte count
		p += 4
	}
	if flags&4 != 0 { // seek table of contents
		p += 100
	}
	if flags&8 != 0 { // VBR quality
		p += 4
	}
	// LAME extension: 9-byte encoder string, then revision/VBR method,
	// lowpass, peak amplitude (4), two replay gains (2+2), encoding flags,
	// bitrate, and at offset 21 the 12-bit delay and 12-bit padding.
	if p+24 > len(frame) {
		return t
	}
	switch string(frame[p : p+4]) {
	case "LAME", "Lavf", "Lavc", "L3.9", "GOGO":
	default:
		return t
	}
	t.encoder = trimTagString(frame[p : p+9])
	d := frame[p+21 : p+24]
	t.delay = int(d[0])<<4 | int(d[1])>>4
	t.padding = int(d[1]&0x0F)<<8 | int(d[2])
	t.lame = true
	return t
}

// skipID3v2 returns the offset just past any ID3v2 tags at the start of
// data. It may exceed len(data) when a tag claims more bytes than exist.
func skipID3v2(data []byte) int {
	off := 0
	for off+10 <= len(data) && string(data[off:off+3]) == "ID3" {
		s := data[off+6 : off+10]
		if s[0]|s[1]|s[2]|s[3] >= 0x80 {
			break // not a valid syncsafe size
		}
		flags := data[off+5]
		off += 10 + (int(s[0])<<21 | int(s[1])<<14 | int(s[2])<<7 | int(s[3]))
		if flags&0x10 != 0 { // a 10-byte footer follows the tag
			off += 10
		}
	}
	return off
}

// trimTagString returns the printable prefix of a fixed-width tag string.
func trimTagString(b []byte) string {
	n := 0
	for n < len(b) && b[n] >= 0x20 && b[n] < 0x7f {
		n++
	}
	return string(b[:n])
}
