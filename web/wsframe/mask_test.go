package wsframe

import (
	"bytes"
	"fmt"
	"testing"
)

// maskByByte is mask one byte at a time: the reference, and the speed to
// beat.
func maskByByte(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

// TestMask: word-at-a-time masking equals masking byte by byte, for every
// key position, length around the word size, and alignment, and a payload
// masked in pieces equals one masked whole.
func TestMask(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	src := audio(64)
	for pos := range 4 {
		for off := range 8 {
			for n := range 40 {
				got, want := bytes.Clone(src), bytes.Clone(src)
				gp, wp := mask(key, pos, got[off:off+n]), maskByByte(key, pos, want[off:off+n])
				if gp != wp || !bytes.Equal(got, want) {
					t.Fatalf("pos %d, offset %d, %d bytes: got % x (next %d), want % x (next %d)", pos, off, n, got, gp, want, wp)
				}
			}
		}
	}
	whole, pieces := bytes.Clone(src), bytes.Clone(src)
	mask(key, 0, whole)
	pos := 0
	for _, cut := range [][2]int{{0, 3}, {3, 20}, {20, 21}, {21, 64}} {
		pos = mask(key, pos, pieces[cut[0]:cut[1]])
	}
	if !bytes.Equal(whole, pieces) {
		t.Errorf("masked in pieces: % x, whole: % x", pieces, whole)
	}
}

func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, n := range []int{125, 1920} {
		buf := audio(n)
		for _, m := range []struct {
			name string
			f    func([4]byte, int, []byte) int
		}{{"word", mask}, {"byte", maskByByte}} {
			b.Run(fmt.Sprintf("%s/%d", m.name, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					m.f(key, 1, buf)
				}
			})
		}
	}
}
