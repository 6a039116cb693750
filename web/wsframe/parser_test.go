package wsframe

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// clientStream is a client's valid stream and the messages in it: every
// length encoding (one non-minimal), empty frames, and a fragmented message
// (of big bytes, over 300) with control frames between its fragments.
func clientStream(pcmLen, bigLen int) ([]byte, []Message) {
	pcm, big := audio(pcmLen), audio(bigLen)
	stream := cat(
		frame(fin|byte(Text), true, []byte(`{"type":"start"}`)),
		frame(fin|byte(Binary), true, pcm),
		frame(fin|byte(Text), true, nil),
		frame(byte(Binary), true, big[:300]),
		frame(fin|byte(Ping), true, []byte("p1")),
		frame(0, true, nil),
		frame(fin|byte(Pong), true, nil),
		frame(fin|0, true, big[300:]),
		hdr(fin|byte(Text), true, 6, 8), maskBytes([]byte("abcdef")), // length in 8 bytes
		frame(fin|byte(Close), true, closeData(1000, "bye")),
	)
	return stream, []Message{
		{Text, []byte(`{"type":"start"}`)},
		{Binary, pcm},
		{Text, nil},
		{Ping, []byte("p1")},
		{Pong, nil},
		{Binary, big},
		{Text, []byte("abcdef")},
		{Close, closeData(1000, "bye")},
	}
}

// malformed streams: each starts with one good message, in two fragments
// (so a continuation after it has no message to continue), then breaks a
// rule.
var malformed = []struct {
	name   string
	server bool // the peer is a server: frames unmasked
	frames [][]byte
	code   int
	reason string // in the error's Reason
}{
	{"RSV1", false, [][]byte{frame(fin|0x40|byte(Text), true, []byte("x"))}, 1002, "RSV1 set"},
	{"RSV3", false, [][]byte{frame(fin|0x10|byte(Binary), true, nil)}, 1002, "RSV3 set"},
	{"data opcode 3", false, [][]byte{frame(fin|3, true, []byte("x"))}, 1002, "reserved opcode 3"},
	{"control opcode 11", false, [][]byte{frame(fin|11, true, nil)}, 1002, "reserved opcode 11"},
	{"unmasked from a client", false, [][]byte{frame(fin|byte(Text), false, []byte("x"))}, 1002, "unmasked frame from a client"},
	{"masked from a server", true, [][]byte{frame(fin|byte(Text), true, []byte("x"))}, 1002, "masked frame from a server"},
	{"control over 125 bytes", false, [][]byte{frame(fin|byte(Ping), true, audio(126))}, 1002, "ping frame of 126 bytes (limit 125)"},
	{"control over 125, header only", false, [][]byte{hdr(fin|byte(Pong), true, 1<<20, 8)}, 1002, "pong frame of 1048576 bytes"},
	{"control without FIN", false, [][]byte{frame(byte(Close), true, nil)}, 1002, "fragmented close frame"},
	{"final continuation after a final one", false, [][]byte{frame(fin|0, true, []byte("x"))}, 1002, "continuation frame with no message in progress"},
	{"continuation after a final one", false, [][]byte{frame(0, true, []byte("x"))}, 1002, "continuation frame with no message in progress"},
	{"new message inside one", false, [][]byte{frame(byte(Binary), true, []byte("a")), frame(fin|byte(Text), true, []byte("b"))}, 1002, "text frame inside an unfinished binary message"},
	{"64-bit length, top bit set", false, [][]byte{hdr(fin|byte(Binary), true, 1<<63|5, 8)}, 1002, "most significant bit"},
	{"one frame over MaxMessage", false, [][]byte{hdr(fin|byte(Binary), true, 1025, -1)}, 1009, "message of 1025 bytes (limit 1024)"},
	{"fragments over MaxMessage", false, [][]byte{frame(byte(Text), true, audio(600)), hdr(0, true, 425, -1)}, 1009, "message of at least 1025 bytes (limit 1024)"},
	{"close with 1 byte", false, [][]byte{frame(fin|byte(Close), true, []byte{3})}, 1002, "close frame with a 1-byte payload"},
	{"close code 1005", false, [][]byte{frame(fin|byte(Close), true, closeData(1005, ""))}, 1002, "close code 1005 is not valid"},
	{"close reason not UTF-8", false, [][]byte{frame(fin|byte(Close), true, closeData(1000, "bad \xff"))}, 1007, "close reason is not valid UTF-8"},
	{"server close code 999", true, [][]byte{frame(fin|byte(Close), false, closeData(999, ""))}, 1002, "close code 999 is not valid"},
}

func malformedStream(i int) (Options, []byte) {
	c := malformed[i]
	o := Options{Masked: !c.server, MaxMessage: 1024}
	ok := cat(frame(byte(Text), o.Masked, []byte("o")), frame(fin, o.Masked, []byte("k")))
	return o, cat(ok, cat(c.frames...))
}

