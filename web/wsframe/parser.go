package wsframe

import (
	"encoding/binary"
	"math"
)

// keepBuf is the largest buffer a Parser keeps once the message that
// needed it is delivered. The common copied message, a 20 ms audio frame
// split across two TCP segments, needs about 2 KiB and reuses the buffer
// forever; a rare larger one gets a buffer of its own that is let go
// afterwards, so one big message does not pin up to MaxMessage for the
// rest of a long session (at the Realtime endpoint's 4 MiB, five hundred
// sessions could hold 2 GiB between them). The price is the
// allocations of growing a buffer for each copied message over 64 KiB,
// small beside copying it. The buffer grows as the payload arrives, not to
// the length a header announces: a header costs a client nothing to send.
const keepBuf = 64 << 10

// Parser reads one connection's frames. It is not safe for concurrent use:
// one event loop feeds it.
type Parser struct {
	masked bool
	limit  int // MaxMessage, or math.MaxInt for none

	// A header split across Feeds, collected here (at most 14 bytes).
	hdr  [14]byte
	hdrN int

	// The frame being read: its payload bytes still to come, and where in
	// the masking key the next of them falls.
	op   Opcode
	fin  bool
	left int
	key  [4]byte
	pos  int

	// The data message in progress: its opcode (0: none) and its length
	// so far, counted from the headers.
	msgOp  Opcode
	msgLen int
	buf    []byte // its payload, when it is copied

	// A control frame split across Feeds; kept apart from buf, as it may
	// arrive between a message's fragments.
	ctrl  [maxControlData]byte
	ctrlN int

	err error // sticky: the parser is dead
}

// NewParser returns a Parser for a connection whose peer is as o says.
func NewParser(o Options) *Parser {
	p := &Parser{masked: o.Masked, limit: o.MaxMessage}
	if p.limit <= 0 {
		p.limit = math.MaxInt
	}
	return p
}

// Feed parses b (which it may modify: unmasking in place), calling fn for
// each complete message in order. It returns the first error: a
// *ProtocolError, or fn's own error returned unchanged. After any error the
// parser is dead: further Feeds return the same error without calling fn.
// Feed keeps no reference to b, so an event loop may read into the same
// buffer again: what b holds of a frame it leaves unfinished is copied.
func (p *Parser) Feed(b []byte, fn func(Message) error) error {
	if p.err != nil {
		return p.err
	}
	for len(b) > 0 {
		if p.left == 0 {
			var h []byte
			if h, b = p.header(b); h == nil {
				return nil
			}
			if err := p.begin(h); err != nil {
				p.err = err
				return err
			}
			if p.left > 0 {
				continue
			}
			// An empty frame is complete with its header.
		}
		if err := p.payload(&b, fn); err != nil {
			p.err = err
			return err
		}
	}
	return nil
}

// header returns the next frame's header, from b, or completed from the
// bytes kept from earlier Feeds, and the rest of b after it; nil if b ends
// first (its bytes are kept).
func (p *Parser) header(b []byte) (h, rest []byte) {
	if p.hdrN == 0 && len(b) >= 2 {
		if n := headerLen(b[0], b[1]); len(b) >= n {
			return b[:n], b[n:]
		}
	}
	for {
		need := 2
		if p.hdrN >= 2 {
			need = headerLen(p.hdr[0], p.hdr[1])
		}
		if p.hdrN == need {
			p.hdrN = 0
			return p.hdr[:need], b
		}
		if len(b) == 0 {
			return nil, nil
		}
		n := copy(p.hdr[p.hdrN:need], b)
		p.hdrN += n
		b = b[n:]
	}
}

