package wsframe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// Encoding frames, and feeding streams of them, for the tests.

const fin = 0x80

// testKey masks the tests' client frames: RFC 6455 §5.7's example key.
var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// hdr encodes a frame header: b0 is its first byte (FIN, RSV, opcode), n
// the length announced, in ext extra bytes (0, 2 or 8; -1: the fewest).
func hdr(b0 byte, masked bool, n uint64, ext int) []byte {
	if ext < 0 {
		ext = 0
		if n > 125 {
			ext = 2
		}
		if n > 0xffff {
			ext = 8
		}
	}
	h := []byte{b0, 0}
	switch ext {
	case 0:
		h[1] = byte(n)
	case 2:
		h[1] = 126
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	case 8:
		h[1] = 127
		h = binary.BigEndian.AppendUint64(h, n)
	}
	if masked {
		h[1] |= 0x80
		h = append(h, testKey[:]...)
	}
	return h
}

// frame encodes a whole frame with the fewest length bytes.
func frame(b0 byte, masked bool, payload []byte) []byte {
	if masked {
		payload = maskBytes(payload)
	}
	return append(hdr(b0, masked, uint64(len(payload)), -1), payload...)
}

// maskBytes masks p with testKey byte by byte, apart from the parser's
// own masking.
func maskBytes(p []byte) []byte {
	m := make([]byte, len(p))
	for i, c := range p {
		m[i] = c ^ testKey[i%4]
	}
	return m
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// audio is n bytes of stand-in PCM.
func audio(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func closeData(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// result is what a parser made of a stream: the messages (copied) and the
// error that ended it.
type result struct {
	msgs []Message
	err  error
}

// feed runs a stream through a new parser, in pieces of the sizes piece
// returns (it is given the bytes left), and checks that a parser that
// failed stays dead.
func feed(t testing.TB, o Options, stream []byte, piece func(left int) int) result {
	t.Helper()
	stream = bytes.Clone(stream) // Feed unmasks in place
	p := NewParser(o)
	var r result
	collect := func(m Message) error {
		r.msgs = append(r.msgs, Message{m.Op, bytes.Clone(m.Data)})
		return nil
	}
	for len(stream) > 0 {
		n := min(piece(len(stream)), len(stream))
		r.err = p.Feed(stream[:n], collect)
		stream = stream[n:]
		if r.err != nil {
			break
		}
	}
	if r.err != nil {
		err := p.Feed(frame(fin|byte(Ping), o.Masked, nil), func(Message) error {
			t.Errorf("a dead parser delivered a message")
			return nil
		})
		if err != r.err {
			t.Errorf("a dead parser's next Feed returned %v, want %v", err, r.err)
		}
	}
	return r
}

func whole(left int) int { return left }
func oneByte(int) int    { return 1 }
func segments(int) int   { return 1500 }
func randomly(seed uint64) func(int) int {
	r := rand.New(rand.NewPCG(seed, 0))
	return func(left int) int { return r.IntN(min(left, 64) + 1) } // 0 included
}

// diff describes how got differs from want, or returns "".
func (got result) diff(want result) string {
	if !sameErr(got.err, want.err) {
		return fmt.Sprintf("error %v, want %v", got.err, want.err)
	}
	if len(got.msgs) != len(want.msgs) {
		return fmt.Sprintf("%d messages %s, want %d %s", len(got.msgs), show(got.msgs), len(want.msgs), show(want.msgs))
	}
	for i := range got.msgs {
		g, w := got.msgs[i], want.msgs[i]
		if g.Op != w.Op || !bytes.Equal(g.Data, w.Data) {
			return fmt.Sprintf("message %d is %s, want %s", i, show(got.msgs[i:i+1]), show(want.msgs[i:i+1]))
		}
	}
	return ""
}

func sameErr(a, b error) bool {
	pa, ok1 := a.(*ProtocolError)
	pb, ok2 := b.(*ProtocolError)
	if ok1 && ok2 {
		return *pa == *pb
	}
	return a == b
}

func show(msgs []Message) string {
	var b bytes.Buffer
	for _, m := range msgs {
		d := m.Data
		if len(d) > 16 {
			fmt.Fprintf(&b, "[%v %d bytes %q…]", m.Op, len(d), d[:16])
		} else {
			fmt.Fprintf(&b, "[%v %q]", m.Op, d)
		}
	}
	return b.String()
}