// TestMalformed: each broken rule is an error with its close code, after
// the good message before it and without a message for the bad frame.
// (feed checks that the parser then stays dead.)
func TestMalformed(t *testing.T) {
	for i, c := range malformed {
		t.Run(c.name, func(t *testing.T) {
			o, stream := malformedStream(i)
			r := feed(t, o, stream, whole)
			var pe *ProtocolError
			if !errors.As(r.err, &pe) || pe.Code != c.code || !strings.Contains(pe.Reason, c.reason) {
				t.Fatalf("error %v, want close %d with %q", r.err, c.code, c.reason)
			}
			if d := r.diff(result{[]Message{{Text, []byte("ok")}}, r.err}); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestSplitAnywhere: a stream fed whole, a byte at a time, in TCP-segment
// sizes or at random points yields the same messages and the same error.
func TestSplitAnywhere(t *testing.T) {
	type stream struct {
		name string
		o    Options
		b    []byte
		want result
	}
	good, msgs := clientStream(1920, 70000) // over keepBuf, with a 64-bit length
	streams := []stream{{"valid", Options{Masked: true}, good, result{msgs: msgs}}}
	for i, c := range malformed {
		o, b := malformedStream(i)
		streams = append(streams, stream{c.name, o, b, feed(t, o, b, whole)})
	}
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			if s.want.err == nil {
				if d := feed(t, s.o, s.b, whole).diff(s.want); d != "" {
					t.Fatalf("fed whole: %s", d)
				}
			}
			pieces := map[string]func(int) int{"a byte at a time": oneByte, "in segments": segments}
			for seed := range uint64(20) {
				pieces[fmt.Sprint("random ", seed)] = randomly(seed)
			}
			for name, piece := range pieces {
				if d := feed(t, s.o, s.b, piece).diff(s.want); d != "" {
					t.Errorf("fed %s: %s", name, d)
				}
			}
		})
	}
}

// TestControlBetweenFragments: control frames between a message's
// fragments are delivered as they come, before the message, which is
// reassembled around them.
func TestControlBetweenFragments(t *testing.T) {
	stream := cat(
		frame(byte(Text), true, []byte("Hel")),
		frame(fin|byte(Ping), true, []byte("1")),
		frame(0, true, []byte("lo, ")),
		frame(fin|byte(Pong), true, []byte("2")),
		frame(fin|byte(Ping), true, nil),
		frame(0, true, nil),
		frame(fin|byte(Close), true, closeData(1001, "")),
		frame(fin, true, []byte("world")),
		frame(fin|byte(Binary), true, []byte{1, 2}),
	)
	want := result{msgs: []Message{
		{Ping, []byte("1")}, {Pong, []byte("2")}, {Ping, nil}, {Close, closeData(1001, "")},
		{Text, []byte("Hello, world")}, {Binary, []byte{1, 2}},
	}}
	for name, piece := range map[string]func(int) int{"whole": whole, "a byte at a time": oneByte, "randomly": randomly(1)} {
		if d := feed(t, Options{Masked: true}, stream, piece).diff(want); d != "" {
			t.Errorf("fed %s: %s", name, d)
		}
	}
}

// TestMaxMessage: a message of exactly MaxMessage passes; one byte more is
// refused as soon as the header that announces it is complete, before any
// of its payload arrives; no bound admits what fits.
func TestMaxMessage(t *testing.T) {
	const limit = 1000
	cases := []struct {
		name   string
		max    int
		stream []byte
		code   int // 0: no error
	}{
		{"one frame at the limit", limit, frame(fin|byte(Binary), true, audio(limit)), 0},
		{"fragments at the limit", limit, cat(frame(byte(Binary), true, audio(600)), frame(fin, true, audio(400))), 0},
		{"one frame over", limit, hdr(fin|byte(Binary), true, limit+1, -1), 1009},
		{"a first fragment over", limit, hdr(byte(Text), true, limit+1, -1), 1009},
		{"fragments over", limit, cat(frame(byte(Binary), true, audio(600)), hdr(fin, true, 401, -1)), 1009},
		{"a terabyte", limit, hdr(fin|byte(Binary), true, 1<<40, 8), 1009},
		{"the largest length", limit, hdr(fin|byte(Binary), true, math.MaxInt64, 8), 1009},
		{"no bound", 0, frame(fin|byte(Binary), true, audio(100000)), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []Message
			err := NewParser(Options{Masked: true, MaxMessage: c.max}).Feed(bytes.Clone(c.stream), func(m Message) error {
				got = append(got, m)
				return nil
			})
			var pe *ProtocolError
			switch {
			case c.code == 0 && (err != nil || len(got) != 1):
				t.Fatalf("got %d messages and %v, want one and no error", len(got), err)
			case c.code != 0 && (!errors.As(err, &pe) || pe.Code != c.code || len(got) != 0):
				t.Fatalf("got %d messages and %v, want none and close %d", len(got), err, c.code)
			}
		})
	}
}

