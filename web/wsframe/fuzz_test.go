package wsframe

import "testing"

// FuzzParser: any stream, split anywhere, never panics, and yields the
// same messages and error whole, a byte at a time, and in random pieces.
// (feed also checks that a failed parser stays dead.)
func FuzzParser(f *testing.F) {
	good, _ := clientStream(130, 400) // small, for the fuzzer's sake
	f.Add(good, uint64(1), true, uint16(0))
	f.Add(good, uint64(2), true, uint16(2000))
	for i := range malformed {
		o, b := malformedStream(i)
		f.Add(b, uint64(i), o.Masked, uint16(o.MaxMessage))
	}
	f.Fuzz(func(t *testing.T, stream []byte, seed uint64, masked bool, max uint16) {
		o := Options{Masked: masked, MaxMessage: int(max)}
		want := feed(t, o, stream, whole)
		if d := feed(t, o, stream, oneByte).diff(want); d != "" {
			t.Errorf("fed a byte at a time: %s", d)
		}
		if d := feed(t, o, stream, randomly(seed)).diff(want); d != "" {
			t.Errorf("fed randomly: %s", d)
		}
	})
}
