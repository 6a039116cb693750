// Package wsframe parses WebSocket frames (RFC 6455 §5) from a byte stream
// fed to it in arbitrary pieces, for connections read by an event loop: a
// pace shard reads whatever bytes its sessions' sockets have ready, without
// blocking, and feeds them here, instead of holding a goroutine per
// connection in gorilla/websocket's reader. gorilla/websocket still does the
// upgrade handshake and all the writing; this package only reads.
//
// A frame that arrives whole within one Feed is unmasked in place and handed
// over as a subslice of the bytes fed, with no copy. Only a frame split
// across Feeds, or a message in fragments, is copied, into one buffer that
// is reused from message to message; one that grew past 64 KiB for a large
// message is let go after it. In the steady state a message costs no
// allocation.
//
// The parser enforces the framing rules (RFC 6455 §5.2–5.5, and the close
// codes of §7.4) and reports a violation as a *ProtocolError carrying the
// close code to answer with. It does not check that text messages are
// UTF-8: the application decodes them (as JSON) and reports its own error,
// as it did when gorilla/websocket read them. Nor does it stop at a Close:
// the caller answers it and stops feeding.
package wsframe

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Opcode is a message's type; the values are gorilla/websocket's
// (websocket.TextMessage and so on), so the two can be compared directly.
type Opcode int

const (
	Text   Opcode = 1
	Binary Opcode = 2
	Close  Opcode = 8
	Ping   Opcode = 9
	Pong   Opcode = 10

	// continuation carries a fragmented message's later frames; it never
	// reaches a Message.
	continuation Opcode = 0
)

func (op Opcode) String() string {
	switch op {
	case continuation:
		return "continuation"
	case Text:
		return "text"
	case Binary:
		return "binary"
	case Close:
		return "close"
	case Ping:
		return "ping"
	case Pong:
		return "pong"
	}
	return "opcode " + strconv.Itoa(int(op))
}

// control reports whether op is a control frame's (§5.5): never
// fragmented, at most 125 bytes, and allowed between a message's fragments.
func (op Opcode) control() bool { return op&8 != 0 }

// Options describe the peer and bound its messages.
type Options struct {
	// Masked: the peer is a client, whose frames must be masked (a server
	// reading; RFC 6455 §5.1); false: the peer is a server, whose frames
	// must not be.
	Masked bool
	// MaxMessage bounds a data message's payload, reassembled across
	// fragments; larger is an error with close code 1009, detected from
	// the frame headers, before the payload is buffered. Zero or less is
	// no bound, as with gorilla/websocket's read limit of 0.
	MaxMessage int
}

// Message is one whole data message (Text or Binary, its fragments
// reassembled) or one control frame (Close, Ping or Pong). Data is valid
// only until the callback it was passed to returns: it may be the bytes fed,
// or the parser's buffer, reused for the next message.
type Message struct {
	Op   Opcode
	Data []byte
}

// ProtocolError is input that breaks the protocol. Code is the close code
// to send: 1002 (protocol error), 1007 (invalid payload data) or 1009
// (message too big).
type ProtocolError struct {
	Code   int
	Reason string
}

func (e *ProtocolError) Error() string {
	return "wsframe: " + e.Reason + " (close " + strconv.Itoa(e.Code) + ")"
}

// Close codes of the errors.
const (
	codeProtocol   = 1002
	codeInvalid    = 1007
	codeTooBig     = 1009
	codeNoStatus   = 1005
	maxControlData = 125
)

func protocolError(code int, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// CloseCode reads a Close frame's payload: its status code and reason. A
// payload with no code (empty; Feed refuses a 1-byte one) is 1005, "no
// status received".
func CloseCode(data []byte) (code int, reason string) {
	if len(data) < 2 {
		return codeNoStatus, ""
	}
	return int(binary.BigEndian.Uint16(data)), string(data[2:])
}

// checkClose checks a Close frame's payload as received (§5.5.1, §7.4).
func checkClose(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if len(data) == 1 {
		return protocolError(codeProtocol, "close frame with a 1-byte payload")
	}
	code, _ := CloseCode(data[:2])
	if !validCloseCode(code) {
		return protocolError(codeProtocol, "close code %d is not valid on the wire", code)
	}
	if !utf8.Valid(data[2:]) {
		return protocolError(codeInvalid, "close reason is not valid UTF-8")
	}
	return nil
}

// validCloseCode reports whether a peer may send code, as
// gorilla/websocket's isValidReceivedCloseCode does: the codes defined in
// RFC 6455 §7.4.1 other than those that only stand for a missing or
// failed close (1005, 1006, 1015), the IANA-registered 1012–1014, and the
// ranges for libraries and applications (3000–4999).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
