package wsframe

import (
	"bytes"
	"testing"
)

// The live server's traffic, per message: a session's mic sends fifty
// 20 ms frames a second (1920 bytes at 48 kHz mono PCM16), and small JSON
// events.

// BenchmarkAudioWhole: one frame per Feed, as an event loop reads a socket
// that gets a frame every 20 ms: no copy.
func BenchmarkAudioWhole(b *testing.B) {
	benchFeed(b, audioStream(), 1920+8)
}

// BenchmarkAudioSegments: the same stream in 1500-byte pieces (TCP
// segments): most frames are split, and copied.
func BenchmarkAudioSegments(b *testing.B) {
	benchFeed(b, audioStream(), 1500)
}

// BenchmarkSmallText: small JSON events, many to a Feed.
func BenchmarkSmallText(b *testing.B) {
	var stream []byte
	for range 64 {
		stream = append(stream, frame(fin|byte(Text), true, []byte(`{"type":"barge_in","t_ms":123456}`))...)
	}
	benchFeed(b, stream, len(stream))
}

func audioStream() []byte {
	var stream []byte
	for range 64 {
		stream = append(stream, frame(fin|byte(Binary), true, audio(1920))...)
	}
	return stream
}

// benchFeed feeds stream over and over, in pieces of the given size, until
// b.N messages are delivered: ns/op is per message. (Each pass unmasks the
// payloads in place and the next masks them back; the frames stay valid.)
func benchFeed(b *testing.B, stream []byte, piece int) {
	stream = bytes.Clone(stream)
	p := NewParser(Options{Masked: true, MaxMessage: 64 << 10})
	msgs := 0
	fn := func(Message) error {
		msgs++
		return nil
	}
	b.SetBytes(int64(len(stream) / 64))
	b.ReportAllocs()
	b.ResetTimer()
	for off := 0; msgs < b.N; off %= len(stream) {
		end := min(off+piece, len(stream))
		if err := p.Feed(stream[off:end], fn); err != nil {
			b.Fatal(err)
		}
		off = end
	}
}