// TestCloseCodes: the codes a peer may send are gorilla/websocket's.
func TestCloseCodes(t *testing.T) {
	valid := map[int]bool{0: false, 999: false, 1000: true, 1001: true, 1002: true, 1003: true,
		1004: false, 1005: false, 1006: false, 1007: true, 1008: true, 1009: true, 1010: true,
		1011: true, 1012: true, 1013: true, 1014: true, 1015: false, 1016: false, 2000: false,
		2999: false, 3000: true, 4000: true, 4999: true, 5000: false, 65535: false}
	for code, ok := range valid {
		delivered := false
		err := NewParser(Options{Masked: true}).Feed(frame(fin|byte(Close), true, closeData(code, "why")), func(m Message) error {
			if c, reason := CloseCode(m.Data); c != code || reason != "why" {
				t.Errorf("CloseCode gives %d %q, want %d %q", c, reason, code, "why")
			}
			delivered = true
			return nil
		})
		var pe *ProtocolError
		if ok && (err != nil || !delivered) || !ok && (delivered || !errors.As(err, &pe) || pe.Code != 1002) {
			t.Errorf("close code %d: delivered %v, error %v; want valid %v", code, delivered, err, ok)
		}
	}
	if c, reason := CloseCode(nil); c != 1005 || reason != "" {
		t.Errorf("CloseCode of no payload is %d %q, want 1005 (no status received)", c, reason)
	}
}

// TestCallbackError: fn's error ends Feed at once, unchanged, and the
// parser stays dead.
func TestCallbackError(t *testing.T) {
	stop := errors.New("stop")
	stream := cat(frame(fin|byte(Text), true, []byte("a")), frame(fin|byte(Text), true, []byte("b")))
	p := NewParser(Options{Masked: true})
	calls := 0
	fn := func(Message) error { calls++; return stop }
	if err := p.Feed(stream, fn); err != stop || calls != 1 {
		t.Fatalf("Feed returned %v after %d calls, want fn's error after 1", err, calls)
	}
	if err := p.Feed(frame(fin|byte(Text), true, nil), fn); err != stop || calls != 1 {
		t.Fatalf("then Feed returned %v after %d calls, want the same error and no call", err, calls)
	}
}

// TestNoCopyForWholeFrames: a frame inside the bytes fed is delivered in
// place; a split one from the parser's buffer, which the next one reuses,
// and not from bytes fed before.
func TestNoCopyForWholeFrames(t *testing.T) {
	p := NewParser(Options{Masked: true})
	var got []byte
	keep := func(m Message) error { got = m.Data; return nil }

	for _, f := range [][]byte{frame(fin|byte(Binary), true, audio(1920)), frame(fin|byte(Ping), true, []byte("p"))} {
		if err := p.Feed(f, keep); err != nil || &got[0] != &f[len(f)-len(got)] {
			t.Fatalf("a whole frame was not delivered in place (err %v)", err)
		}
	}

	var first []byte
	for i := range 2 {
		f := frame(fin|byte(Binary), true, audio(1920))
		if err := p.Feed(f[:1500], keep); err != nil {
			t.Fatal(err)
		}
		clear(f[:1500]) // the event loop reads into its buffer again
		if err := p.Feed(f[1500:], keep); err != nil || !bytes.Equal(got, audio(1920)) {
			t.Fatalf("split frame: %v", err)
		}
		if i == 0 {
			first = got
		} else if &got[0] != &first[0] {
			t.Errorf("the second split frame did not reuse the first one's buffer")
		}
	}
}

// TestBigBufferLetGo: a buffer grown past keepBuf for one message is not
// kept after it.
func TestBigBufferLetGo(t *testing.T) {
	p := NewParser(Options{Masked: true})
	f := frame(fin|byte(Binary), true, audio(keepBuf+1))
	if err := p.Feed(f[:1000], nil); err != nil {
		t.Fatal(err)
	}
	delivered := false
	if err := p.Feed(f[1000:], func(m Message) error { delivered = len(m.Data) == keepBuf+1; return nil }); err != nil || !delivered {
		t.Fatalf("delivered %v, error %v", delivered, err)
	}
	if cap(p.buf) != 0 {
		t.Errorf("the parser keeps a %d-byte buffer after a %d-byte message", cap(p.buf), keepBuf+1)
	}
}

// TestNoAllocations: the steady state allocates nothing per message, whole
// or split.
func TestNoAllocations(t *testing.T) {
	p := NewParser(Options{Masked: true, MaxMessage: 64 << 10})
	f := frame(fin|byte(Binary), true, audio(1920))
	nop := func(Message) error { return nil }
	for name, pieces := range map[string][][]byte{"whole": {f}, "split": {f[:1500], f[1500:]}} {
		allocs := testing.AllocsPerRun(100, func() {
			for _, b := range pieces {
				if err := p.Feed(b, nop); err != nil {
					t.Fatal(err)
				}
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per message", name, allocs)
		}
	}
}