// headerLen is the length of the header whose first two bytes are b0, b1.
func headerLen(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// begin checks the header h and makes its frame the one being read. The
// checks run in a fixed order on a whole header, so the error for a given
// stream does not depend on where it was split.
func (p *Parser) begin(h []byte) error {
	b0, b1 := h[0], h[1]
	if rsv := b0 & 0x70; rsv != 0 {
		n := 1
		for bit := byte(0x40); rsv&bit == 0; bit >>= 1 {
			n++
		}
		return protocolError(codeProtocol, "RSV%d set with no extension negotiated", n)
	}
	op, fin := Opcode(b0&0x0f), b0&0x80 != 0
	switch op {
	case continuation, Text, Binary, Close, Ping, Pong:
	default:
		return protocolError(codeProtocol, "reserved opcode %d", int(op))
	}
	masked := b1&0x80 != 0
	if masked != p.masked {
		if p.masked {
			return protocolError(codeProtocol, "unmasked frame from a client")
		}
		return protocolError(codeProtocol, "masked frame from a server")
	}
	n, h := uint64(b1&0x7f), h[2:]
	switch n {
	case 126:
		n, h = uint64(binary.BigEndian.Uint16(h)), h[2:]
	case 127:
		n, h = binary.BigEndian.Uint64(h), h[8:]
		if n>>63 != 0 {
			return protocolError(codeProtocol, "frame length with the most significant bit set")
		}
	}

	if op.control() {
		if !fin {
			return protocolError(codeProtocol, "fragmented %v frame", op)
		}
		if n > maxControlData {
			return protocolError(codeProtocol, "%v frame of %d bytes (limit %d)", op, n, maxControlData)
		}
	} else {
		if op == continuation && p.msgOp == 0 {
			return protocolError(codeProtocol, "continuation frame with no message in progress")
		}
		if op != continuation && p.msgOp != 0 {
			return protocolError(codeProtocol, "%v frame inside an unfinished %v message", op, p.msgOp)
		}
		// Refused here, from the header: none of the payload is read.
		if n > uint64(p.limit-p.msgLen) {
			total := uint64(p.msgLen) + n // < 2⁶⁴: both are below 2⁶³
			if op != continuation && fin {
				return protocolError(codeTooBig, "message of %d bytes (limit %d)", total, p.limit)
			}
			return protocolError(codeTooBig, "message of at least %d bytes (limit %d)", total, p.limit)
		}
		if op != continuation {
			p.msgOp = op
		}
		p.msgLen += int(n)
	}

	p.op, p.fin, p.left = op, fin, int(n)
	if masked {
		copy(p.key[:], h)
		p.pos = 0
	}
	return nil
}

// payload takes what *b holds of the frame being read, and delivers the
// frame's message if that completes it.
func (p *Parser) payload(b *[]byte, fn func(Message) error) error {
	n := min(p.left, len(*b))
	data := (*b)[:n]
	*b = (*b)[n:]
	p.left -= n
	if p.masked {
		p.pos = mask(p.key, p.pos, data)
	}

	if p.op.control() {
		if p.left == 0 && p.ctrlN == 0 {
			return deliverControl(p.op, data, fn) // whole in b: no copy
		}
		p.ctrlN += copy(p.ctrl[p.ctrlN:], data)
		if p.left > 0 {
			return nil
		}
		data, p.ctrlN = p.ctrl[:p.ctrlN], 0
		return deliverControl(p.op, data, fn)
	}

	whole := p.op != continuation && p.fin && p.left == 0 && len(p.buf) == 0
	if !whole {
		p.buf = append(p.buf, data...)
		if p.left > 0 || !p.fin {
			return nil
		}
		data = p.buf
		if cap(p.buf) > keepBuf {
			p.buf = nil
		} else {
			p.buf = p.buf[:0]
		}
	}
	m := Message{Op: p.msgOp, Data: data}
	p.msgOp, p.msgLen = 0, 0
	return fn(m)
}

func deliverControl(op Opcode, data []byte, fn func(Message) error) error {
	if op == Close {
		if err := checkClose(data); err != nil {
			return err
		}
	}
	return fn(Message{Op: op, Data: data})
}
