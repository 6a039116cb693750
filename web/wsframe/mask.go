package wsframe

import "encoding/binary"

// mask XORs b with the masking key (RFC 6455 §5.3), b[0] with key[pos],
// and returns the key position of the byte after b, for a payload that
// comes in pieces. It works eight bytes at a time: a key repeated twice is
// one 64-bit word, and since 8 is a multiple of 4 every word lines up with
// it the same way. On amd64 and arm64 the loads and stores compile to
// single unaligned moves; elsewhere they are still correct, only slower.
func mask(key [4]byte, pos int, b []byte) int {
	if len(b) >= 8 {
		var k [8]byte
		for i := range k {
			k[i] = key[(pos+i)&3]
		}
		kw := binary.LittleEndian.Uint64(k[:])
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^kw)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}
