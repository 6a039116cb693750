package wsframe

import "encoding/binary"

// AppendFrame appends to dst one whole (final, unfragmented) frame of op
// carrying payload, and returns the extended slice. With a key — a
// client's frame — the payload is masked with it, as RFC 6455 §5.3 asks of
// every frame a client sends (the key should be unpredictable: a fresh
// random one per frame); a server's frames go unmasked (nil). payload is
// not modified. A control frame's payload must be at most 125 bytes.
func AppendFrame(dst []byte, op Opcode, payload []byte, key *[4]byte) []byte {
	b0 := 0x80 | byte(op)
	var b1 byte
	if key != nil {
		b1 = 0x80
	}
	n := len(payload)
	switch {
	case n <= 125:
		dst = append(dst, b0, b1|byte(n))
	case n <= 0xffff:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if key == nil {
		return append(dst, payload...)
	}
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	mask(*key, 0, dst[start:])
	return dst
}
